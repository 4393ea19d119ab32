"""GradCanvas: see partial derivatives on a graph of tensor and op nodes.

This package is the public entry point: the `gradcanvas` command (`gradcanvas.cli`, also
`python -m gradcanvas`) and, later, a Python API. Importing it loads neither torch nor Qt;
each command imports what it needs (torch for check, grad and export; Qt only for render and
the desktop app).

The layers under it: `graph/` (the document, pure Python; networkx for auto-layout), `autograd_bridge/`
(everything torch), `gui/` (the PySide6 app).
"""

__version__ = "0.1.0"
