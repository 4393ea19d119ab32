"""Layers in their functional form (torch.nn.functional), weights and biases as input ports
(leaves of the graph, as a module's parameters are)."""

from __future__ import annotations

from graph.ops.spec import Attr, F, OpSpec

_IMAGE = (1, 2, 4, 4)  # (batch, channels, height, width)


def _conv_attrs(n: int) -> tuple[Attr, ...]:
    return (Attr("stride", "ints", [1] * n, doc="step of the kernel per spatial dimension", minimum=1),
            Attr("padding", "ints", [0] * n, doc="zeros added on each side per spatial dimension", minimum=0),
            Attr("dilation", "ints", [1] * n, doc="spacing of the kernel's taps", minimum=1),
            Attr("groups", "int", 1, doc="channels split into this many independent groups", minimum=1))


_KERNEL = Attr("kernel_size", "ints", [2, 2], required=True, doc="window height and width", minimum=1)
_POOL_STRIDE = Attr("stride", "optional_ints", None, doc="window step; null: kernel_size", minimum=1)
_PADDING2 = Attr("padding", "ints", [0, 0], doc="implicit padding on each side", minimum=0)
_CEIL = Attr("ceil_mode", "bool", False, doc="round the output size up, not down")
_EPS = Attr("eps", "number", 1e-5, doc="added to the variance")
_NO_BIAS = ("bias",)  # an unfed bias passes None, as torch's bias=None (no bias)
_AFFINE = ("weight", "bias")  # a norm without weight or bias: torch's None
_CONV_RULE = "∂/∂input = grad convolved with the flipped weight, ∂/∂weight = input ⋆ grad, ∂/∂bias = Σ grad"

