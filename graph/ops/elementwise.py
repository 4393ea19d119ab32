"""Elementwise functions of one input."""

from __future__ import annotations

from graph.ops.spec import OpSpec, unary

ENTRIES: list[OpSpec] = [
    unary("exp", "elementwise", "eˣ", "∂/∂input = exp(input)"),
    unary("log", "elementwise", "ln", "∂/∂input = 1/input", positive_inputs=True),
    unary("sqrt", "elementwise", "√", "∂/∂input = 1/(2·sqrt(input))", positive_inputs=True,
          kinks=(0.0,)),
    unary("abs", "elementwise", "|x|", "∂/∂input = sign(input)", kinks=(0.0,), keeps_finite=True),
    unary("sin", "elementwise", "sin", "∂/∂input = cos(input)", keeps_finite=True),
    unary("cos", "elementwise", "cos", "∂/∂input = −sin(input)", keeps_finite=True),
]
