"""The NaN/Inf check reads only what the rest cannot prove finite (autograd_bridge.finite.
known_finite). Each proof rests on an op's promise (OpSpec.reveals_nonfinite, partial_reveals):
here every promise meets NaN and ±inf at every entry, and random graphs that overflow, divide by
zero and take logs of negatives are held to an exact scan written in the test."""

from __future__ import annotations

import itertools
import math
import random

import pytest
import torch
from helpers import make_graph

from autograd_bridge.engine import Compiled
from graph.model import Graph, Node
from graph.ops import OPS

BAD = (math.inf, -math.inf, math.nan)


def _numbers(dtype: str) -> list[list[float]]:
    """Leaf entries to try: the dtype's extremes, and moderate numbers that saturate tanh and
    sigmoid or make exp 0 without overflowing anything."""
    big = 3.4028234663852886e38 if dtype == "float32" else 1.7976931348623157e308
    return [[big, -big, 0.0, 1.0, -1.0, 1e20, -1e20, 710.0, 1e-45 if dtype == "float32" else 5e-324],
            [0.0, 1.0, -1.0, 0.5, -2.0, 20.0, -20.0, 3.0, -200.0]]


def _op_graph(name: str, dtype: str) -> tuple[Compiled, list[str]]:
    """A graph of one `name` node, y, fed on every port by a leaf named after the port."""
    spec = OPS[name]
    nodes = [Node(port, "tensor", value=torch.zeros(spec.example_shapes.get(port, (4, 3))).tolist(),
                  requires_grad=True, dtype=dtype) for port in spec.inputs]
    attrs = {**{a.name: a.default for a in spec.attrs if a.required}, **spec.example_attrs}
    g = make_graph([*nodes, Node("y", name, attrs=attrs)], [(port, "y", port) for port in spec.inputs])
    compiled = Compiled(g)
    return compiled, compiled.source.leaf_ids


def _filled(shape: torch.Size, numbers: list[float], dtype: str) -> torch.Tensor:
    flat = [numbers[i % len(numbers)] for i in range(math.prod(shape))]
    return torch.tensor(flat, dtype=getattr(torch, dtype)).reshape(shape)


def _value_reveals(name: str, port: str, dtype: str) -> list[str]:
    """The cases where a NaN/Inf on `port` left y finite (none when the op keeps its promise)."""
    compiled, leaf_ids = _op_graph(name, dtype)
    shapes = {n: compiled.make_leaves()[i].shape for i, n in enumerate(leaf_ids)}
    missed = []
    for numbers in _numbers(dtype):
        for k, bad in itertools.product(range(math.prod(shapes[port])), BAD):
            for others_bad in (False, True):  # the other inputs finite, or bad at the same entry
                leaves = []
                for n in leaf_ids:
                    t = _filled(shapes[n], numbers, dtype)
                    if n == port or (others_bad and k < t.numel()):
                        t.view(-1)[k] = bad if n == port else -bad
                    leaves.append(t)
                y = compiled.forward(leaves=tuple(leaves))["y"]
                if bool(torch.isfinite(y).all()):
                    missed.append(f"{name}: {port}[{k}] = {bad} gives a finite output ({numbers[0]:g}…)")
    return missed


def _partial_reveals(name: str, port: str, dtype: str) -> list[str]:
    """The cases where a NaN/Inf in y's partial left the partial of `port` finite."""
    compiled, leaf_ids = _op_graph(name, dtype)
    shapes = [t.shape for t in compiled.make_leaves()]
    missed = []
    for numbers in _numbers(dtype):
        leaves = tuple(_filled(s, numbers, dtype).requires_grad_() for s in shapes)
        y = compiled.forward(leaves=leaves)["y"]
        x = leaves[leaf_ids.index(port)]
        for k, bad in itertools.product(range(y.numel()), BAD):
            g = _filled(y.shape, [n for n in numbers if abs(n) < 1e30], dtype)
            g.view(-1)[k] = bad
            (dx,) = torch.autograd.grad(y, [x], g, retain_graph=True)
            if bool(torch.isfinite(dx).all()):
                missed.append(f"{name}: ∂y[{k}] = {bad} gives a finite ∂{port} ({numbers[0]:g}…)")
    return missed


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(n for n, s in OPS.items() if s.reveals_nonfinite))
def test_ports_that_reveal_nonfinite_inputs_do_so_at_every_entry(name: str, dtype: str) -> None:
    for port in OPS[name].reveals_nonfinite:
        assert _value_reveals(name, port, dtype) == []


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(n for n, s in OPS.items() if s.partial_reveals))
def test_ports_whose_partial_reveals_the_outputs_do_so_at_every_entry(name: str, dtype: str) -> None:
    for port in OPS[name].partial_reveals:
        assert _partial_reveals(name, port, dtype) == []


def test_the_promise_checks_can_fail() -> None:
    """exp(-inf) is 0, relu's partial is a select (threshold_backward), and div by inf gives 0:
    none of these promises would hold, and the checks above say so."""
    assert _value_reveals("exp", "input", "float32")
    assert _value_reveals("div", "other", "float32")
    assert _partial_reveals("relu", "input", "float32")
    # matmul is never promised: a BLAS may skip a zero's products, and inf·0 with them.
    assert not OPS["matmul"].reveals_nonfinite and not OPS["matmul"].partial_reveals


# ---- what the check reads ----

