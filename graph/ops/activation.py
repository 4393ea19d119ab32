"""Activation functions (torch and torch.nn.functional)."""

from __future__ import annotations

from graph.ops.spec import Attr, OpSpec, unary

ENTRIES: list[OpSpec] = [
    unary("tanh", "activation", "tanh", "∂/∂input = 1 − tanh²(input)", keeps_finite=True),
    unary("sigmoid", "activation", "σ", "∂/∂input = σ(input)·(1 − σ(input))", keeps_finite=True),
    unary("relu", "activation", "relu", "∂/∂input = 1 where input > 0, else 0", kinks=(0.0,), keeps_finite=True),
    OpSpec("softmax", "torch.softmax", ("input",), "activation", "softmax",
           "∂sᵢ/∂xⱼ = sᵢ(δᵢⱼ − sⱼ) along dim",
           attrs=(Attr("dim", "dim", -1, required=True),), example_shapes={"input": (2, 3)}),
    OpSpec("log_softmax", "torch.log_softmax", ("input",), "activation", "log softmax",
           "∂/∂xⱼ of log sᵢ = δᵢⱼ − sⱼ along dim",
           attrs=(Attr("dim", "dim", -1, required=True),), example_shapes={"input": (2, 3)}),
]
