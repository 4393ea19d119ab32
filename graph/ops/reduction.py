"""Reductions over dimensions."""

from __future__ import annotations

from graph.ops.spec import DIM, KEEPDIM, KEEPDIM_NEEDS_DIM, Attr, OpSpec

ENTRIES: list[OpSpec] = [
    OpSpec("sum", "torch.sum", ("input",), "reduction", "Σ",
           "∂/∂input = 1 for every summed element",
           attrs=(DIM, KEEPDIM), also_pass=KEEPDIM_NEEDS_DIM,
           example_shapes={"input": (2, 3)}, example_attrs={"dim": [1]}, partial_bound="always",
           reveals_nonfinite=("input",), partial_reveals=("input",),
           sympy="{input}"),  # as a formula only on a 0-d tensor, where it is the identity
    OpSpec("mean", "torch.mean", ("input",), "reduction", "mean",
           "∂/∂input = 1/n for each of the n averaged elements",
           attrs=(DIM, KEEPDIM), also_pass=KEEPDIM_NEEDS_DIM, example_shapes={"input": (2, 3)},
           partial_bound="always", reveals_nonfinite=("input",), partial_reveals=("input",),
           sympy="{input}"),  # as sum's
    # torch splits the partial evenly between entries equal to the extreme: |share| <= 1.
    OpSpec("amax", "torch.amax", ("input",), "reduction", "max",
           "∂/∂input = 1 at the maximum (shared evenly between ties), 0 elsewhere",
           attrs=(DIM, KEEPDIM), example_shapes={"input": (2, 3)}, example_attrs={"dim": 1},
           keeps_finite=True),
    OpSpec("amin", "torch.amin", ("input",), "reduction", "min",
           "∂/∂input = 1 at the minimum (shared evenly between ties), 0 elsewhere",
           attrs=(DIM, KEEPDIM), example_shapes={"input": (2, 3)}, example_attrs={"dim": [0, 1]},
           keeps_finite=True),
    OpSpec("var", "torch.var", ("input",), "reduction", "var",
           "∂/∂input = 2(input − mean)/(n − correction)",
           attrs=(DIM, Attr("correction", "number", 1, doc="n − correction divides the sum of squares"),
                  KEEPDIM), example_shapes={"input": (2, 3)}, example_attrs={"dim": 1}),
    OpSpec("std", "torch.std", ("input",), "reduction", "std",
           "∂/∂input = (input − mean)/((n − correction)·std)",
           attrs=(DIM, Attr("correction", "number", 1, doc="n − correction divides the sum of squares"),
                  KEEPDIM), example_shapes={"input": (2, 3)}, example_attrs={"correction": 0}),
    # logsumexp's partial is softmax(input) along dim: each share at most 1.
    OpSpec("logsumexp", "torch.logsumexp", ("input",), "reduction", "LSE",
           "∂/∂input = softmax(input) along dim",
           attrs=(Attr("dim", "dims", -1, required=True, doc="dimension(s) to reduce"), KEEPDIM),
           example_shapes={"input": (2, 3)}, partial_bound="always"),
    OpSpec("prod", "torch.prod", ("input",), "reduction", "Π",
           "∂/∂input = the product of the other entries",
           attrs=(Attr("dim", "optional_dim", None, doc="the one dimension to reduce; null: all"), KEEPDIM),
           also_pass=KEEPDIM_NEEDS_DIM, example_shapes={"input": (2, 3)}, example_attrs={"dim": 0}),
    OpSpec("vector_norm", "torch.linalg.vector_norm", ("input",), "reduction", "‖x‖",
           "∂/∂input = sign(input)·|input|^(ord−1) / ‖input‖^(ord−1)",
           attrs=(Attr("ord", "number", 2, doc="the order p of the p-norm"), DIM, KEEPDIM),
           example_shapes={"input": (2, 3)}, example_attrs={"ord": 3, "dim": 1}, kinks=(0.0,)),
    OpSpec("cumsum", "torch.cumsum", ("input",), "reduction", "cumsum",
           "∂/∂input_i = Σ_{j ≥ i} grad_j along dim (a reversed cumulative sum)",
           attrs=(Attr("dim", "dim", 0, required=True, doc="the dimension summed along"),),
           example_shapes={"input": (2, 3)}, example_attrs={"dim": 1},
           reveals_nonfinite=("input",), partial_reveals=("input",)),
    # torch.max(input, dim) returns (values, indices): the node is the values (item 0). Unlike
    # amax, the partial goes to one maximum per slice (the index torch returns), not split
    # between ties.
    OpSpec("max", "torch.max", ("input",), "reduction", "max dim",
           "∂/∂input = grad at the index of each slice's maximum along dim, 0 elsewhere",
           attrs=(Attr("dim", "dim", 0, required=True, doc="the dimension reduced"), KEEPDIM),
           example_shapes={"input": (2, 3)}, example_attrs={"dim": 1}, result_item=0, keeps_finite=True),
    OpSpec("min", "torch.min", ("input",), "reduction", "min dim",
           "∂/∂input = grad at the index of each slice's minimum along dim, 0 elsewhere",
           attrs=(Attr("dim", "dim", 0, required=True, doc="the dimension reduced"), KEEPDIM),
           example_shapes={"input": (2, 3)}, example_attrs={"dim": 0, "keepdim": True}, result_item=0,
           keeps_finite=True),
]
