"""Review findings on files, saving and generated text: render never waits on a dialog, a saved
view always loads, a lesson's huge integer is refused in one line, canvas images and long file
names are written atomically (and modes without touching the umask), node ids are safe in a
notebook's Markdown, and a few messages (check's grad-output, JSON control characters, huge
init counts)."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from gradcanvas.cli import main as cli_main
from graph import atomicwrite, fileformat, lessons
from graph.errors import FileFormatError

ROOT = Path(__file__).resolve().parent.parent
EX01 = ROOT / "resources" / "examples" / "01_scalar_partial.json"
EX04 = ROOT / "resources" / "examples" / "04_small_mlp.json"


def _one_line(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message, message


# ---- 1. render: a graph over the memory limit is drawn uncomputed, no dialog ----


def _over_budget_file(tmp_path: Path) -> Path:
    """Leaves of 2**26 float64 zeros added up: terabytes, over any machine's default limit."""
    nodes = [{"id": f"z{i}", "op": "tensor", "init": {"fn": "zeros", "shape": [8192, 8192]},
              "dtype": "float64", "requires_grad": True} for i in range(400)]
    edges, acc = [], "z0"
    for i in range(1, 400):
        nodes.append({"id": f"a{i}", "op": "add"})
        edges += [{"from": acc, "to": f"a{i}", "port": "input"}, {"from": f"z{i}", "to": f"a{i}", "port": "other"}]
        acc = f"a{i}"
    nodes.append({"id": "s", "op": "sum"})
    edges.append({"from": acc, "to": "s", "port": "input"})
    path = tmp_path / "over.json"
    path.write_text(json.dumps({"format": "gradcanvas", "version": 2, "target": "s", "nodes": nodes,
                                "edges": edges}), encoding="utf-8")
    return path


