"""Layers in their functional form (torch.nn.functional)."""

from __future__ import annotations

from graph.ops.spec import Attr, F, OpSpec

ENTRIES: list[OpSpec] = [
    OpSpec("adaptive_avg_pool2d", f"{F}.adaptive_avg_pool2d", ("input",), "layer", "adaptive avg",
           "∂/∂input = grad / window size, spread over each window",
           attrs=(Attr("output_size", "ints", [1, 1], required=True, doc="output height and width"),),
           example_shapes={"input": (1, 2, 4, 4)}, example_attrs={"output_size": [3, 2]}),
]
