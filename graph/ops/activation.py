"""Activation functions (torch and torch.nn.functional)."""

from __future__ import annotations

from graph.ops.spec import Attr, F, OpSpec, unary

ENTRIES: list[OpSpec] = [
    unary("tanh", "activation", "tanh", "∂/∂input = 1 − tanh²(input)", keeps_finite=True,
          partial_reveals=("input",),
          sympy="tanh({input})"),
    unary("sigmoid", "activation", "σ", "∂/∂input = σ(input)·(1 − σ(input))", keeps_finite=True,
          partial_reveals=("input",),
          sympy="1/(1 + exp(-({input})))"),
    unary("relu", "activation", "relu", "∂/∂input = 1 where input > 0, else 0", kinks=(0.0,), keeps_finite=True),
    OpSpec("softmax", "torch.softmax", ("input",), "activation", "softmax",
           "∂sᵢ/∂xⱼ = sᵢ(δᵢⱼ − sⱼ) along dim",
           attrs=(Attr("dim", "dim", -1, required=True),), example_shapes={"input": (2, 3)}),
    OpSpec("log_softmax", "torch.log_softmax", ("input",), "activation", "log softmax",
           "∂/∂xⱼ of log sᵢ = δᵢⱼ − sⱼ along dim",
           attrs=(Attr("dim", "dim", -1, required=True),), example_shapes={"input": (2, 3)}),
    unary("gelu", "activation", "GELU", "∂/∂input = Φ(input) + input·φ(input) (tanh form if approximate)",
          function=f"{F}.gelu",
          attrs=(Attr("approximate", "choice", "none", choices=("none", "tanh")),),
          example_attrs={"approximate": "tanh"}),
    unary("silu", "activation", "SiLU", "∂/∂input = σ(input)·(1 + input·(1 − σ(input)))", function=f"{F}.silu",
          sympy="({input})/(1 + exp(-({input})))"),
    unary("leaky_relu", "activation", "leaky", "∂/∂input = 1 where input > 0, else negative_slope",
          function=f"{F}.leaky_relu", attrs=(Attr("negative_slope", "number", 0.01),),
          example_attrs={"negative_slope": 0.1}, kinks=(0.0,)),
    unary("elu", "activation", "ELU", "∂/∂input = 1 where input > 0, else alpha·exp(input)",
          function=f"{F}.elu", attrs=(Attr("alpha", "number", 1.0),), example_attrs={"alpha": 0.5},
          kinks=(0.0,)),
    unary("softplus", "activation", "softplus",
          "∂/∂input = σ(beta·input), 1 where beta·input > threshold", function=f"{F}.softplus",
          attrs=(Attr("beta", "number", 1.0), Attr("threshold", "number", 20.0,
                                                   doc="above it (beta·input) the op is linear")),
          example_attrs={"beta": 2.0}),
    unary("hardtanh", "activation", "hardtanh", "∂/∂input = 1 where min_val < input < max_val, else 0",
          function=f"{F}.hardtanh",
          attrs=(Attr("min_val", "number", -1.0), Attr("max_val", "number", 1.0)),
          example_attrs={"min_val": -0.5, "max_val": 0.5}, kinks=("min_val", "max_val"),
          keeps_finite=True),
]