ENTRIES: list[OpSpec] = [
    OpSpec("linear", f"{F}.linear", ("input", "weight", "bias"), "layer", "linear",
           "y = input @ weightᵀ + bias: ∂/∂input = grad @ weight, ∂/∂weight = gradᵀ @ input, ∂/∂bias = Σ grad",
           example_shapes={"input": (2, 3), "weight": (4, 3), "bias": (4,)}, optional_inputs=_NO_BIAS, one_dtype=True),
    OpSpec("conv1d", f"{F}.conv1d", ("input", "weight", "bias"), "layer", "conv1d", _CONV_RULE,
           attrs=_conv_attrs(1),
           example_shapes={"input": (1, 2, 5), "weight": (3, 2, 2), "bias": (3,)},
           example_attrs={"padding": [1], "stride": [2]}, optional_inputs=_NO_BIAS, one_dtype=True),
    OpSpec("conv2d", f"{F}.conv2d", ("input", "weight", "bias"), "layer", "conv2d", _CONV_RULE,
           attrs=_conv_attrs(2),
           example_shapes={"input": _IMAGE, "weight": (4, 1, 2, 2), "bias": (4,)},
           example_attrs={"groups": 2, "stride": [2, 1], "dilation": [1, 2]}, optional_inputs=_NO_BIAS,
           one_dtype=True),
    OpSpec("max_pool2d", f"{F}.max_pool2d", ("input",), "layer", "maxpool",
           "∂/∂input = grad at each window's maximum, 0 elsewhere",
           attrs=(_KERNEL, _POOL_STRIDE, _PADDING2, Attr("dilation", "ints", [1, 1], minimum=1), _CEIL),
           example_shapes={"input": _IMAGE}, example_attrs={"stride": [1, 2]}),
    OpSpec("avg_pool2d", f"{F}.avg_pool2d", ("input",), "layer", "avgpool",
           "∂/∂input = grad / window size, spread over each window",
           attrs=(_KERNEL, _POOL_STRIDE, _PADDING2, _CEIL,
                  Attr("count_include_pad", "bool", True, doc="padding counts in the window size")),
           example_shapes={"input": _IMAGE}, example_attrs={"padding": [1, 1], "count_include_pad": False}),
    OpSpec("adaptive_avg_pool2d", f"{F}.adaptive_avg_pool2d", ("input",), "layer", "adaptive avg",
           "∂/∂input = grad / window size, spread over each window",
           attrs=(Attr("output_size", "ints", [1, 1], required=True, doc="output height and width",
                       minimum=1),),  # torch's forward takes 0, its backward refuses an empty output
           example_shapes={"input": _IMAGE}, example_attrs={"output_size": [3, 2]}),
    # Training mode normalises with the batch's statistics and updates running_mean and
    # running_var in place: the call gets copies of them (copied_inputs), so the graph's leaves
    # keep their values and every run computes the same numbers. Unfed, they are torch's None
    # (training mode only: eval mode needs them, and torch says so).
    OpSpec("batch_norm", f"{F}.batch_norm", ("input", "running_mean", "running_var", "weight", "bias"),
           "layer", "batchnorm",
           "y = (input − μ)/√(σ² + eps)·weight + bias per channel (dim 1); training off: μ, σ² = "
           "running_mean, running_var; training on: the batch's mean and biased variance over the "
           "other dims, so ∂/∂input also flows through μ and σ²",
           attrs=(Attr("training", "bool", False,
                       doc="normalise with the batch's statistics (the leaves' running stats are copied, "
                           "never updated)"),
                  Attr("momentum", "number", 0.1, doc="how far a training step moves the running stats"), _EPS),
           example_shapes={"input": (2, 3, 2), "running_mean": (3,), "running_var": (3,),
                           "weight": (3,), "bias": (3,)},
           no_grad_inputs=("running_mean", "running_var"), copied_inputs=("running_mean", "running_var"),
           optional_inputs=("running_mean", "running_var", *_AFFINE), one_dtype=True,
           fed_together=(("running_mean", "running_var"), "training"), none_passed=("running_mean", "running_var"),
           positive_inputs=True),  # for running_var; the others take any value
    OpSpec("layer_norm", f"{F}.layer_norm", ("input", "weight", "bias"), "layer", "layernorm",
           "y = (input − mean)/√(var + eps)·weight + bias over the last dims (normalized_shape)",
           attrs=(Attr("normalized_shape", "ints", [3], required=True,
                       doc="the input's last dimensions, normalised together"), _EPS),
           example_shapes={"input": (2, 3), "weight": (3,), "bias": (3,)}, positional_inputs=1,
           optional_inputs=_AFFINE, one_dtype=True),
    OpSpec("group_norm", f"{F}.group_norm", ("input", "weight", "bias"), "layer", "groupnorm",
           "y = (input − mean)/√(var + eps)·weight + bias over each group of channels (dim 1)",
           attrs=(Attr("num_groups", "int", 1, required=True, doc="groups the channels are split into", minimum=1),
                  _EPS),
           example_shapes={"input": (2, 4, 3), "weight": (4,), "bias": (4,)},
           example_attrs={"num_groups": 2}, positional_inputs=1, optional_inputs=_AFFINE, one_dtype=True),
    OpSpec("scaled_dot_product_attention", f"{F}.scaled_dot_product_attention", ("query", "key", "value"),
           "layer", "attention", "softmax(query @ keyᵀ · scale + causal mask) @ value",
           attrs=(Attr("is_causal", "bool", False, doc="mask out keys after each query's position"),
                  Attr("scale", "optional_number", None, doc="null: 1/√(query's last size)")),
           example_shapes={"query": (2, 3, 4), "key": (2, 5, 4), "value": (2, 5, 6)},
           example_attrs={"is_causal": True}, one_dtype=True),
    OpSpec("embedding", f"{F}.embedding", ("input", "weight"), "layer", "embedding",
           "the rows of weight at the int64 indices in input: ∂/∂weight = grad added into the rows "
           "looked up; none to input",
           example_shapes={"input": (2, 3), "weight": (5, 4)},
           example_values={"input": [[0, 4, 2], [2, 1, 0]]}, input_dtypes={"input": "int64"},
           no_grad_inputs=("input",)),
    # Random: every run (and the exported script) first seeds torch's generator from the graph's
    # seed, so the mask repeats from run to run and gradcheck sees one function.
    OpSpec("dropout", f"{F}.dropout", ("input",), "layer", "dropout",
           "∂/∂input = grad · mask/(1 − p): 0 where an entry was dropped (training only; else 1)",
           attrs=(Attr("p", "number", 0.5, doc="probability of an entry being zeroed"),
                  Attr("training", "bool", True, doc="drop entries (false: the identity, as module.eval())")),
           example_shapes={"input": (2, 3)}, example_attrs={"p": 0.3}, random=True),
]
