"""The catalogue grown towards real networks (issue 11): the new entries are picked up by the
catalogue-wide checks, their bad shapes are one-line errors naming the node, and the attribute
kinds they brought are checked like the others.

Gradients: every entry passes float64 gradcheck through the compiled path in
test_gradcheck_catalogue.py (one test per op, plus attribute variants there).
"""

from __future__ import annotations

import pytest
import torch
from test_gradcheck_catalogue import OP_NAMES, VARIANTS

from autograd_bridge.engine import Compiled
from graph.errors import GraphError, ValueSpecError
from graph.model import Edge, Graph, Node
from graph.ops import OPS, TENSOR, categories
from graph.values import check_param, parse_param_text

GROWN = {
    "arithmetic": ["maximum", "minimum"],
    "elementwise": ["clamp", "square", "rsqrt", "reciprocal", "erf", "log1p", "expm1"],
    "activation": ["gelu", "silu", "leaky_relu", "elu", "softplus", "hardtanh"],
    "reduction": ["amax", "amin", "var", "std", "logsumexp", "prod", "vector_norm"],
    "shape": ["flatten", "permute", "unsqueeze", "squeeze", "expand", "narrow", "gather", "index_select"],
    "comparison": ["gt", "ge", "lt", "le", "eq", "where"],
    "layer": ["linear", "conv1d", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
              "batch_norm", "layer_norm", "group_norm", "scaled_dot_product_attention", "embedding"],
    "loss": ["binary_cross_entropy_with_logits", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div",
             "cross_entropy", "nll_loss"],
}


@pytest.mark.parametrize("category", list(GROWN))
def test_the_new_entries_are_in_their_category_and_in_the_catalogue_wide_checks(category: str) -> None:
    for name in GROWN[category]:
        assert OPS[name].category == category, name
        assert name in OP_NAMES, name  # gradcheck and the torch comparison run on it
        assert OPS[name].function.rsplit(".", 1)[-1] == name  # torch's own name
    assert category in categories()


def test_every_new_entry_with_attributes_has_a_variant_beyond_its_example() -> None:
    varied = {op for op, _a, _s in VARIANTS}
    for names in GROWN.values():
        for name in names:
            if OPS[name].attrs or len(OPS[name].inputs) > 1:
                assert name in varied, name


def _graph(op: str, attrs: dict[str, object], **shapes: tuple[int, ...]) -> Graph:
    g = Graph()
    for port, shape in shapes.items():
        g.add_node(Node(f"in_{port}", TENSOR, init={"fn": "ones", "shape": list(shape)},
                        requires_grad=port not in OPS[op].no_grad_inputs))
    g.add_node(Node("bad", op, attrs=attrs))
    for port in shapes:
        g.add_edge(Edge(f"in_{port}", "bad", port))
    return g


# One bad shape (or bad attribute for those shapes) per family; each must be a clean one-line
# error naming the node, with torch's own reason.
BAD = [
    ("maximum", {}, {"input": (2, 3), "other": (4,)}, "broadcast"),
    ("clamp", {}, {"input": (2, 3)}, "min and max"),
    ("hardtanh", {"min_val": 1.0, "max_val": -1.0}, {"input": (2, 3)}, "max_val"),
    ("amax", {"dim": 2}, {"input": (2, 3)}, "out of range"),
    ("var", {"dim": [0, 0]}, {"input": (2, 3)}, "dim"),
    ("vector_norm", {"dim": -3}, {"input": (2, 3)}, "out of range"),
    ("narrow", {"dim": 1, "start": 2, "length": 2}, {"input": (2, 3)}, "exceeds dimension size"),
    ("permute", {"dims": [1, 0]}, {"input": (2, 3, 4)}, "permute"),
    ("unsqueeze", {"dim": 3}, {"input": (2, 3)}, "out of range"),
    ("expand", {"size": [4, 3]}, {"input": (2, 3)}, "expanded size"),
    ("flatten", {"start_dim": 1, "end_dim": 0}, {"input": (2, 3)}, "start_dim"),
    ("adaptive_avg_pool2d", {"output_size": [2, 2]}, {"input": (4,)}, "at least 3"),
    ("prod", {"keepdim": True}, {"input": (2, 3)}, "prod()"),  # torch has no keepdim without a dim
    ("max_pool2d", {"kernel_size": [5, 5]}, {"input": (1, 2, 4, 4)}, "too small"),
    ("linear", {}, {"input": (2, 3), "weight": (4, 2), "bias": (4,)}, "reduction dim"),
    ("conv2d", {}, {"input": (1, 2, 4, 4), "weight": (3, 1, 2, 2), "bias": (3,)}, "channel"),
    ("layer_norm", {"normalized_shape": [4]}, {"input": (2, 3), "weight": (4,), "bias": (4,)},
     "normalized_shape"),
    ("group_norm", {"num_groups": 3}, {"input": (2, 4, 3), "weight": (4,), "bias": (4,)}, "divisible"),
    ("batch_norm", {}, {"input": (2, 3), "running_mean": (4,), "running_var": (3,), "weight": (3,),
                        "bias": (3,)}, "running_mean"),
    ("scaled_dot_product_attention", {}, {"query": (2, 3, 4), "key": (2, 5, 3), "value": (2, 5, 6)},
     "size"),
    ("l1_loss", {}, {"input": (2, 3), "target": (3, 2)}, "must match"),
    ("cross_entropy", {}, {"input": (2, 3), "target": (2, 4)}, "target"),
]