@pytest.fixture
def no_dialogs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every modal message box asked for (answered No at once instead of waiting forever)."""
    asked: list[str] = []

    def record(kind: str):  # noqa: ANN202
        def answer(parent, title, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            asked.append(f"{kind}: {title}")
            return QMessageBox.StandardButton.No
        return answer

    for kind in ("warning", "question", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(record(kind)))
    return asked


def test_render_draws_a_graph_over_the_memory_limit_uncomputed_without_a_dialog(
        qtbot, tmp_path: Path, no_dialogs: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from PySide6.QtGui import QImage

    out = tmp_path / "over.png"
    assert cli_main(["render", str(_over_budget_file(tmp_path)), "-o", str(out), "--size", "800x600"]) == 0
    assert no_dialogs == []
    assert QImage(str(out)).size().toTuple() == (800, 600)
    captured = capsys.readouterr()
    assert captured.out == f"wrote {out} (800x600)\n"
    _one_line(captured.err.removesuffix("\n"))
    assert captured.err.startswith("note: not computed: this run needs about ")
    assert "over the memory limit" in captured.err and "--memory-limit" in captured.err


def test_render_takes_a_memory_limit(qtbot, tmp_path: Path, no_dialogs: list[str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path, out = tmp_path / "mb.json", tmp_path / "mb.png"
    path.write_text(json.dumps({  # 8 MB of leaf, as much again of partial
        "format": "gradcanvas", "version": 2, "target": "y", "edges": [{"from": "x", "to": "y", "port": "input"}],
        "nodes": [{"id": "x", "op": "tensor", "init": {"fn": "zeros", "shape": [1024, 1024]}, "dtype": "float64",
                   "requires_grad": True}, {"id": "y", "op": "sum"}]}), encoding="utf-8")
    assert cli_main(["render", str(path), "-o", str(out), "--memory-limit", "4M"]) == 0
    err = capsys.readouterr().err
    assert "over the memory limit 4.0 MB (the limit set); raise the limit with --memory-limit" in err
    assert cli_main(["render", str(path), "-o", str(out), "--memory-limit", "none"]) == 0
    assert capsys.readouterr().err == ""
    assert cli_main(["render", str(path), "-o", str(out), "--memory-limit", "lots"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --memory-limit") and err.count("\n") == 1
    assert no_dialogs == []


# ---- 2. a saved view always loads ----


def _view_keeper(window):  # noqa: ANN001, ANN202
    from gui.canvas.groups import _ViewKeeper

    return next(c for c in window.findChildren(QObject) if isinstance(c, _ViewKeeper))


@pytest.mark.parametrize("zoom", [3e-5, 4.99e-5, 1e-7, 123456.789, 5e6])
def test_the_view_the_window_keeps_loads_again(window, zoom: float) -> None:  # noqa: ANN001
    window.open_file(str(EX01))
    window.view.resetTransform()
    window.view.scale(zoom, zoom)
    _view_keeper(window).remember()
    saved = window.doc.graph.view[0]
    assert fileformat.ZOOM_RANGE[0] <= saved <= fileformat.ZOOM_RANGE[1]
    if fileformat.ZOOM_RANGE[0] <= zoom <= fileformat.ZOOM_RANGE[1]:
        assert saved == pytest.approx(zoom, rel=1e-4)  # five significant digits, not four decimals
    assert fileformat.loads(fileformat.dumps(window.doc.graph)).view == window.doc.graph.view


def _with_view(view: object) -> str:
    doc = json.loads(EX01.read_text(encoding="utf-8"))
    doc["view"] = view
    return json.dumps(doc)


@pytest.mark.parametrize(("zoom", "read"), [(0.0, 1e-6), (0, 1e-6), (-3, 1e-6), (2e-7, 1e-6), (1e7, 1e6),
                                            (10**400, 1e6), (0.5, 0.5)])
def test_a_zoom_out_of_range_is_read_as_the_nearest_end(zoom: float, read: float) -> None:
    """Older versions saved a zoom below 0.00005 as 0.0: such files open (the view is a
    setting; refusing the file over it would lose the graph)."""
    assert fileformat.loads(_with_view({"zoom": zoom, "center": [1.0, 2.0]})).view == (read, 1.0, 2.0)


@pytest.mark.parametrize("zoom", ["1", True, None, [1]])
def test_a_zoom_that_is_no_number_is_still_refused(zoom: object) -> None:
    with pytest.raises(FileFormatError, match="field 'view': zoom must be a number"):
        fileformat.loads(_with_view({"zoom": zoom, "center": [0, 0]}))


def test_a_zoom_of_1e400_is_refused_as_every_infinite_number_is() -> None:
    with pytest.raises(FileFormatError, match="zoom must be a number"):
        fileformat.loads(_with_view({"zoom": 1, "center": [0, 0]}).replace('"zoom": 1', '"zoom": 1e400'))


# ---- 3. a lesson's graph is checked as a graph file is ----


def _lesson(graph_text: str) -> str:
    return ('{"format": "gradcanvas-lesson", "version": 1, "title": "t", "graph": ' + graph_text
            + ', "steps": [{"text": "hi"}]}')


BIG_GRAPH = ('{"format": "gradcanvas", "version": 2, "target": "y", "nodes": [{"id": "x", "op": "tensor", '
             '"value": [' + "9" * 5000 + ', 1.0], "requires_grad": true}, {"id": "y", "op": "sum"}], '
             '"edges": [{"from": "x", "to": "y", "port": "input"}]}')


def test_a_lessons_huge_integer_is_refused_as_in_a_graph_file(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError) as as_graph:
        fileformat.loads(BIG_GRAPH)
    with pytest.raises(lessons.LessonError) as as_lesson:
        lessons.loads(_lesson(BIG_GRAPH))
    assert as_lesson.value.message == f"field 'graph': {as_graph.value.message}"
    assert list(as_lesson.value.node_ids) == ["x"] and "5,000 digits" in as_lesson.value.message
    path = tmp_path / "big.json"
    path.write_text(_lesson(BIG_GRAPH), encoding="utf-8")
    with pytest.raises(lessons.LessonError, match="big.json: field 'graph': node x"):
        lessons.load(path)


def test_a_lessons_graph_is_the_graph_file_loads_gives() -> None:
    text = EX04.read_text(encoding="utf-8")
    assert fileformat.dumps(lessons.loads(_lesson(text)).graph) == fileformat.dumps(fileformat.loads(text))


# ---- 4. canvas images are written atomically ----


@pytest.fixture
def file_size_limit():  # noqa: ANN201
    """Call with n: files may not grow past n bytes (as on a full disk) until the test ends."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails, EFBIG

    def limit(n: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, old_limit[1]))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
    signal.signal(signal.SIGXFSZ, old_handler)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_a_canvas_image_that_cannot_be_written_leaves_the_old_one(window, tmp_path: Path, suffix: str,  # noqa: ANN001
                                                                 file_size_limit) -> None:  # noqa: ANN001
    from gui.export_dialog import save_image

    path = tmp_path / f"canvas{suffix}"
    window.open_file(str(EX01))
    save_image(window.scene, str(path))
    old = path.read_bytes()
    window.open_file(str(EX04))  # more nodes: a bigger image
    file_size_limit(len(old))
    try:
        with pytest.raises(OSError):
            save_image(window.scene, str(path))
    finally:
        file_size_limit(resource.RLIM_INFINITY)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".canvas")] == []


