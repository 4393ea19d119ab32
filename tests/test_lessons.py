"""Lessons (graph/lessons.py, gui/lessons.py, resources/lessons/): every bundled lesson loads and
each step's target computes; the numbers the texts state are torch's, computed here
independently, and the engine's; hostile lesson files are refused with one line; the dock's
Next / Back set the target and selection each step names."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from helpers import fresh_paint

import gradcanvas
from autograd_bridge.calculus import jacobian
from autograd_bridge.engine import Compiled
from graph.lessons import MAX_STEPS, MAX_TEXT, Lesson, LessonError, load, loads

LESSONS = sorted((Path(__file__).resolve().parent.parent / "resources" / "lessons").glob("*.json"))
EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


def target_at(lesson: Lesson, index: int) -> str | None:
    """The rule the dock follows: the last target named up to this step, else the graph's own."""
    for step in reversed(lesson.steps[:index + 1]):
        if step.target is not None:
            return step.target
    return lesson.graph.target


def written(v: object, digits: int | None = None) -> str:
    """A number or nested list as the lesson texts write it: whole numbers without a point,
    else `digits` significant digits."""
    if isinstance(v, torch.Tensor):
        v = v.tolist()
    if isinstance(v, list):
        return "[" + ", ".join(written(x, digits) for x in v) + "]"
    if digits is not None:
        return f"{v:.{digits}g}"
    return str(round(v)) if abs(v - round(v)) < 1e-9 else repr(v)


# ---- the numbers, by torch alone (float64), per lesson: (step, node, what, value, digits) ----
# what: "value" / "grad" (checked against the engine at that step's target as well) or "text"
# (a number the text derives, checked against the text only; `node` is then the text written).

def facts_01() -> list[tuple]:
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    z = torch.tensor(3.0, dtype=torch.float64)
    x_sq = x**2
    two_x_sq = 2 * x_sq
    y = two_x_sq + 3 * z
    for t in (x_sq, two_x_sq):
        t.retain_grad()
    y.backward()
    return [(2, "y", "value", y, None), (3, "x", "grad", x.grad, None),
            (5, "x_sq", "grad", x_sq.grad, None), (5, "two_x_sq", "grad", two_x_sq.grad, None)]


def facts_02() -> list[tuple]:
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([[3.0, 4.0], [5.0, 6.0]], dtype=torch.float64)
    a = torch.tensor(2.0, dtype=torch.float64)
    x_row = x.reshape(1, -1)
    xw = x_row @ w
    y = (a * xw).sum()
    for t in (x_row, xw):
        t.retain_grad()
    y.backward()
    return [(1, "y", "value", y, None), (2, "x_row", "grad", x_row.grad, None), (3, "x", "grad", x.grad, None),
            (4, "x", "grad", x.grad, None), (4, written(a * w), "text", None, None),
            (5, "xw", "grad", xw.grad, None), (5, "x_row", "grad", x_row.grad, None)]


def facts_03() -> list[tuple]:
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    y = x**2
    y.retain_grad()
    y1 = y[1]
    y1.backward()
    return [(1, "y", "value", y, None), (1, "y1", "value", y1, None), (2, "x", "grad", x.grad, None),
            (3, "y", "grad", y.grad, None)]


def facts_04() -> list[tuple]:
    x = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    (dh_dx,) = torch.autograd.grad(x**2, x)  # a graph of its own: h's retain_grad hook would see it
    h = x**2
    h.retain_grad()
    y = h * 2.0
    y.backward()
    return [(1, "h", "value", h, None), (1, "y", "value", y, None), (2, "x", "grad", x.grad, None),
            (3, "h", "grad", h.grad, None),
            (4, f"{written(h.grad)} · {written(dh_dx)} = {written(x.grad)}", "text", None, None)]


