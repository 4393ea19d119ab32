"""Lesson files: a graph and the steps that walk a learner through it. See docs/lessons.md.

    {"format": "gradcanvas-lesson", "version": 1, "title": "…",
     "graph": {…a graph in the file format…},
     "steps": [{"text": "…", "target": "y", "select": "x"}, …]}

Loaded as strictly as graphs: the whole text is read with graph.fileformat's JSON rules (NaN and
Infinity refused, a key twice refused), the graph by the graph loader's own checks
(graph.fileformat.from_document) and then checked (no cycle, every input fed), and every step
field checked: unknown keys, wrong types, ids not in the graph and over-long texts are refused
with one message naming the step and field. A target that is not a scalar may come without a
grad-output: graph/ knows no op's output shape, and the app asks the learner for one
(docs/lessons.md, "A target that is not a scalar").
Texts are shown through graph.safetext.visible (gui/lessons.py), as every text from a file is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from graph import fileformat
from graph.errors import FileFormatError, GraphError
from graph.model import Graph
from graph.values import _short

FORMAT = "gradcanvas-lesson"
VERSION = 1
MAX_LESSON_BYTES = 16 * 2**20  # a lesson's graph is small: a teaching example, not a model
MAX_STEPS = 200
MAX_TEXT = 2000  # characters in one step: a paragraph or two beside the canvas
MAX_TITLE = 120

_TOP_FIELDS = ("format", "version", "graph", "steps")
_OPTIONAL_TOP_FIELDS = ("title",)
_STEP_FIELDS = ("text", "target", "select")


class LessonError(FileFormatError):
    """A file that is not a valid lesson."""


@dataclass(frozen=True)
class Step:
    text: str
    target: str | None = None  # the node this step makes the target
    select: str | None = None  # the node this step selects (the inspector shows it)


@dataclass
class Lesson:
    title: str
    graph: Graph
    steps: list[Step]


def loads(text: str, name: str = "lesson") -> Lesson:
    """Parse and check a lesson's text; the first problem raises LessonError. name: the title
    when the file gives none (load passes the file's name)."""
    try:
        doc = fileformat.strict_json(text)
    except FileFormatError as e:
        raise LessonError(e.message) from None
    if not isinstance(doc, dict):
        raise LessonError("a lesson is a JSON object with format, version, graph, steps")
    for key in doc:
        if key not in (*_TOP_FIELDS, *_OPTIONAL_TOP_FIELDS):
            raise LessonError(f"the lesson: unknown field {_short(key)}")
    for key in _TOP_FIELDS:
        if key not in doc:
            raise LessonError(f"the lesson: missing field '{key}'")
    if doc["format"] != FORMAT:
        raise LessonError(f"field 'format' must be \"{FORMAT}\", not {_short(doc['format'])}")
    version = doc["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise LessonError(f"field 'version' must be a positive integer, not {_short(version)}")
    if version > VERSION:
        raise LessonError(f"this lesson is version {_short(version)}; this GradCanvas reads up to version {VERSION}")
    title = doc.get("title", name)
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise LessonError(f"field 'title' must be text of 1 to {MAX_TITLE} characters, not {_short(title)}")
    graph = _graph(doc["graph"])
    steps = doc["steps"]
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise LessonError(f"field 'steps' must be a list of 1 to {MAX_STEPS} steps, not {_short(steps)}")
    return Lesson(title, graph, [_step(raw, i + 1, graph) for i, raw in enumerate(steps)])


def _graph(raw: object) -> Graph:
    """The lesson's graph, by the graph file loader itself, then checked as a graph to run."""
    if not isinstance(raw, dict):
        raise LessonError(f"field 'graph' must be a graph object (the file format), not {_short(raw)}")
    try:
        graph = fileformat.from_document(raw)
        if not graph.nodes:
            raise LessonError("the graph has no nodes")
        graph.validate()
    except GraphError as e:
        raise LessonError(f"field 'graph': {e.message}", e.node_ids, e.field) from None
    return graph


def _step(raw: object, number: int, graph: Graph) -> Step:
    where = f"step {number}"
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: must be an object with text (and target, select), not {_short(raw)}")
    for key in raw:
        if key not in _STEP_FIELDS:
            raise LessonError(f"{where}: unknown field {_short(key)} (a step has {', '.join(_STEP_FIELDS)})")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise LessonError(f"{where}: field 'text' must be non-empty text, not {_short(text)}")
    if len(text) > MAX_TEXT:
        raise LessonError(f"{where}: field 'text' is {len(text):,} characters; at most {MAX_TEXT:,}")
    ids = {}
    for key in ("target", "select"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or value not in graph.nodes):
            raise LessonError(f"{where}: field '{key}': no node {_short(value)} in the lesson's graph")
        ids[key] = value
    return Step(text, **ids)


def load(path: str | os.PathLike) -> Lesson:
    """Read a lesson file: only a regular file of at most MAX_LESSON_BYTES, in UTF-8, as the
    graph loader reads (graph.fileformat.load); errors name the file."""
    try:
        text = fileformat.read_text(path, MAX_LESSON_BYTES, "the most a lesson may be")
    except FileFormatError as e:
        raise LessonError(e.message) from None
    name = os.path.splitext(os.path.basename(path))[0].split("_", 1)[-1].replace("_", " ")
    try:
        return loads(text, name[:MAX_TITLE] or "lesson")
    except LessonError as e:
        raise LessonError(f"{path}: {e.message}", e.node_ids, e.field) from None