def test_export_image_reports_a_failed_write_in_one_line(window, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
                                                         file_size_limit) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QFileDialog

    from gui import export_dialog

    path = tmp_path / "canvas.svg"
    window.open_file(str(EX04))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), "")))
    errors: list[str] = []
    monkeypatch.setattr(window, "report_error", lambda title, message, **kw: errors.append(message))
    file_size_limit(1000)
    try:
        export_dialog.export_image(window)
    finally:
        file_size_limit(resource.RLIM_INFINITY)
    assert len(errors) == 1 and errors[0].startswith(f"{path}: ")
    _one_line(errors[0])
    assert not path.exists()


# ---- 5. long file names, and modes without touching the umask ----


@pytest.mark.parametrize("length", [236, 241, 242, 250, 255])
def test_a_file_name_up_to_255_bytes_saves(tmp_path: Path, length: int) -> None:
    graph = fileformat.load(EX01)
    path = tmp_path / ("g" * (length - 5) + ".json")
    fileformat.save(graph, path)
    fileformat.save(graph, path)  # over an existing file too
    assert fileformat.load(path).nodes.keys() == graph.nodes.keys()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_long_multibyte_name_saves(tmp_path: Path) -> None:
    path = tmp_path / ("é" * 125 + ".json")  # 255 bytes in UTF-8
    atomicwrite.write_text_atomic(path, "x")
    assert path.read_text() == "x"