def facts_05() -> list[tuple]:
    x = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    after = []
    for _ in range(3):
        y = x**2
        y.backward()  # no x.grad = None between: PyTorch adds
        after.append(x.grad.item())
    return [(1, "y", "value", y, None), (1, "x", "grad", after[0], None),
            (2, "x", "accumulated 2", after[1], None), (2, "x", "accumulated 3", after[2], None),
            # Backward again's badge counts its own clicks (the canvas's partial left .grad alone):
            # the text says which click shows which, not "12" after one.
            (2, f"{after[0]:g} after 1, {after[1]:g} after 2, {after[2]:g} after 3", "text", None, None)]


def facts_06() -> list[tuple]:
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    y = x**2
    (row1,) = torch.autograd.grad(y[1], x, retain_graph=True)
    (ds,) = torch.autograd.grad(y.sum(), x, retain_graph=True)
    (vjp,) = torch.autograd.grad(y, x, torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64), retain_graph=True)
    jac = torch.autograd.functional.jacobian(lambda t: t**2, x.detach())
    assert torch.equal(jac, torch.diag(jac.diagonal()))
    return [(1, "y", "value", y, None), (1, "y1", "value", y[1], None), (1, "x", "grad", row1, None),
            (2, "s", "value", y.sum(), None), (2, "x", "grad", ds, None), (3, "x", "grad", vjp, None),
            (4, "x", "jacobian", jac, None),
            (4, "diag(" + written(jac.diagonal())[1:-1] + ")", "text", None, None)]


def facts_07() -> list[tuple]:
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    u, v = x**2, 3 * x
    y = u * v
    (du,) = torch.autograd.grad(u, x, retain_graph=True)
    (dv,) = torch.autograd.grad(v, x, retain_graph=True)
    dy_du, dy_dv = torch.autograd.grad(y, (u, v), retain_graph=True)
    y.backward()
    chain = (f"{written(dy_du)} · {written(du)} + {written(dy_dv)} · {written(dv)} = "
             f"{written(dy_du * du)} + {written(dy_dv * dv)} = {written(x.grad)}")
    return [(1, "u", "value", u, None), (1, "v", "value", v, None), (1, "y", "value", y, None),
            (2, "u", "grad", dy_du, None), (3, "v", "grad", dy_dv, None), (4, "x", "grad", x.grad, None),
            (4, chain, "text", None, None)]


def facts_08() -> list[tuple]:
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    hs, h = [], x
    for _ in range(6):
        h = torch.sigmoid(h)
        h.retain_grad()
        hs.append(h)
    hs[-1].backward()
    return [(1, "h6", "value", hs[5], 3), (2, "h5", "grad", hs[4].grad, 3), (3, "h4", "grad", hs[3].grad, 3),
            (3, "h3", "grad", hs[2].grad, 3), (3, "h2", "grad", hs[1].grad, 3), (3, "h1", "grad", hs[0].grad, 3),
            (4, "x", "grad", x.grad, 3)]


FACTS = {"01_scalar_partial": facts_01, "02_matmul_vector": facts_02, "03_vector_element": facts_03,
         "04_nonleaf_grad": facts_04, "05_grads_accumulate": facts_05, "06_vector_target": facts_06,
         "07_diamond": facts_07, "08_vanishing_sigmoid": facts_08}