def test_the_mlp_check_reads_four_big_tensors_of_the_eleven_it_read_before() -> None:
    """h_lin is proven by h_pre = h_lin + b1, out by the loss; ∂h_pre, ∂h_lin and ∂h by ∂b1
    (a sum of ∂h_pre, itself ∂h·(1 − h²)): what is read is h_pre, the loss, ∂b1 and the
    partials of the two matmuls' inputs."""
    from benchmarks import workloads

    compiled = Compiled(workloads.mlp_graph(16, filled=True))
    compiled.run("loss")
    names = [f"{n}" for n in compiled.ids] + [f"∂{n}" for n in compiled._wrt]
    skip = compiled._finite_skips[("loss", False)]
    read = sorted(names[i] for i in range(len(names)) if i not in skip)
    assert read == sorted(["h_pre", "loss", "∂W1", "∂b1", "∂W2", "∂out"])


# ---- random graphs against an exact scan ----

UNARY = ["neg", "tanh", "sigmoid", "exp", "square", "relu", "log", "abs", "sum", "mean"]
BINARY = ["add", "sub", "mul", "div", "mse_loss"]
ENTRIES = [0.0, 1.0, -2.0, 0.5, 1e19, -1e19, 3e38, -3e38, 1e-30]


def _random_graph(rng: random.Random) -> tuple[Graph, str]:
    nodes, edges, ids = [], [], []
    for i in range(rng.randint(1, 3)):
        shape = rng.choice([[3], [2, 3]])
        value = [rng.choice(ENTRIES) for _ in range(3)]
        nodes.append(Node(f"x{i}", "tensor", value=value if shape == [3] else [value, value[::-1]],
                          requires_grad=rng.random() < 0.8))
        ids.append(f"x{i}")
    for i in range(rng.randint(2, 9)):
        node_id = f"o{i}"
        if rng.random() < 0.45:
            op, fed = rng.choice(UNARY), [("input", rng.choice(ids))]
        else:
            op = rng.choice(BINARY)
            ports = ("input", "target") if op == "mse_loss" else ("input", "other")
            fed = [(p, rng.choice(ids)) for p in ports]
        attrs = {"reduction": rng.choice(["mean", "sum", "none"])} if op == "mse_loss" else {}
        nodes.append(Node(node_id, op, attrs=attrs))
        edges += [(src, node_id, port) for port, src in fed]
        ids.append(node_id)
    nodes.append(Node("t", "sum"))
    edges.append((ids[-1], "t", "input"))
    return make_graph(nodes, edges), "t"


def _exact_spread(result) -> set[str]:  # noqa: ANN001 - an engine Result
    bad = {n for n, t in result.values.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())}
    return bad | {n for n, g in result.grads.items() if g is not None and not bool(torch.isfinite(g).all())}


def test_random_graphs_find_every_nan_and_inf_the_exact_scan_finds() -> None:
    rng = random.Random(8)
    outcomes = {"clean": 0, "nonfinite": 0, "left out": 0}
    for _ in range(400):
        g, target = _random_graph(rng)
        try:
            compiled = Compiled(g)
            compiled.infer_shapes()
        except Exception:  # noqa: BLE001 - a shape mismatch the generator made: not this test's concern
            continue
        for accumulate in (False, True, True):
            result = compiled.run(target, accumulate=accumulate)
            spread = _exact_spread(result)
            assert set(result.nonfinite_spread) == spread, (g, accumulate)
            assert bool(result.nonfinite) == bool(spread)
            outcomes["nonfinite" if spread else "clean"] += 1
        skip = compiled._finite_skips[(target, False)]
        outcomes["left out"] += any(i >= len(compiled.source.leaf_ids) for i in skip)
    assert min(outcomes.values()) > 50, outcomes  # both kinds of run, and proofs used


# ---- empty tensors: a promise about every entry says nothing when there are none ----

def _reported_as_exact(g: Graph, target: str) -> None:
    result = Compiled(g).run(target)
    spread = _exact_spread(result)
    assert spread and set(result.nonfinite_spread) == spread and result.nonfinite


def test_a_sum_over_an_empty_dimension_proves_nothing_about_the_partial_after_it() -> None:
    """s = sum(x[3, 0], dim=1) is zeros, sqrt(s)'s partial there is inf; ∂x is empty (so
    finite) and must not vouch for ∂s."""
    _reported_as_exact(make_graph(
        [Node("x", "tensor", value=[[], [], []], requires_grad=True), Node("s", "sum", attrs={"dim": [1]}),
         Node("q", "sqrt"), Node("t", "sum")],
        [("x", "s", "input"), ("s", "q", "input"), ("q", "t", "input")]), "t")


def test_a_loss_of_inputs_broadcast_to_nothing_proves_neither_input_finite() -> None:
    """mse_loss of [] and log(-1) = [nan], summed, is 0: the NaN takes part in nothing."""
    _reported_as_exact(make_graph(
        [Node("a", "tensor", value=[], requires_grad=True), Node("b", "tensor", value=[-1.0], requires_grad=True),
         Node("lb", "log"), Node("m", "mse_loss", attrs={"reduction": "sum"}), Node("t", "sum")],
        [("b", "lb", "input"), ("a", "m", "input"), ("lb", "m", "target"), ("m", "t", "input")]), "t")


def test_a_loss_of_inputs_broadcast_to_nothing_proves_nothing_about_its_partial() -> None:
    """sqrt(mse_loss([], [1], sum)) = sqrt(0): its partial at the loss is inf, while ∂b is 0."""
    _reported_as_exact(make_graph(
        [Node("a", "tensor", value=[], requires_grad=True), Node("b", "tensor", value=[1.0], requires_grad=True),
         Node("m", "mse_loss", attrs={"reduction": "sum"}), Node("q", "sqrt")],
        [("a", "m", "input"), ("b", "m", "target"), ("m", "q", "input")]), "q")
