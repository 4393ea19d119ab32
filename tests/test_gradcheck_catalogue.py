"""Every op in the catalogue, compiled by the bridge, passes torch.autograd.gradcheck (float64).

Generated from graph.ops.OPS: adding an op adds its checks here. The function checked is the
COMPILED program (codegen → exec), not a hand-written torch call. Inputs are sampled away from
the points the catalogue names as kinks (OpSpec.kinks), where the derivative is undefined.
Ports that take int64 or bool tensors (OpSpec.input_dtypes: gather's index, where's condition)
get their example values; gradcheck is taken with respect to the floating inputs, and an op
with a bool result (a comparison) is checked to give none.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import pytest
import torch

from autograd_bridge.engine import Compiled
from graph.model import Edge, Graph, Node
from graph.ops import OPS, TENSOR, OpSpec

OP_NAMES = sorted(OPS)
# How far samples stay from a kink: far beyond gradcheck's eps (1e-6).
KINK_MARGIN = 0.25


def example_attrs(spec: OpSpec) -> dict[str, object]:
    """spec.example_attrs, plus the default of any required attribute it leaves out.

    A required attribute must be written on the node (Node.check), and some catalogue
    entries (transpose, softmax, log_softmax) give no example for theirs.
    """
    attrs = {a.name: a.default for a in spec.attrs if a.required}
    attrs.update(spec.example_attrs)
    return attrs


def sample(shape: tuple[int, ...], gen: torch.Generator, positive: bool,
           kinks: Sequence[float] = ()) -> torch.Tensor:
    """Seeded float64 values: in [0.5, 1.5) for a positive domain, else in [-1, 1); entries
    within KINK_MARGIN of a kink are drawn again until none is."""
    def draw() -> torch.Tensor:
        u = torch.rand(shape, generator=gen, dtype=torch.float64)
        return u + 0.5 if positive else u * 2 - 1

    t = draw()
    for _ in range(100):
        near = torch.zeros(shape, dtype=torch.bool)
        for k in kinks:
            near |= (t - k).abs() < KINK_MARGIN
        if not near.any():
            return t
        t = torch.where(near, draw(), t)
    raise AssertionError(f"cannot sample {shape} away from the kinks {kinks}")


def test_sampling_keeps_away_from_kinks() -> None:
    gen = torch.Generator().manual_seed(0)
    t = sample((400,), gen, False, [0.0, 0.5])
    assert ((t.abs() >= KINK_MARGIN) & ((t - 0.5).abs() >= KINK_MARGIN)).all()
    assert (t < 0).any() and (t > 0.75).any()  # both sides of the kinks are sampled
    assert OPS["relu"].kink_points({}) == [0.0]


def torch_function(spec: OpSpec):  # noqa: ANN201
    fn = torch
    for part in spec.function.split(".")[1:]:
        fn = getattr(fn, part)
    return fn


def call_torch(spec: OpSpec, leaves: Sequence[torch.Tensor], attrs: dict[str, object],
               ports: Sequence[str] | None = None) -> torch.Tensor:
    """torch's own call: the ports by position or keyword as the catalogue passes them (`ports`:
    those fed, default every input; an unfed optional one is torch's None), a variadic op's as
    one tuple, a fed port replacing the attribute of its name (pow's exponent), and the piece
    a node is of an op returning several (result_item). A random op draws after
    torch.manual_seed(0): a graph's default seed, as every compiled run seeds."""
    ports = spec.inputs if ports is None else ports
    by_port = dict(zip(ports, leaves, strict=True))
    kwargs = {k: v for k, v in attrs.items() if k not in by_port and spec.attr(k).call}
    if spec.random:
        torch.manual_seed(0)
    if spec.variadic:
        out = torch_function(spec)(tuple(leaves), **kwargs)
    else:
        positional, keyword = spec.passed_inputs()
        last = max((i for i, p in enumerate(positional) if p in by_port), default=-1)
        out = torch_function(spec)(*(by_port.get(p) for p in positional[:last + 1]),
                                   **{p: by_port[p] for p in keyword if p in by_port}, **kwargs)
    item = spec.result_item
    if item is None:
        return out
    return out[spec.resolved_attrs(attrs)[item] if isinstance(item, str) else item]


def fed_ports(graph: Graph) -> list[str]:
    """The op node's fed ports, in port order."""
    fed = graph.inputs_of("op")
    return [p for p in graph.nodes["op"].ports if p in fed]


def op_graph(name: str, seed: int = 0) -> tuple[Graph, list[torch.Tensor]]:
    """One leaf per input port feeding the op node: float64 (seeded values), or the example
    value of a port taking int64 or bool (OpSpec.example_values). A float64 leaf requires grad
    unless torch cannot differentiate with respect to its port (OpSpec.no_grad_inputs)."""
    spec = OPS[name]
    attrs = example_attrs(spec)
    if spec.variadic:  # every port of a variadic op takes the one example shape
        return ported_graph(name, attrs, dict.fromkeys(spec.ports(attrs), spec.example_shapes[spec.inputs[0]]), seed)
    return ported_graph(name, attrs,
                        {p: spec.example_values.get(p, spec.example_shapes[p]) for p in spec.inputs}, seed)


def ported_graph(name: str, attrs: dict[str, object], inputs: dict[str, tuple[int, ...] | list | bool],
                 seed: int = 0) -> tuple[Graph, list[torch.Tensor]]:
    """The op fed by one leaf per port: a shape (a tuple) makes seeded float64 values; a list
    is the literal value of a port taking int64 or bool (its dtype from OpSpec.input_dtypes,
    else int64: cross_entropy's class targets). An optional port not given stays unfed."""
    spec = OPS[name]
    gen = torch.Generator().manual_seed(seed)
    positive = spec.positive_inputs or (name, attrs.get("exponent")) in POSITIVE
    graph = Graph()
    leaves = []
    ports = [p for p in spec.ports(attrs) if p in inputs]
    for port in ports:
        given = inputs[port]
        if isinstance(given, tuple):
            t = sample(given, gen, positive, spec.kink_points(attrs))
            grad, dtype = port not in spec.no_grad_inputs, "float64"
        else:
            grad, dtype = False, spec.input_dtypes.get(port, "int64")
            t = torch.tensor(given, dtype=getattr(torch, dtype))
        leaves.append(t.requires_grad_(grad))
        graph.add_node(Node(id=f"in_{port}", op=TENSOR, value=t.tolist(), requires_grad=grad, dtype=dtype))
    graph.add_node(Node(id="op", op=name, attrs=dict(attrs)))
    for port in ports:
        graph.add_edge(Edge(f"in_{port}", "op", port))
    return graph, leaves


def test_catalogue_is_not_empty() -> None:
    assert len(OPS) >= 20
    for name, spec in OPS.items():
        assert spec.name == name
        assert set(spec.example_shapes) == set(spec.inputs), name
        assert set(spec.input_dtypes) <= set(spec.example_values) <= set(spec.inputs), name
        for port, value in spec.example_values.items():  # an example value has its port's shape
            t = torch.tensor(value, dtype=getattr(torch, spec.input_dtypes.get(port, "int64")))
            assert tuple(t.shape) == spec.example_shapes[port], (name, port)
        assert set(spec.input_dtypes.values()) <= {"int64", "bool"}, name
        assert spec.result_dtype in ("", "bool"), name


@pytest.mark.parametrize("name", OP_NAMES)
def test_compiled_op_passes_gradcheck(name: str) -> None:
    graph, leaves = op_graph(name)
    compiled = Compiled(graph, "cpu", "float64")
    assert compiled.source.op_ids == ["op"]
    assert compiled.source.leaf_ids == [f"in_{p}" for p in fed_ports(graph)]

    def f(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return compiled._forward(*xs)

    out = f(*leaves)
    assert len(out) == 1
    if OPS[name].result_dtype == "bool":  # a comparison: a bool tensor, no gradient
        assert out[0].dtype == torch.bool and not out[0].requires_grad
        assert "op" not in compiled.source.requires_grad
        return
    assert out[0].dtype == torch.float64
    assert out[0].requires_grad
    assert torch.autograd.gradcheck(f, tuple(leaves), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("name", OP_NAMES)
def test_compiled_op_matches_the_torch_function(name: str) -> None:
    """The compiled forward computes what the catalogue's torch function computes."""
    spec = OPS[name]
    graph, leaves = op_graph(name, seed=1)
    (got,) = Compiled(graph, "cpu", "float64")._forward(*leaves)
    expected = call_torch(spec, leaves, example_attrs(spec), fed_ports(graph))
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("name", OP_NAMES)
def test_generated_line_calls_the_catalogue_function(name: str) -> None:
    spec = OPS[name]
    graph, _ = op_graph(name)
    source = Compiled(graph, "cpu", "float64").source
    line = source.lines["op"]
    stmt = ast.parse(line).body[0]
    assert isinstance(stmt, ast.Assign)
    assert [ast.unparse(t) for t in stmt.targets] == [source.names["op"]]
    call = stmt.value
    if spec.result_item is not None:  # the node's piece of what torch returns: call(...)[i]
        assert isinstance(call, ast.Subscript)
        call = call.value
    assert isinstance(call, ast.Call)
    assert ast.unparse(call.func) == spec.function
    # positional arguments: the leaf feeding each input port, in port order (those passed by
    # keyword, after them, by their port's name); a variadic op's ports as one tuple
    positional, keyword = spec.passed_inputs()
    args = [ast.unparse(a) for a in call.args]
    if spec.variadic:
        assert args == ["(" + ", ".join(source.names[f"in_{p}"] for p in fed_ports(graph)) + ")"]
    else:
        assert args == [source.names[f"in_{p}"] for p in positional if p in fed_ports(graph)]
    by_keyword = {k.arg: ast.unparse(k.value) for k in call.keywords}
    assert {p: by_keyword.pop(p) for p in keyword} == {p: source.names[f"in_{p}"] for p in keyword}
    # the other keywords: only torch's own attribute names
    assert set(by_keyword) <= {a.name for a in spec.attrs}


# ---- attribute variants: every way an attribute changes the generated call ----

def _reductions() -> list[tuple[str, dict[str, object], dict[str, tuple[int, ...]]]]:
    cases = []
    for op in ("sum", "mean"):
        for dim in ([0], [0, 1], [-1], 1, None):
            for keepdim in (True, False):
                cases.append((op, {"dim": dim, "keepdim": keepdim}, {"input": (2, 3)}))
        cases.append((op, {"keepdim": True}, {"input": (2, 3)}))  # dim left at its default
    return cases


VARIANTS = [
    *_reductions(),
    ("mse_loss", {"reduction": "sum"}, {"input": (2, 3), "target": (2, 3)}),
    ("mse_loss", {"reduction": "none"}, {"input": (2, 3), "target": (2, 3)}),
    ("mse_loss", {"reduction": "mean"}, {"input": (2, 3), "target": (2, 3)}),
    ("softmax", {"dim": 0}, {"input": (2, 3)}),
    ("softmax", {"dim": -2}, {"input": (2, 3)}),
    ("log_softmax", {"dim": 0}, {"input": (2, 3)}),
    ("pow", {"exponent": 0.5}, {"input": (2, 3)}),   # on positive input (see POSITIVE below)
    ("pow", {"exponent": -1}, {"input": (2, 3)}),
    ("transpose", {"dim0": -1, "dim1": 0}, {"input": (2, 3, 2)}),
    ("select", {"dim": -1, "index": -1}, {"input": (2, 3)}),
    ("reshape", {"shape": [-1]}, {"input": (2, 3)}),
    ("maximum", {}, {"input": (2, 3), "other": (3,)}),  # broadcast: other's partial is a sum
    ("minimum", {}, {"input": (1, 3), "other": (2, 1)}),
    ("clamp", {"min": -0.5}, {"input": (2, 3)}),
    ("clamp", {"max": 0.25}, {"input": (2, 3)}),
    ("gelu", {"approximate": "none"}, {"input": (2, 3)}),
    ("leaky_relu", {}, {"input": (2, 3)}),
    ("elu", {}, {"input": (2, 3)}),
    ("hardtanh", {}, {"input": (2, 3)}),
    ("amax", {"dim": None, "keepdim": True}, {"input": (2, 3)}),
    ("amin", {"dim": -1, "keepdim": False}, {"input": (2, 3, 2)}),
    ("var", {"dim": None, "correction": 0}, {"input": (2, 3)}),
    ("var", {"dim": [0, 1], "keepdim": True}, {"input": (2, 3, 2)}),
    ("std", {"dim": 1, "keepdim": True, "correction": 1.5}, {"input": (2, 4)}),
    ("vector_norm", {}, {"input": (2, 3)}),
    ("vector_norm", {"ord": 1, "dim": [0], "keepdim": True}, {"input": (2, 3)}),
    ("flatten", {}, {"input": (2, 3, 2)}),
    ("flatten", {"start_dim": -3, "end_dim": 1}, {"input": (2, 3, 2)}),
    ("permute", {"dims": [2, 0, 1]}, {"input": (2, 3, 2)}),
    ("unsqueeze", {"dim": 0}, {"input": (2, 3)}),
    ("squeeze", {"dim": 1}, {"input": (2, 1, 3)}),
    ("squeeze", {"dim": [0, -1]}, {"input": (1, 3, 1)}),
    ("expand", {"size": [2, 3, -1]}, {"input": (3, 1)}),
    ("narrow", {"dim": 0, "start": -1, "length": 1}, {"input": (2, 3)}),
    ("adaptive_avg_pool2d", {"output_size": [1, 1]}, {"input": (2, 4, 5)}),
    ("softplus", {"beta": 0.5, "threshold": 5}, {"input": (2, 3)}),  # beta·input stays under threshold
    ("logsumexp", {"dim": [0, 1], "keepdim": True}, {"input": (2, 3)}),
    ("prod", {"dim": -1, "keepdim": True}, {"input": (2, 3)}),
    ("max_pool2d", {"kernel_size": [2, 1], "padding": [1, 0], "ceil_mode": True}, {"input": (1, 2, 4, 4)}),
    ("avg_pool2d", {"kernel_size": [3, 3], "stride": [1, 1], "padding": [1, 1]}, {"input": (2, 4, 5)}),
    ("linear", {}, {"input": (2, 5, 3), "weight": (4, 3), "bias": (4,)}),
    ("conv1d", {"groups": 2, "dilation": [2]}, {"input": (1, 4, 6), "weight": (2, 2, 3), "bias": (2,)}),
    ("conv2d", {"padding": [1, 1]}, {"input": (2, 2, 3, 3), "weight": (3, 2, 2, 2), "bias": (3,)}),
    ("batch_norm", {"eps": 0.1}, {"input": (4, 3), "running_mean": (3,), "running_var": (3,),
                                  "weight": (3,), "bias": (3,)}),
    ("layer_norm", {"normalized_shape": [2, 3], "eps": 1e-3}, {"input": (4, 2, 3), "weight": (2, 3), "bias": (2, 3)}),
    ("group_norm", {"num_groups": 1}, {"input": (2, 3, 2, 2), "weight": (3,), "bias": (3,)}),
    ("scaled_dot_product_attention", {"scale": 0.5}, {"query": (3, 4), "key": (5, 4), "value": (5, 2)}),
    ("l1_loss", {"reduction": "none"}, {"input": (2, 3), "target": (2, 3)}),
    ("smooth_l1_loss", {}, {"input": (2, 3), "target": (2, 3)}),
    ("huber_loss", {"reduction": "none", "delta": 2}, {"input": (2, 3), "target": (2, 3)}),
    ("binary_cross_entropy_with_logits", {"reduction": "sum"}, {"input": (2, 3), "target": (2, 3)}),
    ("kl_div", {"log_target": True, "reduction": "sum"}, {"input": (2, 3), "target": (2, 3)}),
    ("cross_entropy", {"reduction": "none"}, {"input": (2, 3, 2), "target": (2, 3, 2)}),
    # int64 class targets (the one cross_entropy entry tells them apart by dtype, as torch does)
    ("cross_entropy", {}, {"input": (3, 4), "target": [1, 0, 3]}),
    ("cross_entropy", {"reduction": "sum", "label_smoothing": 0.2, "ignore_index": 0},
     {"input": (3, 4), "target": [1, 0, 3]}),
    ("cross_entropy", {"reduction": "none"}, {"input": (2, 3, 2), "target": [[0, 2], [1, 1]]}),
    ("nll_loss", {"reduction": "none"}, {"input": (3, 4), "target": [3, 3, 0]}),
    ("nll_loss", {"reduction": "sum", "ignore_index": 1}, {"input": (2, 3, 2), "target": [[0, 1], [1, 2]]}),
    ("gather", {"dim": 0}, {"input": (2, 3), "index": [[1, 0, 1]]}),
    ("gather", {"dim": -1}, {"input": (2, 2, 3), "index": [[[2, 2]], [[0, 1]]]}),
    ("index_select", {"dim": 1}, {"input": (2, 3), "index": [2, 2]}),
    ("index_select", {"dim": -1}, {"input": (4,), "index": [3, 0, 0, 1, 3]}),
    ("embedding", {}, {"input": [3, 3, 0], "weight": (4, 2)}),
    ("where", {}, {"condition": [True, False, True], "input": (2, 3), "other": (1,)}),  # broadcast
    ("where", {}, {"condition": [[False], [True]], "input": (3,), "other": (2, 3)}),
    *((op, {}, {"input": (2, 3), "other": (3,)}) for op in ("gt", "ge", "lt", "le", "eq")),
    # issue 11's second round: variadic, optional and several-output ops, dropout, training norms
    ("cat", {"num_inputs": 2, "dim": 0}, {"tensors.0": (1, 3), "tensors.1": (2, 3)}),
    ("cat", {"num_inputs": 1, "dim": -1}, {"tensors.0": (2, 3)}),
    ("stack", {"num_inputs": 2, "dim": 0}, {"tensors.0": (2, 3), "tensors.1": (2, 3)}),
    ("split", {"split_size_or_sections": [1, 1, 2], "dim": 0, "index": -1}, {"tensor": (4, 2)}),
    ("chunk", {"chunks": 2, "dim": -1, "index": 0}, {"input": (2, 3)}),
    ("cumsum", {"dim": -1}, {"input": (2, 3, 2)}),
    ("max", {"dim": -1, "keepdim": True}, {"input": (2, 3)}),
    ("min", {"dim": 1}, {"input": (2, 3, 2)}),
    ("pow", {"exponent": None}, {"input": (2, 3), "exponent": (3,)}),  # a tensor exponent, on the port
    ("dropout", {"p": 0.5, "training": True}, {"input": (4, 5)}),
    ("dropout", {"training": False}, {"input": (2, 3)}),
    ("linear", {}, {"input": (2, 3), "weight": (4, 3)}),  # no bias: torch's None
    ("conv2d", {}, {"input": (1, 2, 3, 3), "weight": (3, 2, 2, 2)}),
    ("batch_norm", {"training": True, "momentum": 0.5},
     {"input": (4, 3), "running_mean": (3,), "running_var": (3,), "weight": (3,), "bias": (3,)}),
    ("batch_norm", {"training": True}, {"input": (4, 3, 2), "bias": (3,)}),  # None, None, None, bias
    ("layer_norm", {"normalized_shape": [3]}, {"input": (2, 3)}),
    # (not bias without weight: torch 2.13's own backward fails there, "tensor does not have a device")
    ("group_norm", {"num_groups": 2}, {"input": (2, 4, 3)}),
    ("layer_norm", {"normalized_shape": [2, 3]}, {"input": (2, 2, 3), "bias": (2, 3)}),
]
# x ** 0.5 and 1/x need x away from 0 and > 0; a tensor exponent (None) needs x > 0 too
POSITIVE = {("pow", 0.5), ("pow", -1), ("pow", None)}


def variant_graph(op: str, attrs: dict[str, object], shapes: dict[str, tuple[int, ...] | list],
                  seed: int = 0) -> tuple[Graph, list[torch.Tensor]]:
    return ported_graph(op, attrs, shapes, seed)


@pytest.mark.parametrize(("op", "attrs", "shapes"), VARIANTS,
                         ids=[f"{o}-{a}" for o, a, _s in VARIANTS])
def test_attribute_variant_passes_gradcheck_and_matches_torch(
        op: str, attrs: dict[str, object], shapes: dict[str, tuple[int, ...]]) -> None:
    graph, leaves = variant_graph(op, attrs, shapes)
    compiled = Compiled(graph, "cpu", "float64")

    def f(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return compiled._forward(*xs)

    spec = OPS[op]
    # torch's own call with every attribute spelled out (catalogue defaults for the rest)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.resolved_attrs(attrs).items()}
    ports = fed_ports(graph)
    (got,) = f(*leaves)
    torch.testing.assert_close(got, call_torch(spec, leaves, kwargs, ports))
    if spec.result_dtype == "bool":  # a comparison: no gradient to check
        assert got.dtype == torch.bool and not got.requires_grad
        return
    assert torch.autograd.gradcheck(f, tuple(leaves), eps=1e-6, atol=1e-5, rtol=1e-3)
    # and through the engine's own run, with a grad-output of ones for non-scalar results
    go = None if got.numel() == 1 and got.dim() == 0 else torch.ones_like(got).tolist()
    result = compiled.run("op", go)
    wrt = [(port, t) for port, t in zip(ports, leaves, strict=True) if t.requires_grad]
    expected = torch.autograd.grad(call_torch(spec, leaves, kwargs, ports), [t for _p, t in wrt],
                                   grad_outputs=None if go is None else torch.ones_like(got))
    for (port, _t), g in zip(wrt, expected, strict=True):
        torch.testing.assert_close(result.grads[f"in_{port}"], g)