def test_every_bundled_lesson_has_its_numbers_checked() -> None:
    assert [p.stem for p in LESSONS] == sorted(FACTS)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_bundled_lesson_loads_and_every_step_target_computes(path: Path) -> None:
    lesson = load(path)
    assert lesson.title and 1 <= len(lesson.steps) <= MAX_STEPS
    for i, step in enumerate(lesson.steps):
        target = target_at(lesson, i)
        assert step.select is None or step.select in lesson.graph.nodes
        if target is None:  # values alone, as the canvas shows them before a target is picked
            assert Compiled(lesson.graph).forward()
            continue
        assert target in lesson.graph.nodes, f"step {i + 1}"
        result = gradcanvas.grad(lesson.graph, target)  # raises if it does not compute
        assert result.value.numel() > 0
        assert not any(s.strip() != s for s in step.text.split("\n")), "no stray spaces"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_numbers_a_lesson_states_are_torchs_and_the_engines(path: Path) -> None:
    lesson = load(path)
    for step_no, node, what, value, digits in FACTS[path.stem]():
        text = lesson.steps[step_no - 1].text
        if what == "text":
            assert node in text, f"step {step_no} should say {node!r}: {text}"
            continue
        shown = written(value, digits)
        assert what == "jacobian" or shown in text, f"step {step_no} should state {node}'s {what} {shown}: {text}"
        target = target_at(lesson, step_no - 1)
        expected = torch.as_tensor(value, dtype=torch.float64)
        if what == "value":
            got = gradcanvas.grad(lesson.graph, target).values[node]
        elif what == "grad":
            got = gradcanvas.grad(lesson.graph, target).grads[node]
        elif what.startswith("accumulated"):  # leaf .grad after N backward() calls without clearing
            compiled = Compiled(lesson.graph)
            for _ in range(int(what.split()[1])):
                got = compiled.run(target, accumulate=True).grads[node]
        else:
            assert what == "jacobian"
            got = jacobian(Compiled(lesson.graph), target, node).matrix
        torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-7, msg=f"step {step_no}: {node} {what}")


def test_the_article_examples_are_the_examples_graphs() -> None:
    """Lessons 1-3 teach on the very graphs of resources/examples (one place for each)."""
    from graph.fileformat import dumps
    from graph.fileformat import load as load_graph

    for path in LESSONS[:3]:
        example = load_graph(EXAMPLES / path.name)
        lesson_graph = load(path).graph
        lesson_graph.target = example.target
        assert dumps(lesson_graph) == dumps(example)


def test_example_two_lesson_says_what_the_article_got_wrong() -> None:
    texts = " ".join(s.text for s in load(LESSONS[1]).steps)
    assert "None" in texts and "non-leaf" in texts  # x rebound to the reshape: x.grad prints None
    assert "[[6., 10.]]" in texts and "[14, 22]" in texts  # the article's number, and the true one


# ---- hostile files ----

def lesson_doc(**changes: object) -> dict:
    doc = json.loads(LESSONS[6].read_text(encoding="utf-8"))  # the diamond: x, three, u, v, y
    doc.update(changes)
    return doc


def refused(text: str) -> str:
    with pytest.raises(LessonError) as e:
        loads(text)
    message = e.value.message
    assert "\n" not in message and len(message) < 400, message
    return message


@pytest.mark.parametrize(("change", "says"), [
    ({"extra": 1}, "unknown field 'extra'"),
    ({"format": "gradcanvas"}, "field 'format' must be \"gradcanvas-lesson\""),
    ({"version": 2}, "version 2"),
    ({"version": True}, "field 'version'"),
    ({"title": ""}, "field 'title'"),
    ({"title": "t" * 500}, "field 'title'"),
    ({"graph": []}, "field 'graph' must be a graph object"),
    ({"steps": []}, "field 'steps' must be a list of 1 to"),
    ({"steps": {"text": "a"}}, "field 'steps'"),
    ({"steps": ["just text"]}, "step 1: must be an object"),
    ({"steps": [{"text": "ok"}, {"text": 3}]}, "step 2: field 'text' must be non-empty text"),
    ({"steps": [{"text": "   "}]}, "step 1: field 'text'"),
    ({"steps": [{"text": "x" * (MAX_TEXT + 1)}]}, f"step 1: field 'text' is {MAX_TEXT + 1:,} characters"),
    ({"steps": [{"text": "a", "target": "nope"}]}, "step 1: field 'target': no node 'nope'"),
    ({"steps": [{"text": "a", "select": ["x"]}]}, "step 1: field 'select': no node"),
    ({"steps": [{"text": "a", "run": "rm -rf /"}]}, "step 1: unknown field 'run'"),
    ({"steps": [{"text": "a"}] * (MAX_STEPS + 1)}, "field 'steps' must be a list of 1 to"),
])
def test_hostile_lessons_are_refused_in_one_line(change: dict, says: str) -> None:
    assert says in refused(json.dumps(lesson_doc(**change)))


