"""Elementwise functions of one input."""

from __future__ import annotations

from graph.ops.spec import Attr, OpSpec, unary

ENTRIES: list[OpSpec] = [
    unary("exp", "elementwise", "eˣ", "∂/∂input = exp(input)", partial_reveals=("input",),
          sympy="exp({input})"),
    unary("log", "elementwise", "ln", "∂/∂input = 1/input", positive_inputs=True,
          sympy="log({input})"),
    unary("sqrt", "elementwise", "√", "∂/∂input = 1/(2·sqrt(input))", positive_inputs=True,
          kinks=(0.0,),
          sympy="sqrt({input})"),
    unary("abs", "elementwise", "|x|", "∂/∂input = sign(input)", kinks=(0.0,), keeps_finite=True,
          sympy="Abs({input})"),
    unary("sin", "elementwise", "sin", "∂/∂input = cos(input)", keeps_finite=True,
          sympy="sin({input})"),
    unary("cos", "elementwise", "cos", "∂/∂input = −sin(input)", keeps_finite=True,
          sympy="cos({input})"),
    unary("square", "elementwise", "x²", "∂/∂input = 2·input",
          reveals_nonfinite=("input",), partial_reveals=("input",),
          sympy="({input})**2"),
    unary("rsqrt", "elementwise", "1/√", "∂/∂input = −1/(2·input^(3/2))", positive_inputs=True,
          kinks=(0.0,),
          sympy="1/sqrt({input})"),
    unary("reciprocal", "elementwise", "1/x", "∂/∂input = −1/input²", kinks=(0.0,),
          sympy="1/({input})"),
    unary("erf", "elementwise", "erf", "∂/∂input = 2/√π · exp(−input²)",
          sympy="erf({input})"),
    unary("log1p", "elementwise", "ln(1+x)", "∂/∂input = 1/(1 + input)", kinks=(-1.0,),
          sympy="log(1 + ({input}))"),
    unary("expm1", "elementwise", "eˣ−1", "∂/∂input = exp(input)",
          sympy="exp({input}) - 1"),
    unary("clamp", "elementwise", "clamp",
          "∂/∂input = 1 where min ≤ input ≤ max (at a bound too, as torch gives), else 0",
          attrs=(Attr("min", "optional_number", None, doc="lower bound; null: none"),
                 Attr("max", "optional_number", None, doc="upper bound; null: none")),
          example_attrs={"min": -0.5, "max": 0.5}, kinks=("min", "max"), keeps_finite=True),
]
