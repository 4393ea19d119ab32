"""Ops that move, select or view entries: their partials are the output's, moved back."""

from __future__ import annotations

from graph.ops.spec import Attr, OpSpec

ENTRIES: list[OpSpec] = [
    OpSpec("reshape", "torch.reshape", ("input",), "shape", "reshape",
           "∂/∂input = grad reshaped back to the input's shape",
           attrs=(Attr("shape", "ints", [-1], required=True, doc="new shape; -1 infers one"),),
           example_shapes={"input": (2, 3)}, example_attrs={"shape": [3, -1]}, keeps_finite=True),
    OpSpec("transpose", "torch.transpose", ("input",), "shape", "xᵀ",
           "∂/∂input = grad with dim0 and dim1 swapped back",
           attrs=(Attr("dim0", "dim", 0, required=True), Attr("dim1", "dim", 1, required=True)),
           example_shapes={"input": (2, 3)}, keeps_finite=True),
    OpSpec("select", "torch.select", ("input",), "shape", "[i]",
           "∂/∂input = grad at the selected index, 0 elsewhere",
           attrs=(Attr("dim", "dim", 0, required=True), Attr("index", "int", 0, required=True)),
           example_shapes={"input": (2, 3)}, example_attrs={"dim": 1, "index": 2}, keeps_finite=True),
]
