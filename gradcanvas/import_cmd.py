"""`gradcanvas import SCRIPT.py --function NAME | --module CLASS -o GRAPH.json`: a Python function
of tensors or an nn.Module class in a script becomes a graph file (autograd_bridge.fx_script).

Importing runs the script, as torch.fx tracing does. cli.py reaches this module from inside its
functions; torch is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import os

from graph.naming import size_text
from graph.safetext import visible


def add_parser(sub: argparse._SubParsersAction) -> None:
    i = sub.add_parser("import", help="turn a Python function or nn.Module into a graph file "
                       "(runs the script, as torch.fx tracing does)")
    i.add_argument("script", help="the .py file defining it")
    which = i.add_mutually_exclusive_group(required=True)
    which.add_argument("--function", metavar="NAME",
                       help="a function of tensors; example inputs from its defaults (or --input)")
    which.add_argument("--module", metavar="CLASS",
                       help="an nn.Module class, built as CLASS() and called on example_inputs() (or --input)")
    i.add_argument("--input", action="append", default=[], metavar="NAME=SHAPE",
                   help="an argument as a seeded randn tensor of this shape, e.g. x=2,3 (repeatable)")
    i.add_argument("-o", "--output", required=True, help="the graph file (.json) to write")


def cmd_import(args: argparse.Namespace) -> int:
    from autograd_bridge.fx_script import ImportRefused, import_script
    from gradcanvas.cli import _imported, check_output
    from graph.fileformat import save

    _imported()
    check_output(args.output, "import", "model.json")
    # Both paths as the user meant them, before the script runs: it may change the working folder.
    output, script = os.path.abspath(args.output), os.path.abspath(args.script)
    imported = import_script(script, args.function, args.module, args.input)
    try:
        save(imported.graph, output)
    except OSError as e:
        raise ImportRefused(f"cannot write {args.output}: {e.strerror or e}") from None
    graph = imported.graph
    print(f"wrote {visible(args.output)}: {size_text(graph.nodes, len(graph.edges))}; target {visible(imported.sink)}")
    for note in imported.notes:
        print("note:", visible(note))
    return 0
