"""GradCanvas: see partial derivatives on a graph of tensor and op nodes.

This package is the public entry point: the `gradcanvas` command (`gradcanvas.cli`, also
`python -m gradcanvas`) and the Python API (`gradcanvas.api`, its functions here):

    import gradcanvas
    g = gradcanvas.load("resources/examples/01_scalar_partial.json")
    r = gradcanvas.grad(g, "y")
    r.value, r.grads["x"]          # tensor(17.), tensor(8.)

Importing it loads neither torch nor Qt; each command and function imports what it needs
(torch for check, grad and export; Qt only for render, show and the desktop app).

The layers under it: `graph/` (the document, pure Python; networkx for auto-layout), `autograd_bridge/`
(everything torch), `gui/` (the PySide6 app).
"""

__version__ = "0.1.0"

from gradcanvas.api import from_function, grad, load, show, to_notebook, to_script  # noqa: E402 - after __version__, which cli.py reads

__all__ = ["__version__", "from_function", "grad", "load", "show", "to_notebook", "to_script"]
