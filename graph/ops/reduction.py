"""Reductions over dimensions."""

from __future__ import annotations

from graph.ops.spec import DIM, KEEPDIM, KEEPDIM_NEEDS_DIM, OpSpec

ENTRIES: list[OpSpec] = [
    OpSpec("sum", "torch.sum", ("input",), "reduction", "Σ",
           "∂/∂input = 1 for every summed element",
           attrs=(DIM, KEEPDIM), also_pass=KEEPDIM_NEEDS_DIM,
           example_shapes={"input": (2, 3)}, example_attrs={"dim": [1]}, partial_bound="always"),
    OpSpec("mean", "torch.mean", ("input",), "reduction", "mean",
           "∂/∂input = 1/n for each of the n averaged elements",
           attrs=(DIM, KEEPDIM), also_pass=KEEPDIM_NEEDS_DIM, example_shapes={"input": (2, 3)},
           partial_bound="always"),
]