def test_a_broken_graph_inside_a_lesson_is_refused_as_the_graph_loader_refuses_it() -> None:
    doc = lesson_doc()
    doc["graph"]["nodes"][0]["value"] = "3"  # x's value as text
    assert refused(json.dumps(doc)).startswith("field 'graph': node x:")
    doc = lesson_doc()
    doc["graph"]["edges"].append({"from": "y", "to": "u", "port": "input"})  # u fed twice
    assert "field 'graph'" in refused(json.dumps(doc))
    doc = lesson_doc()
    doc["graph"]["edges"] = [e for e in doc["graph"]["edges"] if e["to"] != "y"]  # y's inputs unfed
    assert "field 'graph'" in refused(json.dumps(doc))


@pytest.mark.parametrize(("text", "says"), [
    ('{"format": "gradcanvas-lesson", "format": "gradcanvas-lesson"}', "appears twice"),
    ("[1, 2]", "a lesson is a JSON object"),
    ("{nope", "not valid JSON"),
    ('{"format": NaN}', "NaN is not allowed"),
    ("[" * 100_000, "not valid JSON"),
])
def test_malformed_json_is_refused(text: str, says: str) -> None:
    assert says in refused(text)


def test_a_duplicate_key_deep_inside_a_step_is_refused() -> None:
    text = json.dumps(lesson_doc()).replace('"steps": [{', '"steps": [{"text": "twice", ', 1)
    assert "appears twice" in refused(text)


def test_files_that_are_not_lessons(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe not utf-8")
    for path, says in ((tmp_path, "not a regular file"), (tmp_path / "missing.json", "cannot read"),
                       (tmp_path / "bad.json", "not a UTF-8 text file")):
        with pytest.raises(LessonError, match=says) as e:
            load(path)
        assert str(path) in e.value.message


def test_text_from_a_lesson_is_shown_escaped() -> None:
    from gui.lessons import shown

    text = "∂y/∂x = [1, 2]\u202e ]2 ,1[\x1b[2J\nsecond line"
    lesson = loads(json.dumps(lesson_doc(steps=[{"text": text}])))
    assert shown(lesson.steps[0].text) == "∂y/∂x = [1, 2]\\u202e ]2 ,1[\\x1b[2J\nsecond line"


# ---- the dock ----

def wait_for_result(qtbot, window) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: window.run.current is not None and window.run.current.target == window.doc.target,
                    timeout=20_000)


def test_next_and_back_set_target_and_selection(qtbot, window) -> None:  # noqa: ANN001
    lesson = load(LESSONS[5])  # vector target: the steps move the target y1 → s → y → y
    dock = window.lesson_dock
    assert dock.isHidden()
    assert dock.open_lesson(lesson)
    assert dock.isVisible() and dock.title.text() == lesson.title
    seen = []
    for i, step in enumerate(lesson.steps):
        assert dock.counter.text() == f"step {i + 1} of {len(lesson.steps)}"
        assert window.doc.target == target_at(lesson, i)
        assert window.scene.selected_node_ids() == ([step.select] if step.select else [])
        assert dock.text.text() == step.text
        wait_for_result(qtbot, window)
        seen.append((window.doc.target, window.scene.selected_node_ids(), dock.text.text()))
        assert dock.back_button.isEnabled() == (i > 0)
        assert dock.next_button.isEnabled() == (i < len(lesson.steps) - 1)
        if i < len(lesson.steps) - 1:
            qtbot.mouseClick(dock.next_button, _left())
    # the vector target's step computed with the file's grad-output: x.grad = vᵀJ = [2, 2, 0]
    assert window.run.current.nodes["x"].grad is not None
    for i in reversed(range(len(lesson.steps) - 1)):
        qtbot.mouseClick(dock.back_button, _left())
        assert (window.doc.target, window.scene.selected_node_ids(), dock.text.text()) == seen[i]
    assert window.grad_output is None  # back at y1: a scalar, no grad-output


