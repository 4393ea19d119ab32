"""Losses (torch.nn.functional). nll_loss takes int64 class targets; cross_entropy, as torch
does, takes either, told apart by the target's dtype: int64 class indices, or floating class
probabilities."""

from __future__ import annotations

from graph.ops.spec import Attr, F, OpSpec, reduction_choice

_PAIR = {"input": (2, 3), "target": (2, 3)}
_IGNORE_INDEX = Attr("ignore_index", "int", -100, doc="a class index whose targets count for nothing")


def _loss(name: str, symbol: str, rule: str, *attrs: Attr, reduction: Attr | None = None,
          **kw: object) -> OpSpec:
    return OpSpec(name, f"{F}.{name}", ("input", "target"), "loss", symbol, rule,
                  attrs=(reduction or reduction_choice(), *attrs), example_shapes=_PAIR, **kw)


ENTRIES: list[OpSpec] = [
    _loss("mse_loss", "MSE", "∂/∂input = 2(input − target)/n, ∂/∂target = −2(input − target)/n",
          reveals_nonfinite=("input", "target"), partial_reveals=("input", "target")),
    _loss("l1_loss", "L1", "∂/∂input = sign(input − target)/n, ∂/∂target = −sign(input − target)/n",
          example_attrs={"reduction": "sum"}, reveals_nonfinite=("input", "target")),
    _loss("smooth_l1_loss", "smooth L1",
          "∂/∂input = (input − target)/beta where |input − target| < beta, else sign(input − target); /n",
          Attr("beta", "number", 1.0, doc="where the quadratic part ends", minimum=0),  # torch refuses beta < 0
          example_attrs={"beta": 0.5}),
    _loss("huber_loss", "Huber",
          "∂/∂input = input − target where |input − target| < delta, else delta·sign(input − target); /n",
          Attr("delta", "number", 1.0, doc="where the quadratic part ends"), example_attrs={"delta": 0.5},
          one_dtype=True),  # its forward promotes, its backward does not
    _loss("binary_cross_entropy_with_logits", "BCE logits",
          "∂/∂input = (σ(input) − target)/n, ∂/∂target = −input/n"),
    # target is a probability distribution (log_target false) and must be > 0 for its partial.
    _loss("kl_div", "KL", "∂/∂input = −target/n, ∂/∂target = (log target + 1 − input)/n",
          Attr("log_target", "bool", False, doc="target holds log-probabilities"),
          reduction=reduction_choice("mean", "batchmean"), example_attrs={"reduction": "batchmean"},
          positive_inputs=True),
    # One entry for both kinds of target, as torch's one function: an int64 target holds class
    # indices (shaped as input without dim 1), a floating one class probabilities (input's shape).
    _loss("cross_entropy", "CE",
          "∂/∂input = (softmax(input) − p)/n along dim 1, p the target's probabilities or one-hot "
          "of its int64 classes; ∂/∂target = −log_softmax(input)/n (probabilities only)",
          _IGNORE_INDEX,
          Attr("label_smoothing", "number", 0.0, doc="mixes the target with the uniform distribution"),
          example_attrs={"label_smoothing": 0.1}),
    OpSpec("nll_loss", f"{F}.nll_loss", ("input", "target"), "loss", "NLL",
           "−input[i, target[i]] averaged: ∂/∂input = −1/n at each target class, 0 elsewhere; "
           "none to the int64 target",
           attrs=(reduction_choice(), _IGNORE_INDEX),
           example_shapes={"input": (3, 4), "target": (3,)}, example_values={"target": [1, 0, 3]},
           input_dtypes={"target": "int64"}, no_grad_inputs=("target",)),
]
