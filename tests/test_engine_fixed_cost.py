"""What the engine's per-run fixed costs must not give up (issue 8): torch's warnings become
notes naming their node on every run, whatever the filters, on the run's thread only; NaN/Inf
is still found and its first node named when the check skips what is known to be finite."""

from __future__ import annotations

import gc
import threading
import warnings
from pathlib import Path

import pytest
import torch
from helpers import make_graph

from autograd_bridge.engine import Compiled
from graph.model import Node

MSE_NOTE = "l: Using a target size (torch.Size([2])) that is different to the input size"


def _mse_broadcast() -> Compiled:
    """mse_loss of a [2, 1] input and a [2] target: torch warns about the broadcast."""
    return Compiled(make_graph([Node("x", "tensor", value=[[1.0], [2.0]], requires_grad=True),
                                Node("t", "tensor", value=[1.0, 3.0]), Node("l", "mse_loss")],
                               [("x", "l", "input"), ("t", "l", "target")]))


def _mse_notes(notes: list[str]) -> list[str]:
    return [n for n in notes if n.startswith(MSE_NOTE)]


def _state() -> tuple:
    return warnings.filters, list(warnings.filters), warnings._showwarnmsg, warnings.showwarning


# ---- warnings ----

@pytest.mark.parametrize("outside", ["default", "once", "ignore", "error"])
def test_a_warning_on_every_run_is_a_note_on_every_run_whatever_the_filters(outside: str) -> None:
    compiled = _mse_broadcast()
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter(outside)
        before = _state()
        for _ in range(3):
            assert len(_mse_notes(compiled.run("l").notes)) == 1
            notes: list[str] = []
            compiled.partials(compiled.forward(notes=notes), "l", notes=notes)
            assert len(_mse_notes(notes)) == 1
            shape_notes: list[str] = []
            compiled.infer_shapes(shape_notes)
            assert len(_mse_notes(shape_notes)) == 1
        after = _state()
    assert leaked == []
    assert after[0] is before[0] and after[1:] == before[1:]  # the same filter list, as it was


def test_a_warning_outside_a_run_is_not_taken() -> None:
    compiled = _mse_broadcast()
    compiled.run("l")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        compiled.run("l")
        warnings.warn("not the engine's", UserWarning, stacklevel=1)
        compiled.run("l")
    assert [str(w.message) for w in seen] == ["not the engine's"]


def _paused_inside_forward(compiled: Compiled) -> tuple[threading.Event, threading.Event]:
    """Make compiled's forward wait, on whatever thread runs it, until told to go on."""
    inside, go_on = threading.Event(), threading.Event()
    forward = compiled._variables_of

    def paused(*leaves: torch.Tensor) -> dict:
        inside.set()
        assert go_on.wait(10)
        return forward(*leaves)

    compiled._variables_of = paused
    return inside, go_on


def test_another_threads_warning_during_a_run_is_not_a_note_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = _mse_broadcast()
    inside, go_on = _paused_inside_forward(compiled)
    shown: list[str] = []
    monkeypatch.setattr(warnings, "showwarning", lambda message, *rest: shown.append(str(message)))
    results = []
    worker = threading.Thread(target=lambda: results.append(compiled.run("l")))
    worker.start()
    assert inside.wait(10)
    warnings.warn("from the GUI thread", UserWarning, stacklevel=1)
    go_on.set()
    worker.join(10)
    (result,) = results
    assert len(_mse_notes(result.notes)) == 1
    assert not [n for n in result.notes if "GUI thread" in n]
    assert shown == ["from the GUI thread"]  # shown as any warning outside a run
    assert warnings._showwarnmsg.__module__ == "warnings"


def test_overlapping_runs_on_two_threads_each_get_their_notes_and_the_filters_come_back() -> None:
    slow, quick = _mse_broadcast(), _mse_broadcast()
    inside, go_on = _paused_inside_forward(slow)
    before = _state()
    results: list = []
    worker = threading.Thread(target=lambda: results.append(slow.run("l")))
    worker.start()
    assert inside.wait(10)
    assert len(_mse_notes(quick.run("l").notes)) == 1  # opened and closed while the slow run is open
    go_on.set()
    worker.join(10)
    assert len(_mse_notes(results[0].notes)) == 1
    after = _state()
    assert after[0] is before[0] and after[1:] == before[1:]


