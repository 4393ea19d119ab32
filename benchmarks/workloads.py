"""The graphs the benchmarks run, each built twice: as a GradCanvas Graph, and as torch code
written by hand (an independent computation: it reads none of graph/ops, codegen or engine).

Every hand-written function returns (values, grads) keyed by node id, like the engine's Result,
so the two can be checked equal before they are timed. The graph builders import only graph/
(no torch), so the GUI children can use them without loading torch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from graph.model import Edge, Graph, Node

HandRun = Callable[[], tuple[dict, dict]]
UNARY = ("sin", "tanh", "neg", "sigmoid")  # bounded along a long chain (exp would overflow)
BINARY = ("add", "mul", "sub")


def _randn(node_id: str, shape: list[int], seed: int, requires_grad: bool = False) -> Node:
    return Node(node_id, "tensor", init={"fn": "randn", "shape": shape, "seed": seed}, requires_grad=requires_grad)


# ---- elementwise chain: x -> n0 -> n1 -> ... -> y = sum ----

def chain_graph(ops: int, size: int = 64) -> Graph:
    """`ops` ops in all: ops - 1 unary elementwise ops on a `size`-element leaf, then a sum."""
    g = Graph()
    g.add_node(_randn("x", [size], 0, requires_grad=True))
    prev = "x"
    for i in range(ops - 1):
        g.add_node(Node(f"n{i}", UNARY[i % len(UNARY)]))
        g.add_edge(Edge(prev, f"n{i}", "input"))
        prev = f"n{i}"
    g.add_node(Node("y", "sum"))
    g.add_edge(Edge(prev, "y", "input"))
    return g


def chain_by_hand(ops: int, device: str = "cpu", size: int = 64) -> HandRun:
    import torch

    fns = [{"sin": torch.sin, "tanh": torch.tanh, "neg": torch.neg, "sigmoid": torch.sigmoid}[UNARY[i % 4]]
           for i in range(ops - 1)]

    def run() -> tuple[dict, dict]:
        x = torch.randn((size,), generator=torch.Generator().manual_seed(0)).to(device).requires_grad_()
        values = {"x": x}
        h = x
        for i, f in enumerate(fns):
            h = f(h)
            values[f"n{i}"] = h
        y = torch.sum(h)
        values["y"] = y
        return values, dict(zip(values, torch.autograd.grad(y, list(values.values())), strict=True))

    return run


# ---- random DAG: leaves, then ops fed by the previous node and a random earlier one ----

def dag_spec(nodes: int, leaves: int = 10, seed: int = 7) -> list[tuple[str, str, list[str]]]:
    """(id, op, inputs) in order: `leaves` leaves, nodes - leaves - 1 random ops, a final sum."""
    rng = random.Random(seed)
    spec: list[tuple[str, str, list[str]]] = [(f"l{i}", "tensor", []) for i in range(leaves)]
    for i in range(nodes - leaves - 1):
        prev = spec[-1][0]
        if i % 3 == 2:  # a bounded unary op every third node keeps the values finite
            spec.append((f"o{i}", rng.choice(("tanh", "sin", "sigmoid")), [prev]))
        else:
            spec.append((f"o{i}", rng.choice(BINARY), [prev, rng.choice(spec[:-1])[0]]))
    spec.append(("y", "sum", [spec[-1][0]]))
    return spec


def dag_graph(nodes: int) -> Graph:
    g = Graph()
    for node_id, op, inputs in dag_spec(nodes):
        if op == "tensor":
            g.add_node(_randn(node_id, [64], int(node_id[1:]), requires_grad=int(node_id[1:]) % 3 != 2))
            continue
        g.add_node(Node(node_id, op))
        for port, src in zip(("input", "other"), inputs, strict=False):
            g.add_edge(Edge(src, node_id, port))
    return g


def dag_by_hand(nodes: int, device: str = "cpu") -> HandRun:
    import torch

    fns = {"add": torch.add, "mul": torch.mul, "sub": torch.sub, "tanh": torch.tanh, "sin": torch.sin,
           "sigmoid": torch.sigmoid, "sum": torch.sum}
    steps = [(node_id, fns.get(op), inputs) for node_id, op, inputs in dag_spec(nodes)]

    def run() -> tuple[dict, dict]:
        values = {}
        for node_id, fn, inputs in steps:
            if fn is None:
                seed = int(node_id[1:])
                t = torch.randn((64,), generator=torch.Generator().manual_seed(seed)).to(device)
                values[node_id] = t.requires_grad_() if seed % 3 != 2 else t
            else:
                values[node_id] = fn(*(values[i] for i in inputs))
        wrt = [n for n, t in values.items() if t.requires_grad]
        grads = dict.fromkeys(values)
        grads.update(zip(wrt, torch.autograd.grad(values["y"], [values[n] for n in wrt], allow_unused=True),
                         strict=True))
        return values, grads

    return run


# ---- two-layer MLP, every matrix n x n: loss = mse(tanh(inp @ W1 + b1) @ W2, target) ----
# Leaves are randn (drawn on the CPU, as GradCanvas draws them for every device), or with
# filled=True made on the device by torch.full (the GPU rows: drawing 4096 x 4096 normals on the
# CPU each run would hide the GPU's work). (id, shape, seed, fill value, requires_grad):

def _mlp_leaves(n: int) -> list[tuple[str, tuple[int, ...], int, float, bool]]:
    return [("inp", (n, n), 1, 1.0, False), ("W1", (n, n), 2, 1.0 / n, True), ("b1", (n,), 3, 0.1, True),
            ("W2", (n, n), 4, 1.0 / n, True), ("y_true", (n, n), 5, 0.5, False)]


def _leaf(node_id: str, shape: tuple[int, ...], seed: int, fill: float, requires_grad: bool, filled: bool) -> Node:
    if filled:
        return Node(node_id, "tensor", init={"fn": "full", "shape": list(shape), "fill_value": fill},
                    requires_grad=requires_grad)
    return _randn(node_id, list(shape), seed, requires_grad)


def _make_leaf(shape: tuple[int, ...], seed: int, fill: float, requires_grad: bool, filled: bool, device: str):
    import torch

    t = (torch.full(shape, fill, device=device) if filled
         else torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(device))
    return t.requires_grad_() if requires_grad else t


def mlp_graph(n: int, filled: bool = False) -> Graph:
    g = Graph()
    for leaf in _mlp_leaves(n):
        g.add_node(_leaf(*leaf, filled))
    for node in (Node("h_lin", "matmul"), Node("h_pre", "add"), Node("h", "tanh"), Node("out", "matmul"),
                 Node("loss", "mse_loss")):
        g.add_node(node)
    for src, dst, port in (("inp", "h_lin", "input"), ("W1", "h_lin", "other"), ("h_lin", "h_pre", "input"),
                           ("b1", "h_pre", "other"), ("h_pre", "h", "input"), ("h", "out", "input"),
                           ("W2", "out", "other"), ("out", "loss", "input"), ("y_true", "loss", "target")):
        g.add_edge(Edge(src, dst, port))
    return g


def mlp_by_hand(n: int, device: str = "cpu", filled: bool = False) -> HandRun:
    leaves = _mlp_leaves(n)

    def run() -> tuple[dict, dict]:
        return _mlp_run(*(_make_leaf(*leaf[1:], filled, device) for leaf in leaves))

    return run


def _mlp_run(inp, W1, b1, W2, y_true) -> tuple[dict, dict]:  # noqa: ANN001, N803 - torch tensors
    """The two-layer MLP of mlp_graph and example 04, by hand: values and every partial."""
    import torch

    h_lin = inp @ W1
    h_pre = h_lin + b1
    h = torch.tanh(h_pre)
    out = h @ W2
    loss = torch.nn.functional.mse_loss(out, y_true)
    values = {"inp": inp, "W1": W1, "b1": b1, "W2": W2, "y_true": y_true, "h_lin": h_lin,
              "h_pre": h_pre, "h": h, "out": out, "loss": loss}
    wrt = ["W1", "b1", "W2", "h_lin", "h_pre", "h", "out", "loss"]
    grads = dict.fromkeys(values)
    grads.update(zip(wrt, torch.autograd.grad(loss, [values[k] for k in wrt]), strict=True))
    return values, grads


def matmul_chain_graph(n: int, k: int, filled: bool = False) -> Graph:
    """x @ W0 @ W1 ... @ W(k-1), then a mean: k matmuls of n x n (the GPU row). Filled, x is
    ones and each W is 1/n everywhere, so every product stays ones."""
    g = Graph()
    g.add_node(_leaf("x", (n, n), 0, 1.0, True, filled))
    prev = "x"
    for i in range(k):
        g.add_node(_leaf(f"W{i}", (n, n), i + 1, 1.0 / n, True, filled))
        g.add_node(Node(f"m{i}", "matmul"))
        g.add_edge(Edge(prev, f"m{i}", "input"))
        g.add_edge(Edge(f"W{i}", f"m{i}", "other"))
        prev = f"m{i}"
    g.add_node(Node("y", "mean"))
    g.add_edge(Edge(prev, "y", "input"))
    return g


def matmul_chain_by_hand(n: int, k: int, device: str = "cpu", filled: bool = False) -> HandRun:
    import torch

    def run() -> tuple[dict, dict]:
        x = _make_leaf((n, n), 0, 1.0, True, filled, device)
        values = {"x": x}
        h = x
        for i in range(k):
            w = _make_leaf((n, n), i + 1, 1.0 / n, True, filled, device)
            h = h @ w
            values[f"W{i}"], values[f"m{i}"] = w, h
        values["y"] = y = torch.mean(h)
        return values, dict(zip(values, torch.autograd.grad(y, list(values.values())), strict=True))

    return run


# ---- the bundled examples, written out by hand ----

def example_by_hand(name: str) -> HandRun:
    import torch

    def ex01() -> tuple[dict, dict]:
        x = torch.tensor(2.0, requires_grad=True)
        z, two, three = torch.tensor(3.0), torch.tensor(2.0), torch.tensor(3.0)
        x_sq = x**2
        two_x_sq = two * x_sq
        three_z = three * z
        y = two_x_sq + three_z
        values = {"x": x, "z": z, "two": two, "three": three, "x_sq": x_sq, "two_x_sq": two_x_sq,
                  "three_z": three_z, "y": y}
        wrt = ["x", "x_sq", "two_x_sq", "y"]
        return values, {**dict.fromkeys(values), **dict(zip(wrt, torch.autograd.grad(y, [x, x_sq, two_x_sq, y]),
                                                            strict=True))}

    def ex02() -> tuple[dict, dict]:
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        w, a = torch.tensor([[3.0, 4.0], [5.0, 6.0]]), torch.tensor(2.0)
        x_row = x.reshape(1, -1)
        xw = x_row @ w
        a_xw = a * xw
        y = torch.sum(a_xw)
        values = {"x": x, "w": w, "a": a, "x_row": x_row, "xw": xw, "a_xw": a_xw, "y": y}
        wrt = ["x", "x_row", "xw", "a_xw", "y"]
        return values, {**dict.fromkeys(values), **dict(zip(wrt, torch.autograd.grad(y, [values[k] for k in wrt]),
                                                            strict=True))}

    def ex03() -> tuple[dict, dict]:
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        y = x**2
        y1 = y[1]
        values = {"x": x, "y": y, "y1": y1}
        return values, dict(zip(values, torch.autograd.grad(y1, [x, y, y1]), strict=True))

    def ex04() -> tuple[dict, dict]:
        inp = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5], [-2.0, 1.0, 0.25], [0.0, 0.75, -1.25]])
        W1 = torch.tensor([[0.2, -0.4, 0.1, 0.3], [0.5, 0.1, -0.2, 0.0], [-0.3, 0.2, 0.4, -0.1]],  # noqa: N806
                          requires_grad=True)
        b1 = torch.tensor([0.1, -0.1, 0.05, 0.0], requires_grad=True)
        W2 = torch.tensor([[0.3], [-0.5], [0.2], [0.4]], requires_grad=True)  # noqa: N806
        y_true = torch.tensor([[1.0], [0.0], [0.5], [-1.0]])
        return _mlp_run(inp, W1, b1, W2, y_true)

    return {"01": ex01, "02": ex02, "03": ex03, "04": ex04}[name[:2]]


# ---- the canvas peer workload, with every input fed so that it computes ----

def computable_peer_graph(n: int, seed: int = 12345) -> Graph:
    """bench_canvas.peer_graph's positions and wires (../shared/peers/README.md: n nodes on a
    grid of ceil(sqrt(n)) columns, 250 x 150 apart, node i fed by node i - 1, every odd i >= 3
    also by a node drawn by random.Random(12345)), but where that graph leaves an add's second
    input empty (so nothing computes) this one has a one-input tanh; node 0 is a scalar leaf.
    For the app rows, which time results being shown."""
    cols = math.ceil(math.sqrt(n))
    rng = random.Random(seed)
    g = Graph()
    for i in range(n):
        row, col = divmod(i, cols)
        pos = (col * 250.0, row * 150.0)
        if i == 0:
            g.add_node(Node("n0", "tensor", value=0.5, requires_grad=True), pos=pos)
            continue
        two_inputs = i % 2 == 1 and i >= 2
        g.add_node(Node(f"n{i}", "add" if two_inputs else "tanh"), pos=pos)
        g.add_edge(Edge(f"n{i - 1}", f"n{i}", "input"))
        if two_inputs:
            g.add_edge(Edge(f"n{rng.randint(max(0, i - 2 * cols), i - 2)}", f"n{i}", "other"))
    return g