def test_stale_temporaries_of_a_long_name_are_removed(tmp_path: Path) -> None:
    path = tmp_path / ("g" * 250 + ".json")
    atomicwrite.write_text_atomic(path, "one")
    stale = tmp_path / f".{'g' * 241}.abcdefgh{atomicwrite.TEMP_SUFFIX}"  # as a killed write leaves one
    stale.write_text("half")
    os.utime(stale, (0, 0))
    atomicwrite.write_text_atomic(path, "two")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_writing_never_changes_the_process_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Autosave writes on a thread: setting the umask to 0, even for a moment, would give a
    file another thread creates then mode 0666."""
    umask = os.umask(0o027)
    try:
        def refuse(mask: int) -> int:
            raise AssertionError(f"os.umask({mask:o}) called while writing")

        monkeypatch.setattr(os, "umask", refuse)
        atomicwrite.write_bytes_atomic(tmp_path / "new.json", b"{}")
        assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o640
        (tmp_path / "old.json").write_bytes(b"")
        os.chmod(tmp_path / "old.json", 0o604)
        atomicwrite.write_bytes_atomic(tmp_path / "old.json", b"{}")
        assert stat.S_IMODE((tmp_path / "old.json").stat().st_mode) == 0o604  # its own mode kept
    finally:
        monkeypatch.undo()
        os.umask(umask)


# ---- 6. node ids in a notebook's Markdown ----

HOSTILE_IDS = ["<img src=x onerror=alert(1)>", "a`b", "``x``", "*bold*", "`", "a ", "[l](javascript:x)"]


def _outside_code_spans(text: str) -> str:
    """The Markdown text with its code spans (CommonMark: a run of n backticks up to the next
    run of exactly n) taken out."""
    out, i = [], 0
    while i < len(text):
        run = re.match(r"`+", text[i:])
        if run is None:
            out.append(text[i])
            i += 1
            continue
        fence = run.group()
        close = re.compile(rf"(?<!`){fence}(?!`)").search(text, i + len(fence))
        if close is None:
            out.append(fence)
            i += len(fence)
        else:
            i = close.end()
    return "".join(out)


@pytest.mark.parametrize("node_id", HOSTILE_IDS)
def test_node_ids_in_a_notebooks_markdown_are_code_spans(node_id: str) -> None:
    from autograd_bridge.notebook import _code_span, export_notebook

    graph = fileformat.loads(json.dumps({
        "format": "gradcanvas", "version": 2, "target": "y",
        "nodes": [{"id": node_id, "op": "tensor", "value": [1.0, 2.0], "requires_grad": True},
                  {"id": "y", "op": "sum"}],
        "edges": [{"from": node_id, "to": "y", "port": "input"}]}))
    cells = json.loads(export_notebook(graph, "y"))["cells"]
    markdown = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert _code_span(node_id) in markdown
    outside = _outside_code_spans(markdown)
    assert len(node_id.strip()) < 2 or node_id.strip() not in outside
    for piece in ("<", "*", "`", "]("):  # the values' "[1, 2]" are numbers from torch, not file text
        assert piece not in outside
    assert not re.search(r"(?<![\\\w])_(?=\w)", outside)  # the Python name "_bold_" starts no emphasis
    assert _outside_code_spans(_code_span(node_id)) == ""


@pytest.mark.parametrize(("name", "in_words"), [("_bold_", r"\_bold\_"), ("__x", r"\_\_x"), ("x_sq", "x_sq"),
                                                ("a_", r"a\_"), ("x", "x")])
def test_python_names_in_a_notebooks_words_start_no_emphasis(name: str, in_words: str) -> None:
    from autograd_bridge.notebook import _in_prose

    assert _in_prose(name) == in_words


@pytest.mark.parametrize("text", [*HOSTILE_IDS, " a ", "x"])
def test_a_code_span_shows_its_text_exactly(text: str) -> None:
    """CommonMark: the span's content is what lies between the fences, less one space each side
    when it begins and ends with one."""
    from autograd_bridge.notebook import _code_span

    span = _code_span(text)
    fence = re.match(r"`+", span).group()
    assert span.endswith(fence) and fence not in re.findall(r"`+", text)
    inner = span[len(fence):-len(fence)]
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip():
        inner = inner[1:-1]
    assert inner == text


# ---- 7. messages ----


def test_check_refuses_a_grad_output_that_does_not_fit_the_files_target(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"format": "gradcanvas", "version": 2, "target": "y", "grad_output": [1.0, 2.0],
                                "nodes": [{"id": "x", "op": "tensor", "value": [1.0, 2.0], "requires_grad": True},
                                          {"id": "y", "op": "sum"}],
                                "edges": [{"from": "x", "to": "y", "port": "input"}]}), encoding="utf-8")
    assert cli_main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err == "error: the file's grad-output has shape [2] but its target y has shape []\n"
    assert cli_main(["grad", str(path)]) == 1
    assert "grad-output has shape [2] but target y has shape []" in capsys.readouterr().err


def test_check_takes_a_grad_output_that_fits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads((ROOT / "resources" / "examples" / "03_vector_element.json").read_text(encoding="utf-8"))
    doc["target"], doc["grad_output"] = "y", [1, 0]
    path = tmp_path / "g.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert cli_main(["check", str(path)]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_a_raw_control_character_in_a_string_reads_once() -> None:
    with pytest.raises(FileFormatError) as e:
        fileformat.loads('{"format": "gradcanvas\x01"}')
    assert e.value.message == "not valid JSON: Invalid control character at line 1 column 23"


def test_an_arange_of_too_many_elements_says_so_briefly() -> None:
    doc = {"format": "gradcanvas", "version": 2,
           "nodes": [{"id": "x", "op": "tensor", "init": {"fn": "arange", "start": 0, "end": 1, "step": 1e-300}}],
           "edges": []}
    with pytest.raises(FileFormatError) as e:
        fileformat.loads(json.dumps(doc))
    assert e.value.message == ("node x: field 'init': init 'arange' from 0 to 1 by 1e-300 makes about 1e+300 "
                               "elements, more than the limit of 67,108,864")


def test_a_shape_of_too_many_elements_says_so_briefly() -> None:
    from graph.errors import ValueSpecError
    from graph.limits import check_size

    with pytest.raises(ValueSpecError) as e:
        check_size([2**31] * 8)
    assert e.value.message == ("shape [2147483648, 2147483648, 214…7483648] (96 characters) "
                               "has about 4.523e+74 elements, more than the limit of 67,108,864")


# ---- 7b: a target that carries no gradient gets one answer, whatever the grad-output ----

_NO_GRADIENT_TARGETS = {"format": "gradcanvas", "version": 2, "nodes": [
    {"id": "s", "op": "tensor", "value": 3.0, "requires_grad": True},
    {"id": "k", "op": "tensor", "value": [1, 2], "dtype": "int64"},
    {"id": "v", "op": "tensor", "value": [1.0, 5.0], "requires_grad": True},
    {"id": "cmp", "op": "gt"}, {"id": "m", "op": "mul"}],
    "edges": [{"from": "v", "to": "cmp", "port": "input"}, {"from": "s", "to": "cmp", "port": "other"},
              {"from": "s", "to": "m", "port": "input"}, {"from": "v", "to": "m", "port": "other"}]}


@pytest.mark.parametrize(("target", "dtype", "grad_output"), [("cmp", "bool", None), ("cmp", "bool", "[1, 1]"),
                                                              ("k", "int64", "[1, 1]")])
def test_a_bool_or_integer_target_is_told_to_choose_a_float_node(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                 target: str, dtype: str, grad_output: str) -> None:
    # It was told to give a grad-output, then that [1, 1] is not bool: no grad-output can work.
    path = tmp_path / "g.json"
    path.write_text(json.dumps(_NO_GRADIENT_TARGETS))
    argv = ["grad", str(path), "--target", target, *(["--grad-output", grad_output] if grad_output else [])]
    assert cli_main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"target {target} is a{'n' if dtype == 'int64' else ''} {dtype} result: no gradient flows "
                        "through it, whatever the grad-output (PyTorch refuses backward() on it); choose a float "
                        "node as target"), err


def test_a_notebooks_picture_of_a_graph_over_the_limit_says_why_its_numbers_are_missing(tmp_path: Path) -> None:
    from gradcanvas import api

    with pytest.warns(UserWarning, match=r"^not computed: .*memory"):
        png = api.render_png(fileformat.load(_over_budget_file(tmp_path)), (800, 600))
    assert png.data.startswith(b"\x89PNG")


def test_the_app_without_a_screen_says_why_a_graph_over_the_limit_has_no_numbers(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    import gui.app

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert gui.app._headless(str(_over_budget_file(tmp_path))) == 0  # noqa: SLF001 - the path a start without DISPLAY takes
    captured = capsys.readouterr()
    assert re.search(r"^note: not computed: .*memory", captured.err, re.MULTILINE), captured.err
    assert "Drew the window with" in captured.out