def test_a_failed_run_puts_the_filters_and_the_gc_back() -> None:
    compiled = _mse_broadcast()
    before = _state()
    with pytest.raises(Exception, match="target"):
        compiled.run("l", grad_output=[1.0, 2.0])
    after = _state()
    assert after[0] is before[0] and after[1:] == before[1:]
    assert gc.isenabled()
    assert len(_mse_notes(compiled.run("l").notes)) == 1


def test_the_cyclic_gc_is_paused_in_a_run_and_on_after() -> None:
    compiled = _mse_broadcast()
    forward, seen = compiled._variables_of, []
    compiled._variables_of = lambda *leaves: (seen.append(gc.isenabled()), forward(*leaves))[1]
    compiled.run("l")
    compiled.forward()
    assert seen == [False, False] and gc.isenabled()


# ---- NaN/Inf ----

def test_a_nan_a_select_drops_is_named_first_in_graph_order() -> None:
    """log(-1) is NaN in entry 0; select takes entry 1; the later div by 0 is Inf in a value the
    target uses: the first node in graph order is named first, and both are found."""
    g = make_graph([Node("x", "tensor", value=[-1.0, 2.0], requires_grad=True), Node("lg", "log"),
                    Node("s", "select", attrs={"dim": 0, "index": 1}),
                    Node("z", "tensor", value=0.0), Node("d", "div"), Node("y", "mul")],
                   [("x", "lg", "input"), ("lg", "s", "input"), ("s", "d", "input"), ("z", "d", "other"),
                    ("d", "y", "input"), ("s", "y", "other")])
    result = Compiled(g).run("y")
    assert [n for n, _ in result.nonfinite][:2] == ["lg", "d"]
    assert result.notes[0] == "lg: value has NaN/Inf (log of finite inputs)"


def test_the_seed_is_still_checked_when_it_adds_up_in_a_leaf_target() -> None:
    """The target's own partial is the seed, finite, and not read; but when runs accumulate
    into a leaf target's .grad, 3e38 + 3e38 overflows float32 on the second run."""
    compiled = Compiled(make_graph([Node("x", "tensor", value=[1.0], requires_grad=True)], []))
    first = compiled.run("x", grad_output=[3e38], accumulate=True)
    assert first.nonfinite == []
    second = compiled.run("x", grad_output=[3e38], accumulate=True)
    assert second.nonfinite and second.nonfinite[0][0] == "x"
    assert torch.isinf(second.grads["x"]).all()


# ---- the fresh run (Compiled.run's own function for its common case) ----

def _example(name: str) -> Compiled:
    from graph.fileformat import load

    return Compiled(load(Path(__file__).resolve().parent.parent / "resources" / "examples" / name))


@pytest.mark.parametrize(("name", "target"), [("01_scalar_partial.json", "y"), ("02_matmul_vector.json", "y"),
                                              ("03_vector_element.json", "y1"), ("04_small_mlp.json", "loss")])
def test_every_fresh_run_equals_forward_then_partials(name: str, target: str) -> None:
    compiled = _example(name)
    general = compiled.partials(compiled.forward(), target)
    for _ in range(3):  # the first run makes the function, the next ones reuse it
        result = compiled.run(target)
        assert list(result.values) == list(general.values) and list(result.grads) == list(general.grads)
        for n in general.values:
            assert torch.equal(result.values[n], general.values[n])
            a, b = result.grads[n], general.grads[n]
            assert (a is None and b is None) or torch.equal(a, b)
        assert (result.target, result.notes, result.nonfinite) == (target, [], [])