@pytest.mark.parametrize(("op", "attrs", "shapes", "reason"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_shape_is_one_line_naming_the_node(op: str, attrs: dict, shapes: dict, reason: str) -> None:
    compiled = Compiled(_graph(op, attrs, **shapes), "cpu", "float64")
    for attempt in (compiled.infer_shapes, compiled.forward):
        with pytest.raises(GraphError) as info:
            attempt()
        message = info.value.message
        assert "bad" in info.value.node_ids
        assert message.startswith("bad: ") and "\n" not in message, message
        assert reason in message, message


# ---- the attribute kinds the growth brought: optional_dim and optional_ints ----

def test_optional_dim_is_null_or_one_integer() -> None:
    assert check_param("optional_dim", None, "a") is None
    assert check_param("optional_dim", -1, "a") == -1
    for bad in ([0], 1.5, True, "0", 2**63):
        with pytest.raises(ValueSpecError, match="must be null or an integer"):
            check_param("optional_dim", bad, "attribute 'dim'")
    assert parse_param_text("optional_dim", " null ", "dim") is None
    assert parse_param_text("optional_dim", "", "dim") is None
    assert parse_param_text("optional_dim", "-2", "dim") == -2
    with pytest.raises(ValueSpecError, match="must be an integer"):
        parse_param_text("optional_dim", "1.5", "dim")


def test_optional_ints_is_null_or_a_list_of_integers() -> None:
    assert check_param("optional_ints", None, "a") is None
    assert check_param("optional_ints", [2, 1], "a") == [2, 1]
    for bad in (2, [1.5], "[1]", [True]):
        with pytest.raises(ValueSpecError):
            check_param("optional_ints", bad, "attribute 'stride'")
    assert parse_param_text("optional_ints", "null", "stride") is None
    assert parse_param_text("optional_ints", "[1, 2]", "stride") == [1, 2]


def test_values_match_torch_for_a_small_chain_of_new_ops() -> None:
    """flatten → gelu → amax, differentiated through the engine, against torch written here."""
    x = torch.linspace(-2, 2, 24, dtype=torch.float64).reshape(2, 3, 4)
    g = Graph()
    g.add_node(Node("x", TENSOR, value=x.tolist(), requires_grad=True, dtype="float64"))
    g.add_node(Node("f", "flatten", attrs={"start_dim": 1}))
    g.add_node(Node("a", "gelu", attrs={"approximate": "tanh"}))
    g.add_node(Node("m", "amax", attrs={"dim": 1}))
    g.add_node(Node("s", "sum"))
    for e in (("x", "f"), ("f", "a"), ("a", "m"), ("m", "s")):
        g.add_edge(Edge(*e, "input"))
    result = Compiled(g, "cpu", "float64").run("s")
    xt = x.clone().requires_grad_()
    y = torch.nn.functional.gelu(xt.flatten(1), approximate="tanh").amax(dim=1).sum()
    y.backward()
    torch.testing.assert_close(result.values["s"], y.detach())
    torch.testing.assert_close(result.grads["x"], xt.grad)


def test_prod_without_a_dim_multiplies_everything() -> None:
    x = torch.tensor([[1.5, -2.0, 0.5], [3.0, 1.0, -1.0]], dtype=torch.float64)
    g = _graph("prod", {}, input=(2, 3))
    g.replace_node(Node("in_input", TENSOR, value=x.tolist(), requires_grad=True, dtype="float64"))
    compiled = Compiled(g, "cpu", "float64")
    assert compiled.source.lines["bad"].startswith("bad = torch.prod(in_input)")
    result = compiled.run("bad")
    xt = x.clone().requires_grad_()
    torch.prod(xt).backward()
    torch.testing.assert_close(result.values["bad"], x.prod())
    torch.testing.assert_close(result.grads["in_input"], xt.grad)


def test_batch_norm_refuses_running_statistics_that_require_grad() -> None:
    """As torch does: they are buffers, not parameters. One line naming the node."""
    g = _graph("batch_norm", {}, input=(2, 3), running_mean=(3,), running_var=(3,), weight=(3,), bias=(3,))
    g.replace_node(Node("in_running_mean", TENSOR, init={"fn": "zeros", "shape": [3]}, requires_grad=True))
    with pytest.raises(GraphError) as info:
        Compiled(g).run("bad", torch.ones(2, 3).tolist())
    assert info.value.message.startswith("bad: batch_norm takes no gradient through running_mean, but "
                                         "in_running_mean requires grad")
    assert "\n" not in info.value.message


def test_layer_norm_passes_weight_and_bias_by_keyword() -> None:
    """torch's layer_norm takes normalized_shape before weight and bias (OpSpec.positional_inputs)."""
    compiled = Compiled(_graph("layer_norm", {"normalized_shape": [3]}, input=(2, 3), weight=(3,), bias=(3,)))
    line = compiled.source.lines["bad"]
    assert line.startswith("bad = torch.nn.functional.layer_norm(in_input, weight=in_weight, bias=in_bias, "
                           "normalized_shape=(3,))")
    assert compiled.infer_shapes()["bad"] == (2, 3)
