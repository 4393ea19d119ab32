"""The layers of DESIGN.md, read from the source: who may import whom, and no import cycles.

    gradcanvas/ (the command, the public entry point)
        └─► gui/ (PySide6, pyqtgraph) ─► autograd_bridge/ (torch) ─► graph/ (pure Python + networkx)

Imports are read with `ast` from every .py file of the four packages, function-level ones
included (they run too, only later); imports under `if TYPE_CHECKING:` are left out (they never
run). tests/test_graph.py checks the same for graph/ at run time.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gradcanvas", "graph", "autograd_bridge", "gui")
HEAVY = ("torch", "PySide6", "pyqtgraph")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                found[module_name(path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """(imported module, whether the import runs when the module itself is imported)."""

    def __init__(self, module: str, is_package: bool, known: set[str]) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.known = known
        self.found: list[tuple[str, bool]] = []
        self.depth = 0  # inside how many function bodies

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, self.depth == 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            self.found.append((sub if sub in self.known else source, self.depth == 0))


def imports_of(module: str, path: Path, known: set[str]) -> list[tuple[str, bool]]:
    visitor = _Imports(module, path.name == "__init__.py", known)
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return visitor.found


def import_graph() -> tuple[dict[str, Path], dict[str, list[tuple[str, bool]]]]:
    found = modules()
    known = set(found)
    return found, {m: imports_of(m, p, known) for m, p in found.items()}


def top(name: str) -> str:
    return name.split(".")[0]


def violations(layer: str, forbidden: tuple[str, ...], *, import_time_only: bool = False) -> list[str]:
    _, graph = import_graph()
    return [f"{m} imports {target}" for m, targets in graph.items() if top(m) == layer
            for target, at_import in targets
            if top(target) in forbidden and (at_import or not import_time_only)]


# ---- the reader itself (so that the checks below can fail) ----

def test_the_reader_finds_relative_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import torch.nn\n"
        "from . import sibling\n"
        "from ..up import thing\n"
        "if TYPE_CHECKING:\n"
        "    from PySide6.QtWidgets import QWidget\n"
        "else:\n"
        "    import numpy\n"
        "def later():\n"
        "    from gui.render import render\n"
        "    return render\n", encoding="utf-8")
    found = imports_of("gui.canvas.mod", source, {"gui.canvas.sibling", "gui.render"})
    assert found == [("typing", True), ("torch.nn", True), ("gui.canvas.sibling", True), ("gui.up", True),
                     ("numpy", True), ("gui.render", False)]


def test_a_cycle_is_seen() -> None:
    g = nx.DiGraph([("gui.app", "gui.render"), ("gui.render", "gui.app")])
    assert not nx.is_directed_acyclic_graph(g)


# ---- the rules ----

def test_every_package_is_read() -> None:
    found = modules()
    for package in PACKAGES:
        assert package in found, package
    assert {"gui.app", "gui.render", "gui.window", "gradcanvas.cli"} <= set(found)


def cycles(*, within: str | None = None, import_time_only: bool = False) -> list[list[str]]:
    found, graph = import_graph()
    g = nx.DiGraph()
    g.add_nodes_from(m for m in found if within is None or top(m) == within)
    g.add_edges_from((m, t) for m, targets in graph.items() for t, at_import in targets
                     if m in g and t in g and t != m and (at_import or not import_time_only))
    return sorted(sorted(c) for c in nx.simple_cycles(g))


def test_no_import_cycles_among_gui_modules() -> None:
    """Not even through imports inside functions: gui.app and gui.render both get the
    QApplication from gui.qtapp instead of importing each other."""
    assert cycles(within="gui") == []


def test_no_import_time_cycles_among_project_modules() -> None:
    """Module-level imports, across all four packages: a cycle here leaves a module half-made."""
    assert cycles(import_time_only=True) == []


def test_graph_imports_no_torch_no_qt_and_no_layer_above() -> None:
    assert violations("graph", (*HEAVY, "autograd_bridge", "gui", "gradcanvas")) == []


def test_autograd_bridge_imports_no_qt_and_no_layer_above() -> None:
    assert violations("autograd_bridge", ("PySide6", "pyqtgraph", "gui", "gradcanvas")) == []


def test_gui_does_not_import_the_command_line() -> None:
    assert violations("gui", ("gradcanvas",)) == []


def test_gradcanvas_loads_torch_and_qt_only_inside_commands() -> None:
    """Statically: every torch, Qt or gui import in gradcanvas/ sits inside a function."""
    assert violations("gradcanvas", (*HEAVY, "gui", "autograd_bridge"), import_time_only=True) == []


@pytest.mark.parametrize("statement", ["import gradcanvas", "import gradcanvas.cli"])
def test_importing_gradcanvas_loads_neither_torch_nor_qt(statement: str) -> None:
    """At run time, in a fresh interpreter: nothing heavy is loaded by importing the package."""
    code = (f"{statement}, sys; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
