"""The benchmark suite: `python -m benchmarks` prints one table (benchmarks/run.py)."""