def test_next_and_back_leave_a_fitted_lesson_where_it_is(qtbot, window) -> None:  # noqa: ANN001
    """A step's selected node was scrolled to with 40 px margins even when in view, so the fitted
    graph moved and its right-hand nodes went off screen."""
    from PySide6.QtWidgets import QApplication

    lesson = load(LESSONS[5])
    window.resize(1400, 900)
    assert window.lesson_dock.open_lesson(lesson)
    QApplication.processEvents()
    view = window.view
    view.fit_graph()
    scrolled = (view.horizontalScrollBar().value(), view.verticalScrollBar().value())
    for _ in lesson.steps[1:]:
        window.lesson_dock.next()
        QApplication.processEvents()
        assert (view.horizontalScrollBar().value(), view.verticalScrollBar().value()) == scrolled
        shown = view.mapToScene(view.viewport().rect()).boundingRect()
        assert all(shown.contains(item.sceneBoundingRect()) for item in window.scene.nodes.values())


def test_every_step_can_be_read_to_its_end_in_a_small_window(qtbot, window) -> None:  # noqa: ANN001
    """In a 1280 x 720 window lesson 5's third step needed 288 px and got 218: its last lines,
    about clearing .grad, could not be reached. The words scroll; the buttons stay."""
    from PySide6.QtWidgets import QApplication

    from gui.render import fit_window

    fit_window(window, (1280, 720))
    dock = window.lesson_dock
    for path in LESSONS:
        lesson = load(path)
        assert dock.open_lesson(lesson)
        for i in range(len(lesson.steps)):
            dock.go(i)
            text, bar = dock.text, dock.scroll.verticalScrollBar()
            # laid out a turn or two of the event loop later; cut off, it never got the height
            qtbot.waitUntil(lambda t=text: t.height() >= t.heightForWidth(t.width()), timeout=2000)
            assert bar.value() == 0, (path.stem, i)
            bar.setValue(bar.maximum())
            QApplication.processEvents()
            bottom = text.mapTo(dock.scroll.viewport(), text.rect().bottomLeft())
            assert bottom.y() <= dock.scroll.viewport().height(), (path.stem, i)  # its last line in view
            assert dock.next_button.isVisible() and not dock.next_button.visibleRegion().isEmpty()


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_opens_with_each_node_showing_its_number(qtbot, window, path: Path) -> None:  # noqa: ANN001
    """In the default window with the Lesson dock beside the canvas, the fitted graph is drawn
    at full detail or the summary (title and one number, ≥ 12 px): a lesson is about those
    numbers. (The 7-node sigmoid chain in one row fitted as blank bars.)"""
    from PySide6.QtWidgets import QApplication

    from gui.canvas import lod

    window.resize(1400, 900)
    assert window.lesson_dock.open_lesson(load(path))
    QApplication.processEvents()
    window.view.fit_graph()
    fresh_paint(window.view)
    for node_id, item in window.scene.nodes.items():
        assert item.painted is not None and item.painted[0] in (lod.FULL, lod.SUMMARY), (node_id, item.painted)


def test_a_step_that_names_no_target_keeps_the_one_before(window) -> None:  # noqa: ANN001
    doc = lesson_doc(steps=[{"text": "one", "target": "u"}, {"text": "two", "select": "x"}, {"text": "three"}])
    dock = window.lesson_dock
    dock.open_lesson(loads(json.dumps(doc)))
    dock.next()
    assert (window.doc.target, window.scene.selected_node_ids()) == ("u", ["x"])
    dock.next()
    assert (window.doc.target, window.scene.selected_node_ids()) == ("u", [])
    dock.next()  # past the end: stays
    assert dock.index == 2


def test_file_lessons_menu_lists_the_bundled_lessons_and_opens_one(window) -> None:  # noqa: ANN001
    titles = [a.text() for a in window.lessons_menu.actions() if not a.isSeparator()]
    numbered = [f"&{n} " + load(p).title.replace("&", "&&") for n, p in enumerate(LESSONS, 1)]  # 1-8: mnemonics
    assert titles == [*numbered, "&Open lesson file…"]
    window.lessons_menu.actions()[6].trigger()  # the diamond
    assert window.lesson_dock.isVisible()
    assert sorted(window.doc.graph.nodes) == ["three", "u", "v", "x", "y"]
    assert window.doc.path is None  # an untitled copy: saving never writes over the bundled lesson


