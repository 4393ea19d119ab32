"""Arithmetic (two inputs, broadcast) and linear algebra."""

from __future__ import annotations

from graph.ops.spec import Attr, OpSpec, binary, unary

IO = ("input", "other")  # both ports

ENTRIES: list[OpSpec] = [
    binary("add", "+", "∂/∂input = 1, ∂/∂other = 1 (summed over broadcast dims)", partial_bound="same shape",
           reveals_nonfinite=IO, partial_reveals=IO, sympy="({input}) + ({other})"),
    binary("sub", "−", "∂/∂input = 1, ∂/∂other = −1", partial_bound="same shape",
           reveals_nonfinite=IO, partial_reveals=IO, sympy="({input}) - ({other})"),
    binary("mul", "×", "∂/∂input = other, ∂/∂other = input",
           reveals_nonfinite=IO, partial_reveals=IO, sympy="({input})*({other})"),
    binary("div", "÷", "∂/∂input = 1/other, ∂/∂other = −input/other²", kinks=(0.0,),
           reveals_nonfinite=("input",), partial_reveals=IO, sympy="({input})/({other})"),
    # torch splits the partial evenly between input and other where they are equal.
    binary("maximum", "max", "∂/∂input = 1 where input > other, ∂/∂other = 1 where other > input, 0.5 each where equal",
           partial_bound="same shape"),
    binary("minimum", "min", "∂/∂input = 1 where input < other, ∂/∂other = 1 where other < input, 0.5 each where equal",
           partial_bound="same shape"),
    unary("neg", "arithmetic", "−x", "∂/∂input = −1", keeps_finite=True, partial_reveals=("input",),
          sympy="-({input})"),
    # torch's exponent is a number or a tensor: the attribute, or, while it is null, the tensor
    # on the node's exponent port (x ** y; OpSpec.ports).
    OpSpec("pow", "torch.pow", ("input", "exponent"), "arithmetic", "xⁿ",
           "∂/∂input = exponent · input^(exponent−1); ∂/∂exponent = input^exponent · ln(input)",
           attrs=(Attr("exponent", "optional_number", 2, required=True,
                       doc="the power; null: the tensor on the exponent port"),),
           example_shapes={"input": (2, 3), "exponent": (2, 3)}, example_attrs={"exponent": 3},
           sympy="({input})**({exponent})"),
    OpSpec("matmul", "torch.matmul", ("input", "other"), "linear algebra", "@",
           "∂/∂input = grad @ otherᵀ, ∂/∂other = inputᵀ @ grad",
           example_shapes={"input": (2, 3), "other": (3, 4)}, one_dtype=True),
]
