"""Fuzz the file loader and the checks after it: random JSON and mutations of the bundled
examples and of a version-2 file with nested groups, a view and a seed (a value swapped for
random JSON or a hostile string, a key dropped or added), each loaded, validated and
shape-checked as `gradcanvas check` does. Every outcome must be a graph or a GraphError: any
other exception, or a message holding a raw control or bidi character, is a finding.

    python -m benchmarks.fuzz [--examples 10000] [--seed 0]

tests/test_fuzz_files.py runs the same check (`check_text`) on 500 cases in CI.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import time
from pathlib import Path

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "resources" / "examples").glob("*.json"))
HOSTILE = ["\x1b]0;pwned\x07", "a\nerror: fake", "w\u202eyx", "\u2028", "\u0085", "\u009b2J", "\U000e0041",
           "", " ", "x" * 5000, "__import__('os').system('echo pwned')", "${HOME}", "../../etc/passwd",
           "NaN", "1e309", "-0", "\ud800"[:0] + "\ufffd", "tensor", "input", "__proto__"]


def grouped_doc() -> dict:
    """Example 04 with every version-2 field: nested groups (one collapsed), a view, a seed."""
    doc = json.loads(EXAMPLES[-1].read_text())
    doc.update(seed=7, view={"zoom": 0.5, "center": [100.0, 50.0]}, groups=[
        {"id": "model", "label": "the model", "members": ["h"]},
        {"id": "layer1", "parent": "model", "collapsed": True, "members": ["W1", "b1", "h_lin", "h_pre"]},
        {"id": "head", "parent": "model", "members": ["W2", "out"]}])
    return doc


def check_text(text: str) -> str:
    """Load, validate and shape-check one file's text the way the CLI's check does. Returns
    "ok" or "refused"; raises AssertionError (a finding) on anything else."""
    from graph.errors import GraphError
    from graph.fileformat import loads

    try:
        graph = loads(text)
        checked = graph.validate()
        if checked.nodes and len(checked.nodes) <= 50:
            from autograd_bridge.engine import Compiled

            Compiled(checked).infer_shapes()
        return "ok"
    except GraphError as e:
        message = e.message
        assert message.isprintable(), f"a raw control/bidi character in the message: {message!r}"
        return "refused"
    except RecursionError as e:  # never acceptable: a deep file must be refused cleanly
        raise AssertionError(f"RecursionError on {text[:200]!r}") from e


def random_json(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, 2, 7, 2**31, 2**63, -(2**70)])
    if kind == 3:
        return rng.choice([0.5, -2.5, 1e308, -1e-320, 3.4e38, 1e39])
    if kind in (4, 5):
        return rng.choice(HOSTILE)
    if kind in (6, 7):
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(HOSTILE + ["id", "op", "value", "shape", "fn", "from", "to", "port", "attrs", "members",
                                  "parent", "collapsed", "label", "zoom", "center"]):
            random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def json_paths(doc: object, at: tuple = ()) -> list[tuple]:
    """Every place in a JSON document, as the keys and indices that reach it (() is the whole)."""
    out = [at]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += json_paths(v, (*at, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += json_paths(v, (*at, i))
    return out


def mutate(doc: dict, rng: random.Random) -> dict:
    """The document with one to three random edits at random places."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(json_paths(doc)[1:])
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        key, action = path[-1], rng.randrange(4)
        if action == 0 and isinstance(parent, dict):
            del parent[key]
        elif action == 1 and isinstance(parent, dict):
            parent[rng.choice(HOSTILE)] = random_json(rng)
        elif action == 2:
            parent[key] = rng.choice(HOSTILE)
        else:
            parent[key] = random_json(rng)
    return doc


def case(rng: random.Random) -> str:
    """One file's text: a mutated example (most), random JSON, or cut-off JSON."""
    kind = rng.randrange(10)
    if kind < 5:
        return json.dumps(mutate(json.loads(rng.choice(EXAMPLES).read_text()), rng), allow_nan=True)
    if kind < 7:
        return json.dumps(mutate(grouped_doc(), rng), allow_nan=True)
    if kind < 9:
        return json.dumps(random_json(rng))
    text = rng.choice(EXAMPLES).read_text()
    return text[:rng.randrange(len(text))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counts = {"ok": 0, "refused": 0}
    t0 = time.perf_counter()
    for i in range(args.examples):
        text = case(rng)
        try:
            counts[check_text(text)] += 1
        except Exception as e:  # noqa: BLE001 - a finding: say which case, go on
            print(f"FINDING in case {i} (seed {args.seed}): {type(e).__name__}: {str(e)[:300]}")
            counts["finding"] = counts.get("finding", 0) + 1
    print(f"{args.examples} cases in {time.perf_counter() - t0:.1f} s: " +
          ", ".join(f"{k} {v}" for k, v in counts.items()))
    raise SystemExit(1 if counts.get("finding") else 0)


if __name__ == "__main__":
    main()
