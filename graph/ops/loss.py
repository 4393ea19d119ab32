"""Losses with floating targets (torch.nn.functional)."""

from __future__ import annotations

from graph.ops.spec import F, OpSpec, reduction_choice

ENTRIES: list[OpSpec] = [
    OpSpec("mse_loss", f"{F}.mse_loss", ("input", "target"), "loss", "MSE",
           "∂/∂input = 2(input − target)/n, ∂/∂target = −2(input − target)/n",
           attrs=(reduction_choice(),), example_shapes={"input": (2, 3), "target": (2, 3)}),
]
