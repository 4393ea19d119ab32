"""autograd_bridge.training against torch written here: accumulated .grad equals repeated
backward(), zeroing clears it, SGD and Adam steps equal torch.optim run by hand, a cancelled run
keeps the steps it finished; none of it compiles anew."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from test_perf_paths import compiles  # noqa: F401 - the fixture counting Compiled builds

from autograd_bridge.cancel import CancelToken
from autograd_bridge.compute import ComputeSession
from autograd_bridge.training import GradAccumulator, Trainer
from graph.fileformat import load
from graph.model import Edge, Graph, Node
from graph.ops import TENSOR

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"
MLP = EXAMPLES / "04_small_mlp.json"


def _mlp_by_hand() -> tuple[dict[str, torch.Tensor], callable]:
    """The small MLP example written in torch: its requires-grad leaves and loss(leaves)."""
    nodes = {n["id"]: n for n in json.loads(MLP.read_text())["nodes"]}
    inp, target = torch.tensor(nodes["inp"]["value"]), torch.tensor(nodes["y_true"]["value"])
    params = {n: torch.tensor(nodes[n]["value"], requires_grad=True) for n in ("W1", "b1", "W2")}

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.nn.functional.mse_loss(torch.tanh(inp @ p["W1"] + p["b1"]) @ p["W2"], target)

    return params, loss


def test_accumulate_equals_repeated_backward_and_zero_clears(compiles: list[int]) -> None:  # noqa: F811
    g = load(MLP)
    session, acc = ComputeSession(), GradAccumulator()
    session.compute(g.snapshot(), "loss", 1)
    params, loss = _mlp_by_hand()
    for calls in (1, 2, 3):
        got = acc.backward(session, None, g, 1, "cpu", None, "loss")
        loss(params).backward()  # PyTorch's own .grad, added up
        assert got.error is None and got.calls == calls
        for n, p in params.items():
            assert torch.equal(torch.from_numpy(got.arrays[n]).float(), p.grad), (n, calls)
    assert set(got.arrays) == {"W1", "b1", "W2"}  # requires-grad leaves only
    cleared = acc.zero(1, "loss")
    assert cleared.calls == 0 and all(a is None for a in cleared.arrays.values())
    assert all(t == "None" for t in cleared.texts.values())
    again = acc.backward(session, None, g, 1, "cpu", None, "loss")
    fresh, fresh_loss = _mlp_by_hand()
    fresh_loss(fresh).backward()
    assert again.calls == 1 and torch.equal(torch.from_numpy(again.arrays["W1"]).float(), fresh["W1"].grad)
    assert len(compiles) == 1  # the session's compile, reused by every call


def test_accumulate_starts_over_for_a_new_revision_and_names_a_bad_target() -> None:
    g = load(EXAMPLES / "01_scalar_partial.json")
    session, acc = ComputeSession(), GradAccumulator()
    assert acc.backward(session, None, g, 1, "cpu", None, "y").texts["x"] == "8"
    assert acc.backward(session, None, g, 1, "cpu", None, "y").texts["x"] == "16"  # 8 + 8
    g2 = g.snapshot()
    g2.replace_node(dataclasses.replace(g2.nodes["x"], value=1.0))
    got = acc.backward(session, None, g2, 2, "cpu", None, "y")
    assert got.calls == 1 and got.texts["x"] == "4"  # a new state: from no .grad again
    broken = Graph()
    bad = acc.backward(ComputeSession(), None, broken, 3, "cpu", None, "nope")
    assert bad.error is not None and "nope" in bad.error and bad.error_nodes == ("nope",)


@pytest.mark.parametrize(("kind", "lr"), [("SGD", 0.1), ("Adam", 0.05)])
def test_steps_equal_torch_optim_by_hand(kind: str, lr: float, compiles: list[int]) -> None:  # noqa: F811
    g = load(MLP)
    session, trainer = ComputeSession(), Trainer()
    got = trainer.steps(session, None, g, 1, "cpu", None, "loss", kind, lr, 5)
    params, loss = _mlp_by_hand()
    opt = getattr(torch.optim, kind)(list(params.values()), lr=lr)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        value = loss(params)
        losses.append(value.item())
        value.backward()
        opt.step()
    assert got.error is None and got.done == 5 and got.losses == losses
    for n, p in params.items():
        assert torch.equal(torch.tensor(got.values[n]), p.detach()), n
    # Written back, then three more calls of one step: the same optimiser goes on (Adam's moments).
    revision = 1
    for _ in range(3):
        for n, v in got.values.items():
            g.replace_node(dataclasses.replace(g.nodes[n], value=v))
        revision += 1
        got = trainer.steps(session, None, g, revision, "cpu", None, "loss", kind, lr, 1)
        opt.zero_grad()
        value = loss(params)
        value.backward()
        opt.step()
        assert got.losses == [value.item()]
    for n, p in params.items():
        assert torch.equal(torch.tensor(got.values[n]), p.detach()), n
    assert len(compiles) == 1  # value edits: the compiled forward is reused


def test_an_edit_in_between_starts_a_fresh_optimiser() -> None:
    g = load(MLP)
    session, trainer = ComputeSession(), Trainer()
    first = trainer.steps(session, None, g, 1, "cpu", None, "loss", "Adam", 0.05, 1)
    changed = [[v + 0.01 for v in row] for row in first.values["W1"]]  # not what the step wrote
    g.replace_node(dataclasses.replace(g.nodes["W1"], value=changed))
    for n in ("b1", "W2"):
        g.replace_node(dataclasses.replace(g.nodes[n], value=first.values[n]))
    got = trainer.steps(session, None, g, 2, "cpu", None, "loss", "Adam", 0.05, 1)
    params, loss = _mlp_by_hand()
    params["W1"] = torch.tensor(changed, requires_grad=True)
    params["b1"] = torch.tensor(first.values["b1"], requires_grad=True)
    params["W2"] = torch.tensor(first.values["W2"], requires_grad=True)
    opt = torch.optim.Adam(list(params.values()), lr=0.05)  # fresh: its first step
    loss(params).backward()
    opt.step()
    for n, p in params.items():
        assert torch.equal(torch.tensor(got.values[n]), p.detach()), n


def test_a_new_lr_between_steps_goes_on_with_the_same_optimiser() -> None:
    """Adam at lr 0.1, then a Step at lr 0.05: one optimiser whose lr is changed (its moments and
    step count kept), as param_groups[0]["lr"] = 0.05 does; it silently started a fresh Adam."""
    g = load(MLP)
    session, trainer = ComputeSession(), Trainer()
    first = trainer.steps(session, None, g, 1, "cpu", None, "loss", "Adam", 0.1, 1)
    for n, v in first.values.items():
        g.replace_node(dataclasses.replace(g.nodes[n], value=v))
    got = trainer.steps(session, None, g, 2, "cpu", None, "loss", "Adam", 0.05, 1)
    params, loss = _mlp_by_hand()
    opt = torch.optim.Adam(list(params.values()), lr=0.1)
    for lr in (0.1, 0.05):
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        loss(params).backward()
        opt.step()
    for n, p in params.items():
        assert torch.equal(torch.tensor(got.values[n]), p.detach()), n


def test_a_step_writes_only_the_leaves_it_moved() -> None:
    """Requires-grad leaves the target does not depend on get no .grad, so torch.optim leaves them
    alone; Step wrote them anyway: a float64-precise literal rounded to float32, an init made a
    literal (review)."""
    g = Graph()
    g.add_node(Node("x", TENSOR, value=0.5, requires_grad=True))
    g.add_node(Node("u", TENSOR, value=0.987654321098765, requires_grad=True))
    g.add_node(Node("r", TENSOR, init={"fn": "randn", "shape": [2], "seed": 3}, requires_grad=True))
    g.add_node(Node("y", "mul"))
    g.add_node(Node("other", "exp"))
    for src, dst, port in (("x", "y", "input"), ("x", "y", "other"), ("u", "other", "input")):
        g.add_edge(Edge(src, dst, port))
    got = ComputeSession(), Trainer()
    got = got[1].steps(got[0], None, g, 1, "cpu", None, "y", "SGD", 0.1, 2)
    x = torch.tensor(0.5, requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        (x * x).backward()
        opt.step()
    assert got.error is None and set(got.values) == {"x"}
    assert got.values["x"] == pytest.approx(float(x))


def test_cancelled_runs_keep_finished_steps_or_write_nothing() -> None:
    g = load(MLP)
    token = CancelToken()
    token.cancel()
    before = Trainer().steps(ComputeSession(), token, g, 1, "cpu", None, "loss", "SGD", 0.1, 10)
    assert before.cancelled and before.done == 0 and before.values == {}
    token = CancelToken()
    seen: list[float] = []

    def stop_after_three(i: int, value: float) -> None:
        seen.append(value)
        if i == 2:
            token.cancel()

    got = Trainer().steps(ComputeSession(), token, g, 1, "cpu", None, "loss", "SGD", 0.1, 10, stop_after_three)
    assert got.cancelled and got.done == 3 and got.losses == seen and "3 of 10" in got.stopped
    by_hand = Trainer().steps(ComputeSession(), None, g, 1, "cpu", None, "loss", "SGD", 0.1, 3)
    assert got.values == by_hand.values


def test_steps_refuse_what_they_cannot_do() -> None:
    g = load(MLP)
    got = Trainer().steps(ComputeSession(), None, g, 1, "cpu", None, "h", "SGD", 0.1, 2)  # h is 4 x 4
    assert "scalar" in got.error and "h" in got.error_nodes and got.values == {}
    none = load(EXAMPLES / "01_scalar_partial.json")
    none.replace_node(dataclasses.replace(none.nodes["x"], requires_grad=False))
    refused = Trainer().steps(ComputeSession(), None, none, 1, "cpu", None, "y", "SGD", 0.1, 2)
    assert "requires_grad" in refused.error


@pytest.mark.parametrize(("kind", "x0", "lr"), [("SGD", 1e38, 1e38), ("Adam", 3e38, 2e37)])
def test_a_step_that_would_leave_a_leaf_inf_is_taken_back_and_the_steps_before_are_kept(kind: str, x0: float,
                                                                                         lr: float) -> None:
    from helpers import make_graph

    from graph.model import Node

    g = make_graph([Node("x", "tensor", value=x0, requires_grad=True), Node("loss", "neg")], [("x", "loss", "input")])
    trainer = Trainer()
    got = trainer.steps(ComputeSession(), None, g, 1, "cpu", None, "loss", kind, lr, 10)
    x = torch.tensor(x0, requires_grad=True)
    opt, kept = getattr(torch.optim, kind)([x], lr=lr), []
    while True:  # by hand: each step adds about lr to x, until past float32's largest (3.4e38)
        opt.zero_grad()
        value = -x
        value.backward()
        opt.step()
        if not torch.isfinite(x):
            break
        kept.append((value.item(), x.item()))
    assert len(kept) == 2 and got.error is None
    assert got.losses == [loss for loss, _x in kept] and list(got.values) == ["x"]
    assert torch.tensor(got.values["x"]).item() == kept[-1][1]  # the same float32 (written short)
    assert got.stopped == "step 3 would make x hold inf or nan: stopped before it"
    # The optimiser that took that step is not carried on: the next call starts a fresh one
    # (Adam's moments would still push x up; the same key: leaves, target, optimiser, lr).
    g.replace_node(dataclasses.replace(g.nodes["x"], value=got.values["x"]))
    g.replace_node(dataclasses.replace(g.nodes["loss"], op="abs"))  # x > 0: the gradient is +1 now
    again = trainer.steps(ComputeSession(), None, g, 2, "cpu", None, "loss", kind, lr, 1)
    fresh = torch.tensor(got.values["x"], requires_grad=True)
    fresh_opt = getattr(torch.optim, kind)([fresh], lr=lr)
    fresh.abs().backward()
    fresh_opt.step()
    assert again.stopped is None and torch.tensor(again.values["x"]).item() == fresh.item()


def test_a_target_that_depends_on_no_requires_grad_leaf_is_one_line_naming_it() -> None:
    from helpers import make_graph

    from graph.model import Node

    g = make_graph([Node("x", "tensor", value=2.0, requires_grad=True), Node("z", "tensor", value=1.0),
                    Node("three_z", "neg", label="3*z")], [("z", "three_z", "input")])
    session = ComputeSession()
    steps = Trainer().steps(session, None, g, 1, "cpu", None, "three_z", "SGD", 0.1, 3)
    assert steps.error == "3*z does not depend on any tensor that requires grad: nothing to train"
    assert steps.error_nodes == ("three_z",) and steps.values == {} and steps.done == 0
    grads = GradAccumulator().backward(session, None, g, 1, "cpu", None, "three_z")
    assert grads.error.startswith("3*z does not depend on any tensor that requires grad") and grads.calls == 0
