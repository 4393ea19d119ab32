"""The engine's notes name nodes by id for the command line and by title in the app: NaN/Inf
where it first appears (a value, a partial), the partials holding it, a target with no
gradient (an int64 or bool result, or one that depends on no requires_grad leaf) and torch's
warnings. The app's text is made from the note's ids, never by replacing text: an id that is
part of another word ("a" in "partials") stays as it is."""

from __future__ import annotations

import copy
import pickle

from helpers import RESULT_TIMEOUT_MS, make_graph

from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled, Note
from graph.model import Edge, Node


def _graph():  # noqa: ANN202 - a graph.model.Graph
    """a = [0, 1] -> sqrt -> sum (∂/∂a is inf at 0); w = [-1, 2] -> log (NaN at -1); an int64
    leaf -> sum. Ids that are parts of the notes' words; titles unlike them."""
    return make_graph(
        [Node("a", "tensor", value=[0.0, 1.0], requires_grad=True, label="radius"),
         Node("t", "sqrt", label="root"), Node("s", "sum", label="loss"),
         Node("w", "tensor", value=[-1.0, 2.0], requires_grad=True, label="weights"),
         Node("n", "log", label="LOG"),
         Node("i", "tensor", value=[1, 2], dtype="int64", label="counts"),
         Node("c", "sum", label="count sum")],
        [("a", "t", "input"), ("t", "s", "input"), ("w", "n", "input"), ("i", "c", "input")])


def test_the_command_line_reads_ids_and_the_app_titles() -> None:
    g = _graph()
    engine = Compiled(g.validate()).run("s")
    assert engine.notes == ["n: value has NaN/Inf (log of finite inputs)", "partials with NaN/Inf at: a"]
    assert dict(engine.nonfinite) == {"n": "value has NaN/Inf (log of finite inputs)",
                                      "a": "partial ∂s/∂a has NaN/Inf (first in the backward pass)"}
    app = ComputeSession().compute(g.snapshot(), "s", 1)
    assert app.notes == ["LOG: value has NaN/Inf (log of finite inputs)", "partials with NaN/Inf at: radius"]
    assert app.nonfinite == {"n": "value has NaN/Inf (log of finite inputs)",
                             "a": "partial ∂loss/∂radius has NaN/Inf (first in the backward pass)"}


def test_a_target_without_gradient_is_named_by_its_title_in_the_app() -> None:
    g = _graph()
    assert Compiled(g.validate()).run("c").notes[0].startswith("c is an int64 result: no gradient flows")
    app = ComputeSession().compute(g.snapshot(), "c", 1)
    assert app.notes[0] == ("(count sum) is an int64 result: no gradient flows through it (PyTorch would "
                            "refuse backward()); choose a float node as target")
    g.add_node(Node("k", "tensor", value=[1.0, 2.0], label="constant"))
    g.add_node(Node("m", "sum", label="total"))
    g.add_edge(Edge("k", "m", "input"))
    app = ComputeSession().compute(g.snapshot(), "m", 2)
    assert app.notes[0] == ("total does not depend on any tensor with requires_grad on: no partials "
                            "(PyTorch would refuse backward())")


def test_a_torch_warning_names_its_node_by_title_in_the_app() -> None:
    g = make_graph([Node("x", "tensor", value=[[1.0], [2.0]], requires_grad=True),
                    Node("t", "tensor", value=[1.0, 3.0]), Node("l", "mse_loss", label="error {0}")],
                   [("x", "l", "input"), ("t", "l", "target")])
    engine_note = Compiled(g.validate()).run("l").notes[0]
    assert engine_note.startswith("l: Using a target size (torch.Size([2]))")
    app_note = ComputeSession().compute(g.snapshot(), "l", 1).notes[0]
    assert app_note == "(error {0})" + engine_note[1:]  # the warning's own text as it is


def test_a_note_copies_and_pickles_with_its_ids() -> None:
    note = Note("partial ∂{}/∂{} has NaN/Inf", "s", "a{0}")
    assert note == "partial ∂s/∂a{0} has NaN/Inf"
    for made in (copy.copy(note), copy.deepcopy(note), pickle.loads(pickle.dumps(note))):
        assert made == note and made.named(str.upper) == "partial ∂S/∂A{0} has NaN/Inf"


def test_the_window_shows_titles_in_the_status_bar_and_the_node_mark(window, qtbot) -> None:  # noqa: ANN001
    window.doc.reset(_graph())
    window.doc.set_target("s")
    qtbot.waitUntil(lambda: window.last_result is not None and window.run.is_current(window.last_result),
                    timeout=RESULT_TIMEOUT_MS)
    shown = window.statusBar().currentMessage()
    assert shown == "LOG: value has NaN/Inf (log of finite inputs); partials with NaN/Inf at: radius"
    tip = window.scene.nodes["a"].toolTip()
    assert "NaN/Inf starts here: partial ∂loss/∂radius has NaN/Inf" in tip
    assert "∂s/∂a" not in tip