def test_a_hostile_lesson_file_is_reported_and_changes_nothing(window, tmp_path: Path) -> None:  # noqa: ANN001
    reports = []
    window.report_error = lambda title, message, status=None: reports.append(message)
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(lesson_doc(steps=[{"text": "a", "target": "nope"}])), encoding="utf-8")
    before = dict(window.doc.graph.nodes)
    assert not window.lesson_dock.open_file(str(path))
    assert len(reports) == 1 and "step 1: field 'target': no node 'nope'" in reports[0]
    assert window.doc.graph.nodes == before and window.lesson_dock.isHidden()


def test_opening_another_document_ends_the_lesson(window) -> None:  # noqa: ANN001
    window.lesson_dock.open_lesson(load(LESSONS[0]))
    window.open_file(str(EXAMPLES / "03_vector_element.json"))
    assert window.lesson_dock.isHidden() and window.lesson_dock.lesson is None
    _says_no_lesson(window.lesson_dock)  # shown again from View > Lesson, it does not show the old step


def _says_no_lesson(dock) -> None:  # noqa: ANN001
    assert dock.title.text() == "No lesson open" and "File > Lessons" in dock.text.text()
    assert not dock.back_button.isEnabled() and not dock.next_button.isEnabled() and dock.counter.text() == ""


def test_the_lesson_dock_with_no_lesson_says_where_lessons_are(window) -> None:  # noqa: ANN001
    _says_no_lesson(window.lesson_dock)


def _left():  # noqa: ANN202
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_digits_written_as_the_texts_write_them() -> None:
    assert written(torch.tensor([[14.0, 22.0]])) == "[[14, 22]]"
    assert written(0.5) == "0.5" and written(0.000109232, 3) == "0.000109" and math.isclose(float(written(8.0)), 8)


def test_reaching_the_last_step_keeps_the_focus_in_the_lesson(qtbot, window) -> None:  # noqa: ANN001
    """Next, clicked on the last step, is disabled: Qt moved the focus to the next widget, the
    expression bar, where the student's next keys went. It goes to Back (and to Next at the first)."""
    lesson = load(LESSONS[0])
    dock = window.lesson_dock
    assert dock.open_lesson(lesson)
    window.activateWindow()
    dock.next_button.setFocus()
    qtbot.waitUntil(dock.next_button.hasFocus, timeout=2000)
    for _ in lesson.steps[1:]:
        qtbot.mouseClick(dock.next_button, _left())
    assert not dock.next_button.isEnabled() and dock.back_button.hasFocus()
    for _ in lesson.steps[1:]:
        qtbot.mouseClick(dock.back_button, _left())
    assert not dock.back_button.isEnabled() and dock.next_button.hasFocus()


def test_a_lesson_title_never_breaks_a_partial_after_its_slash(window) -> None:  # noqa: ANN001
    """Lesson 2's bold title wrapped as "… ∂/" and "∂x of sum(…)" on the next line: Unicode's
    line breaking allows a break after a slash. A word joiner there forbids it."""
    from PySide6.QtGui import QTextLayout, QTextOption

    from gui.lessons import WORD_JOINER

    lesson = load(LESSONS[1])
    dock = window.lesson_dock
    assert dock.open_lesson(lesson)
    shown_text = dock.title.text()
    assert shown_text.replace(WORD_JOINER, "") == lesson.title and "∂/" in lesson.title
    for width in range(120, 420, 7):
        layout = QTextLayout(shown_text, dock.title.font())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        layout.setTextOption(option)
        layout.beginLayout()
        ends = []
        while (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            ends.append(shown_text[line.textStart():line.textStart() + line.textLength()].rstrip())
        layout.endLayout()
        assert not any(e.rstrip(WORD_JOINER).endswith("/") for e in ends[:-1]), (width, ends)
