"""Leaving a document while a Run N steps runs (gui/train.py settle_before_leaving), offscreen:
New, Open, a lesson and Quit ask first, because the run's steps reach the document only when it
ends (so it looks clean). Keep: the run stops, its steps are one undo step, then the usual save
question sees them; Discard: the steps go; Cancel: nothing happens and the run goes on. Another
document clears the Training plot; an emptied graph clears the status lines."""

from __future__ import annotations

import torch
from PySide6.QtWidgets import QMessageBox
from test_train_gui import _long_run, _open, _settled, _sgd_by_hand

Button = QMessageBox.StandardButton


def _asked(w, answer: Button) -> list[str]:  # noqa: ANN001
    """Answer the run question with `answer` and the save question with Discard; the order asked."""
    order: list[str] = []
    w.training.ask_to_leave_run = lambda: (order.append("run"), answer)[1]
    w.ask_unsaved = lambda: (order.append("save"), Button.Discard)[1]
    return order


def test_open_during_a_run_asks_and_cancel_keeps_the_run_going(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    path = w.doc.path
    _long_run(qtbot, w)
    order = _asked(w, Button.Cancel)
    assert not w.open_file(str(examples_dir / "01_scalar_partial.json"))
    assert order == ["run"] and w.doc.path == path and t.running == "loss"
    seen = len(t.losses)
    qtbot.waitUntil(lambda: len(t.losses) > seen + 2, timeout=10_000)  # still stepping
    w.cancel_action.trigger()
    _settled(qtbot, w)


def test_quit_during_a_run_keep_writes_its_steps_then_asks_to_save(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    before = w.doc.undo_stack.count()
    _long_run(qtbot, w)
    order = _asked(w, Button.Yes)
    w.ask_unsaved = lambda: (order.append("save"), Button.Cancel)[1]  # stay, to look at what was kept
    assert not w.close()
    assert order == ["run", "save"] and t.running is None and w.isVisible()
    done = len(t.losses)
    assert 3 <= done < 100_000 and w.doc.undo_stack.count() == before + 1
    for n, p in _sgd_by_hand(examples_dir, done).items():  # the kept values are torch.optim's after `done` steps
        assert torch.equal(torch.tensor(w.doc.graph.nodes[n].value), p.detach()), n


def test_new_during_a_run_discard_drops_its_steps_and_clears_the_plot(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    _long_run(qtbot, w)
    order = _asked(w, Button.Discard)
    w.new_document()
    assert order == ["run"] and not w.doc.graph.nodes  # the document was clean: no save question
    qtbot.waitUntil(lambda: t.running is None, timeout=10_000)
    assert "not kept" in t.summary.text() and t.losses == [] and t.curve_target is None
    xs, _ys = t._curve.getData()
    assert xs is None or len(xs) == 0


def test_another_document_clears_the_training_plot_and_line(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "01_scalar_partial.json", "y")
    t.count_box.setValue(5)
    t.run_action.trigger()
    _settled(qtbot, w)
    assert len(t.losses) == 5 and "5 step(s)" in t.summary.text()
    _asked(w, Button.Cancel)  # no run now: neither question may come for the run
    w.doc.undo_stack.setClean()
    _open(qtbot, w, examples_dir / "02_matmul_vector.json", "y")
    assert t.losses == [] and t.curve_target is None and "step(s)" not in t.summary.text()
    xs, _ys = t._curve.getData()
    assert xs is None or len(xs) == 0
    assert t.plot.getAxis("left").labelText == "target before each step"  # not 01's y


def test_deleting_every_node_leaves_no_stale_or_shown_line(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w = window
    _open(qtbot, w, examples_dir / "01_scalar_partial.json", "y")
    assert w.statusBar().currentMessage()  # something was said about the result
    w._select_all()
    w.delete_selection()
    qtbot.wait(300)
    assert not w.doc.graph.nodes
    assert "stale" not in w.status.text() and "recomputing" not in w.status.text()
    assert "shown on every node" not in w.statusBar().currentMessage()


def test_discard_then_a_failed_open_still_drops_the_steps(qtbot, window, examples_dir, tmp_path) -> None:  # noqa: ANN001
    """The user was told the steps would be dropped: a leave that then fails (a broken file, or
    Cancel at the save question) must not write them when the run ends."""
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    before = {n: w.doc.graph.nodes[n].value for n in ("W1", "b1", "W2")}
    steps = w.doc.undo_stack.count()
    _long_run(qtbot, w)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    order = _asked(w, Button.Discard)
    assert not w.open_file(str(broken))
    assert order == ["run"]
    qtbot.waitUntil(lambda: t.running is None, timeout=10_000)
    assert {n: w.doc.graph.nodes[n].value for n in before} == before and w.doc.undo_stack.count() == steps
    assert "discarded, as asked" in t.summary.text()
