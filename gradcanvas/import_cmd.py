"""`gradcanvas import SCRIPT.py --function NAME | --module CLASS -o GRAPH.json`: a Python function
of tensors or an nn.Module class in a script becomes a graph file (autograd_bridge.fx_script).

Importing runs the script, as torch.fx tracing does, in a child process (cmd_import); this
process never imports torch.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

from graph.errors import GraphError
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
    i.add_argument("-o", "--output", required=True, help="the graph file (.json) to write (- for standard output)")


@contextlib.contextmanager
def _ended_by_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP (a timeout, a kill, a closed terminal) end the command as Ctrl+C does,
    through import_task's cleanup: the child runs in a session of its own, which they would not
    reach, and the user's script went on running after the command was gone."""
    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    caught = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    before = {s: signal.signal(s, stop) for s in caught}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def cmd_import(args: argparse.Namespace) -> int:
    """The import runs in a throwaway child (file_tasks.import_task, as the window's does): the
    user's code may crash the process that runs it (a segfault, os.abort()), and that is one
    line naming the script, not a silent exit 139. -o - writes the graph to standard output."""
    from autograd_bridge.cancel import CancelToken
    from autograd_bridge.file_tasks import import_task
    from gradcanvas.cli import check_output
    from graph.fileformat import dumps, save

    check_output(args.output, "import", "model.json")
    to_stdout = args.output == "-"
    # Both paths as the user meant them, before the script runs: it may change the working folder.
    output, script = os.path.abspath(args.output), os.path.abspath(args.script)
    with _ended_by_signals():
        kind, imported = import_task(None, CancelToken(), script, args.function, args.module, args.input)
    if kind != "ok":
        raise GraphError(imported)
    graph = imported.graph
    if to_stdout:
        sys.stdout.write(dumps(graph))
    else:
        try:
            save(graph, output)
        except OSError as e:
            raise GraphError(f"cannot write {args.output}: {e.strerror or e}") from None
    # On stderr when the graph is on stdout, so that it can be piped whole.
    said = sys.stderr if to_stdout else sys.stdout
    where = "the graph to standard output" if to_stdout else visible(args.output)
    print(f"wrote {where}: {size_text(graph.nodes, len(graph.edges))}; target {visible(imported.sink)}", file=said)
    for note in imported.notes:
        print("note:", visible(note), file=said)
    return 0