def test_a_fresh_run_still_refuses_a_target_that_needs_a_grad_output_and_notes_one_without_grad() -> None:
    compiled = Compiled(make_graph(
        [Node("x", "tensor", value=[1.0, 2.0], requires_grad=True), Node("c", "tensor", value=2.0),
         Node("y", "mul"), Node("k", "neg")],
        [("x", "y", "input"), ("c", "y", "other"), ("c", "k", "input")]))
    for _ in range(2):
        with pytest.raises(Exception, match="target y has shape \\[2\\]"):
            compiled.run("y")
        result = compiled.run("k")
        assert result.notes == ["k does not depend on any tensor with requires_grad on: no partials "
                                "(PyTorch would refuse backward())"]
        assert all(g is None for g in result.grads.values())
    assert gc.isenabled()


def test_a_compiled_graph_is_freed_when_dropped_without_the_cyclic_gc() -> None:
    """The fresh run's function is kept per target in the Compiled, so it must not hold it:
    a big graph's tensors would stay until the cyclic GC ran."""
    import weakref

    compiled = _example("03_vector_element.json")
    compiled.run("y1")
    compiled.partials(compiled.forward(), "y1")
    compiled._forward(*compiled.make_leaves())
    dropped = weakref.ref(compiled)
    gc.disable()
    try:
        del compiled
        assert dropped() is None
    finally:
        gc.enable()


@pytest.mark.parametrize(("name", "target"), [("01_scalar_partial.json", "y"), ("04_small_mlp.json", "loss")])
def test_the_backward_gives_what_torch_autograd_grad_gives(name: str, target: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine calls torch's autograd engine as torch.autograd.grad does, without its
    Python checks: the same partials as through torch.autograd.grad, also for a grad-output."""
    from autograd_bridge import engine

    direct = _example(name)
    results = [direct.run(target), direct.run(target, grad_output=2.5)]
    monkeypatch.setattr(engine, "_run_backward", None)  # torch.autograd.grad instead
    public = _example(name)
    for result, again in zip(results, [public.run(target), public.run(target, grad_output=2.5)], strict=True):
        for n, g in again.grads.items():
            assert (g is None and result.grads[n] is None) or torch.equal(g, result.grads[n])
    grad, seen = torch.autograd.grad, []
    monkeypatch.setattr(torch.autograd, "grad", lambda *a, **k: seen.append(1) or grad(*a, **k))
    _example(name).run(target)
    assert seen == [1]  # the fallback is torch.autograd.grad
    monkeypatch.undo()
    monkeypatch.setattr(torch.autograd, "grad", lambda *a, **k: seen.append(2) or grad(*a, **k))
    _example(name).run(target)
    assert seen == [1, 2]  # and a torch.autograd.grad someone replaced is called


# ---- select along dim 0, written y[i] ----

@pytest.mark.parametrize(("index", "shape"), [(1, (2,)), (-1, (3, 2)), (0, (2, 3, 2))])
def test_a_select_along_dim_0_is_an_index_and_passes_gradcheck(index: int, shape: tuple[int, ...]) -> None:
    from tests.test_gradcheck_catalogue import variant_graph

    graph, leaves = variant_graph("select", {"dim": 0, "index": index}, {"input": shape})
    compiled = Compiled(graph, "cpu", "float64")
    assert f"[{index}]  # node 'op'" in compiled.source.lines["op"]
    (got,) = compiled._forward(*leaves)
    assert torch.equal(got, torch.select(leaves[0], 0, index))
    assert torch.autograd.gradcheck(lambda *xs: compiled._forward(*xs), tuple(leaves), eps=1e-6, atol=1e-5, rtol=1e-3)


def test_a_select_along_dim_0_of_a_0_d_tensor_names_the_node() -> None:
    compiled = Compiled(make_graph([Node("x", "tensor", value=1.0, requires_grad=True),
                                    Node("s", "select", attrs={"dim": 0, "index": 0})], [("x", "s", "input")]))
    with pytest.raises(Exception, match="^s: select of \\[\\]") as info:
        compiled.run("s")
    assert info.value.node_ids[0] == "s"
