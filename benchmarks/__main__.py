"""`python -m benchmarks`: the whole suite in one table (see benchmarks/run.py)."""

import sys

from benchmarks.run import main

sys.exit(main())
