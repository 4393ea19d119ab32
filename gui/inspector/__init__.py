"""The inspector dock (gui.inspector.dock.Inspector) and the names the window and tests use.

form: editors built from the catalogues, loading a node, committing edits · plots: the value
and gradient panels · heatmap: a matrix drawn to its size, with its entries and hover · slice:
the target against a scalar leaf, with its tangent · style: shared colours, formats and ∂ names.
"""

from gui.inspector.dock import NO_NODE, Inspector
from gui.inspector.form import LITERAL_MAX, default_init, init_as_literal
from gui.inspector.plots import NO_RESULT, NO_TARGET, TOO_LARGE

__all__ = ["LITERAL_MAX", "NO_NODE", "NO_RESULT", "NO_TARGET", "TOO_LARGE", "Inspector", "default_init",
           "init_as_literal"]
