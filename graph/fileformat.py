"""File format v2 (and v1, read forever): strict JSON in, canonical JSON out. See
docs/file-format.md.
(~545 lines, one piece: reading and writing one format keep each field's rule in one place.)

Loading never evaluates anything: the text is parsed as JSON (NaN and Infinity refused) and
every field is checked; the first problem is reported in one message naming the node or edge
and the field. Saving writes a canonical text (one node or edge per line) to a temporary file
and renames it over the target, so a file is never half-written and load → save is byte-stable.

Version 2 adds the graph's seed, the view, and groups; a version-1 file is the same graph with
seed 0, no view and no groups, so migrating it is reading it (it is saved as version 2).
"""

from __future__ import annotations

import json
import os
import re
import stat

from graph.atomicwrite import (  # noqa: F401 - re-exported
    STALE_TEMP_S,
    TEMP_SUFFIX,
    same_file,
    write_bytes_atomic,
    write_text_atomic,
)
from graph.bulk import paused_gc
from graph.errors import FileFormatError, ValueSpecError
from graph.groups import MAX_GROUPS, Group, check_groups
from graph.limits import is_int, is_number
from graph.model import MAX_ID_LENGTH, Edge, Graph, Node, check_label, check_node_id, check_position  # noqa: F401 - MAX_ID_LENGTH: a limit of the format
from graph.ops import DEFAULT_DTYPE, OPS, TENSOR
from graph.safetext import visible
from graph.values import _short, json_int, literal_shape

FORMAT = "gradcanvas"
VERSION = 2  # what this GradCanvas writes; it reads every version from 1 up to this
# A guard against reading without end (/dev/zero, a huge file): no graph this app can run needs
# more text than this, and MAX_ELEMENTS numbers fit in it.
MAX_FILE_BYTES = 256 * 2**20

_TOP_FIELDS = ("format", "version", "nodes", "edges")
_OPTIONAL_TOP_FIELDS = ("target", "grad_output")  # what was being differentiated when saved
_V2_TOP_FIELDS = ("seed", "view", "groups")  # new in version 2, all optional
_GROUP_FIELDS = ("id", "label", "parent", "collapsed", "members")
MAX_SEED = 2**63 - 1
ZOOM_RANGE = (1e-6, 1e6)
_COMMON_FIELDS = ("id", "op", "pos", "label")
_TENSOR_FIELDS = (*_COMMON_FIELDS, "value", "init", "requires_grad", "dtype")
_OP_FIELDS = (*_COMMON_FIELDS, "attrs")
_EDGE_FIELDS = ("from", "to", "port")
_TENSOR_FIELD_SET, _OP_FIELD_SET = frozenset(_TENSOR_FIELDS), frozenset(_OP_FIELDS)


def _refuse_constant(name: str) -> None:
    raise FileFormatError(f"{name} is not allowed in a GradCanvas file: only finite numbers")


class _Duplicated(dict):
    """A JSON object in which a key appears twice; `key` is the first such key.

    JSON parsers keep the last value silently; the loader refuses the file instead, naming the
    node where it can (the check happens where the object is read, see _refuse_duplicate).
    """

    key: str = ""


def _object(pairs: list[tuple[str, object]]) -> dict:
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    seen: set[str] = set()
    dup = _Duplicated(pairs)
    dup.key = next(k for k, _v in pairs if k in seen or seen.add(k))
    return dup


def _refuse_duplicate(obj: object, where: str, ids: tuple[str, ...] = ()) -> None:
    if isinstance(obj, _Duplicated):
        raise FileFormatError(f"{where}: the key {_short(obj.key)} appears twice", ids)


def _decoded(text: str, parse_constant, object_pairs_hook) -> object:  # noqa: ANN001 - json.loads' hooks
    """json.loads, its errors as one line each (FileFormatError)."""
    try:
        return json.loads(text, parse_constant=parse_constant, object_pairs_hook=object_pairs_hook)
    except FileFormatError:
        raise
    except json.JSONDecodeError as e:
        what = e.msg.removesuffix(" at")  # "Invalid control character at": json's, not ours
        raise FileFormatError(f"not valid JSON: {what} at line {e.lineno} column {e.colno}") from None
    except ValueError as e:
        if "integer string conversion" in str(e):  # an integer of thousands of digits, somewhere:
            # decoded again keeping it as a LongInt marker, which the check that meets it refuses
            # naming its node and field (a parse_int hook on every load would slow big int lists).
            return json.loads(text, parse_constant=parse_constant, object_pairs_hook=object_pairs_hook,
                              parse_int=json_int)
        raise FileFormatError(f"not valid JSON: {str(e).splitlines()[0][:150]}") from None
    except RecursionError:
        raise FileFormatError("not valid JSON: nested too deeply") from None


def strict_json(text: str) -> object:
    """The JSON of a file the app reads besides graphs (lessons): NaN and Infinity refused, and a
    key that appears twice in one object refused, naming it. The graph loader checks the same
    where it reads each object, to name the node."""
    doc = _decoded(text, _refuse_constant, _object)
    dup = _find_duplicate(doc)
    if dup is not None:
        raise FileFormatError(f"the key {_short(dup.key)} appears twice in one object")
    return doc


def read_text(path: str | os.PathLike, max_bytes: int | None = None,
              limit_is: str = "the most GradCanvas reads") -> str:
    """A file's text: only a regular file of at most max_bytes (default MAX_FILE_BYTES, read at
    the call), in UTF-8. A device (/dev/zero), a pipe or a folder is refused before reading
    (opening a FIFO would wait for a writer), and never more than the limit plus one byte is
    read. Errors name the path."""
    max_bytes = MAX_FILE_BYTES if max_bytes is None else max_bytes
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise FileFormatError(f"{path}: cannot read: it is a folder, not a regular file")
        if not stat.S_ISREG(mode):
            raise FileFormatError(f"{path}: cannot read: not a regular file (a device, pipe or socket)")
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise FileFormatError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise FileFormatError(f"{path}: the file is larger than {max_bytes // 2**20} MiB, {limit_is}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileFormatError(f"{path}: not a UTF-8 text file") from None


def _find_duplicate(doc: object) -> _Duplicated | None:
    """The first object with a repeated key anywhere in doc, walking without recursion."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, _Duplicated):
            return item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


# A JSON string literal, so that what is left of the text holds every ':' that separates a key
# from its value, and only those.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


@paused_gc
def loads(text: str) -> Graph:
    """Parse and check a file's text; the first problem raises FileFormatError.

    A file is first read with the plain (C) JSON decoder, which keeps the last value of a key
    that appears twice. The keys the loader took are counted; if that is every key of the text
    (the ':' outside strings), no key appeared twice. Otherwise, or on any problem, the text is
    read again, carefully (every object checked for a repeated key where it is read), so a
    refused file is named exactly as before: the fast path only ever accepts.
    """
    try:
        graph, keys = _parse(text, careful=False)
        # Every key taken has its own ':' outside strings, so when the text holds no more ':'
        # at all, none was dropped (the common file: no ':' in a label), without the regex pass.
        if keys == text.count(":") or keys == _STRING.sub("", text).count(":"):
            return graph
    except LessonNotGraphError:
        raise  # read as data already: reading it carefully would say the same
    except FileFormatError:
        pass
    return _parse(text, careful=True)[0]


@paused_gc
def from_document(doc: object) -> Graph:
    """A graph from JSON that strict_json decoded (a lesson's graph), checked as loads checks a
    file's text: its numbers, even integers too long for Python's int, are refused as there."""
    return _checked(doc, careful=True, constants=[])[0]


def _parse(text: str, careful: bool) -> tuple[Graph, int]:
    """The graph, and how many keys the loader took from objects (for loads' count)."""
    # NaN / Infinity parse to floats so that the field check refusing them (as it must refuse
    # 1e400, which JSON parses to inf) names the node and field; any left over is refused below.
    constants: list[str] = []

    def constant(name: str) -> float:
        constants.append(name)
        return float(name)

    doc = _decoded(text, constant, _object if careful else None)
    if isinstance(doc, dict) and doc.get("format") == _lesson_format():
        raise LessonNotGraphError(lesson_not_graph("this"))  # before its fields: 'title' is a lesson's
    return _checked(doc, careful, constants)


class LessonNotGraphError(FileFormatError):
    """A lesson file (graph/lessons.py) given where a graph is wanted: the commands, Paste."""


def _lesson_format() -> str:
    from graph.lessons import FORMAT  # here: graph.lessons reads its graph with this module

    return FORMAT


def lesson_not_graph(name: str) -> str:
    """What a lesson given as a graph is told: where it opens (the app's menu, as it is written)
    and where its graph is."""
    return (f"{name} is a lesson (format \"{_lesson_format()}\"), not a graph: open it in the app (File > "
            "Lessons > Open lesson file…); the graph it teaches is its \"graph\" field, which File > Save As… "
            "there writes as a graph file")


def _checked(doc: object, careful: bool, constants: list[str]) -> tuple[Graph, int]:
    """The graph of a decoded file, every field checked; careful: objects may be _Duplicated."""
    if not isinstance(doc, dict):
        raise FileFormatError("a GradCanvas file is a JSON object with format, version, nodes, edges")
    _refuse_duplicate(doc, "the file")
    _check_fields(doc, (*_TOP_FIELDS, *_OPTIONAL_TOP_FIELDS, *_V2_TOP_FIELDS), "the file")
    for key in _TOP_FIELDS:
        if key not in doc:
            raise FileFormatError(f"the file: missing field '{key}'")
    if doc["format"] != FORMAT:
        raise FileFormatError(f"field 'format' must be \"{FORMAT}\", not {_short(doc['format'])}")
    version = doc["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FileFormatError(f"field 'version' must be a positive integer, not {_short(version)}")
    if version > VERSION:
        raise FileFormatError(f"this file is format version {_short(version)}; this GradCanvas reads "
                              f"version 1 up to version {VERSION}: update GradCanvas")
    for key in _V2_TOP_FIELDS:
        if version < 2 and key in doc:
            raise FileFormatError(f"the file: field '{key}' is new in format version 2; this file says version 1")
    for key in ("nodes", "edges"):
        if not isinstance(doc[key], list):
            raise FileFormatError(f"field '{key}' must be a list, not {type(doc[key]).__name__}")

    graph = Graph()
    keys = len(doc)
    for i, raw in enumerate(doc["nodes"]):
        node, pos = _load_node(raw, i)
        if node.id in graph.nodes:
            raise FileFormatError(f"node {visible(node.id)}: duplicate id (field 'id')", [node.id], "id")
        graph.add_node(node, pos=pos)
        keys += len(raw) + len(node.attrs) + len(node.init or ())
    fed: dict[tuple[str, str], str] = {}  # (node, port) -> source, to refuse a port fed twice
    for i, raw in enumerate(doc["edges"]):
        edge = _load_edge(raw, i, graph, fed)
        fed[edge.dst, edge.port] = edge.src
        graph.add_edge(edge)
        keys += len(raw)
    _load_target(doc, graph)
    keys += _load_v2(doc, graph)
    if constants:
        _refuse_constant(constants[0])
    if careful:
        dup = _find_duplicate(doc)  # every place an object is allowed was checked; this is a backstop
        if dup is not None:
            raise FileFormatError(f"the key {_short(dup.key)} appears twice in one object")
    return graph, keys


def _load_target(doc: dict, graph: Graph) -> None:
    """The optional target (a node id) and the grad-output given for it (a tensor literal)."""
    if "target" in doc:
        target = doc["target"]
        if not isinstance(target, str) or target not in graph.nodes:
            raise FileFormatError(f"field 'target': no node {_short(target)} in this file")
        graph.target = target
    if "grad_output" in doc:
        if graph.target is None:
            raise FileFormatError("field 'grad_output' needs a field 'target' beside it")
        try:
            literal_shape(doc["grad_output"])
        except ValueSpecError as e:
            raise FileFormatError(f"field 'grad_output': {e.message}", [graph.target]) from None
        graph.grad_output = doc["grad_output"]


def _load_v2(doc: dict, graph: Graph) -> int:
    """The seed, the view and the groups (absent in version 1: seed 0, no view, no groups).
    Returns how many keys were read (for loads' count)."""
    keys = 0
    if "seed" in doc:
        seed = doc["seed"]
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
            raise FileFormatError(f"field 'seed' must be an integer from 0 to 2**63-1, not {_short(seed)}")
        graph.seed = seed
    if "view" in doc:
        view = doc["view"]
        _refuse_duplicate(view, "field 'view'")
        if not isinstance(view, dict) or set(view) != {"zoom", "center"}:
            raise FileFormatError("field 'view' must be {\"zoom\": z, \"center\": [x, y]}")
        zoom = view["zoom"]
        if not (is_int(zoom) or is_number(zoom)):  # any integer, a finite float
            raise FileFormatError(f"field 'view': zoom must be a number, not {_short(zoom)}")
        # Out of range, the nearest end: the view is a setting, never worth refusing a graph over
        # (earlier versions saved a view zoomed far out as 0.0).
        zoom = min(max(zoom, ZOOM_RANGE[0]), ZOOM_RANGE[1])
        try:
            x, y = check_position(view["center"])
        except ValueSpecError:
            raise FileFormatError("field 'view': center must be [x, y] with two finite numbers") from None
        graph.view = (zoom, x, y)
        keys += 2
    if "groups" in doc:
        raw_groups = doc["groups"]
        if not isinstance(raw_groups, list):
            raise FileFormatError(f"field 'groups' must be a list, not {type(raw_groups).__name__}")
        if len(raw_groups) > MAX_GROUPS:
            raise FileFormatError(f"field 'groups': {len(raw_groups):,} groups; at most {MAX_GROUPS:,} are allowed")
        for i, raw in enumerate(raw_groups):
            _load_group(raw, i, graph)
            keys += len(raw)
        try:
            check_groups(graph)  # parents exist, no cycle, not too deep
        except ValueSpecError as e:
            raise FileFormatError(visible(e.message)) from None
    return keys


def _load_group(raw: object, index: int, graph: Graph) -> None:
    if not isinstance(raw, dict):
        raise FileFormatError(f"group #{index}: must be an object")
    try:
        group_id = check_node_id(raw.get("id"))  # group ids follow the rule for node ids
    except ValueSpecError as e:
        message = e.message.replace("node id", "group id")
        raise FileFormatError(f"group #{index}: field 'id': {visible(message)}") from None
    where = f"group {_clip(group_id)}"
    _refuse_duplicate(raw, where)
    _check_fields(raw, _GROUP_FIELDS, where)
    if group_id in graph.groups:
        raise FileFormatError(f"{where}: duplicate id (field 'id')")
    try:
        label = check_label(raw.get("label"))
    except ValueSpecError as e:
        raise FileFormatError(f"{where}: field 'label': {e.message}") from None
    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise FileFormatError(f"{where}: field 'parent' must be a group id, not {_short(parent)}")
    collapsed = raw.get("collapsed", False)
    if not isinstance(collapsed, bool):
        raise FileFormatError(f"{where}: field 'collapsed' must be true or false")
    members = raw.get("members")
    if not isinstance(members, list):
        raise FileFormatError(f"{where}: field 'members' must be a list of node ids")
    for n in members:
        if not isinstance(n, str) or n not in graph.nodes:
            raise FileFormatError(f"{where}: field 'members': no node {visible(_short(n))}")
        if n in graph.group_of:  # one group per node: its innermost (nesting gives the rest)
            raise FileFormatError(f"{where}: field 'members': node {_clip(n)} is already in group "
                                  f"{_clip(graph.group_of[n])}", [n])
        graph.group_of[n] = group_id
    graph.groups[group_id] = Group(group_id, label, parent, collapsed)


def _check_fields(raw: dict, allowed: tuple[str, ...], where: str, ids: tuple[str, ...] = ()) -> None:
    for key in raw:
        if key not in allowed:
            raise FileFormatError(f"{where}: unknown field {_short(key)}", ids)


def _load_node(raw: object, index: int) -> tuple[Node, tuple[float, float] | None]:
    if not isinstance(raw, dict):
        raise FileFormatError(f"node #{index}: must be an object")
    if "id" not in raw:
        raise FileFormatError(f"node #{index}: missing field 'id'")
    if isinstance(raw, _Duplicated) and raw.key == "id":
        _refuse_duplicate(raw, f"node #{index}")
    try:
        node_id = check_node_id(raw["id"])
    except ValueSpecError as e:
        raise FileFormatError(f"node #{index}: field 'id': {e.message}") from None
    ids = (node_id,)
    if _Duplicated in (type(raw), type(raw.get("attrs")), type(raw.get("init"))):
        shown = visible(node_id)  # the messages' words are made only for a file they refuse
        _refuse_duplicate(raw, f"node {shown}", ids)
        for key in ("attrs", "init"):
            _refuse_duplicate(raw.get(key), f"node {shown}: field '{key}'", ids)
    op = raw.get("op")
    if "op" not in raw:
        raise _node_error(node_id, "missing field 'op'")
    if not isinstance(op, str) or (op != TENSOR and op not in OPS):
        raise _node_error(node_id, f"field 'op': unknown op {_short(op)}")
    if not raw.keys() <= (_TENSOR_FIELD_SET if op == TENSOR else _OP_FIELD_SET):
        _check_fields(raw, _TENSOR_FIELDS if op == TENSOR else _OP_FIELDS, f"node {visible(node_id)}", ids)
    pos = None
    if "pos" in raw:
        try:
            pos = check_position(raw["pos"])
        except ValueSpecError as e:
            raise _node_error(node_id, f"field 'pos': {e.message}") from None
    if op == TENSOR:
        if ("value" in raw) == ("init" in raw):
            raise _node_error(node_id, "a tensor node needs exactly one of the fields 'value' or 'init'")
        node = Node(node_id, op, value=raw.get("value"), init=raw.get("init"),
                    requires_grad=raw.get("requires_grad", False), dtype=raw.get("dtype", DEFAULT_DTYPE),
                    label=raw.get("label"))
    else:
        attrs = raw.get("attrs", {})
        if not isinstance(attrs, dict):
            raise _node_error(node_id, "field 'attrs' must be an object")
        node = Node(node_id, op, attrs=dict(attrs), label=raw.get("label"))
    try:
        node.check()  # every field rule lives in Node.check; the loader only names the field
    except ValueSpecError as e:
        raise _node_error(node_id, f"field '{e.field}': {e.message.removeprefix(node_id + ': ')}", e.field) from None
    return node, pos


def _node_error(node_id: str, msg: str, field: str | None = None) -> FileFormatError:
    # the id is text from the file, shown escaped (graph.safetext): it may hold bidi or C1 characters
    return FileFormatError(f"node {visible(node_id)}: {visible(msg)}", (node_id,), field)


def _load_edge(raw: object, index: int, graph: Graph, fed: dict[tuple[str, str], str]) -> Edge:
    if not isinstance(raw, dict):
        raise FileFormatError(f"edge #{index}: must be an object")
    _refuse_duplicate(raw, f"edge #{index}")
    src, dst, port = raw.get("from"), raw.get("to"), raw.get("port")
    if len(raw) != 3 or not (isinstance(src, str) and isinstance(dst, str) and isinstance(port, str)):
        _check_fields(raw, _EDGE_FIELDS, f"edge #{index}")
        for key in _EDGE_FIELDS:
            if key not in raw:
                raise FileFormatError(f"edge #{index}: missing field '{key}'")
            if not isinstance(raw[key], str):
                raise FileFormatError(f"edge #{index}: field '{key}' must be a string")
    nodes = graph.nodes
    if src not in nodes or dst not in nodes or (dst, port) in fed or port not in _ports(nodes[dst]):
        _refuse_edge(index, src, dst, port, graph, fed)
    return Edge(src, dst, port)


def _ports(node: Node) -> tuple[str, ...]:
    return node.ports  # a variadic node's (cat's tensors.0, …) are its own


def _refuse_edge(index: int, src: str, dst: str, port: str, graph: Graph,
                 fed: dict[tuple[str, str], str]) -> None:
    """Why an edge with three string fields cannot be added (the message names it)."""
    where = f"edge #{index} ({_clip(src)} → {_clip(dst)}.{_clip(port)})"
    for key, node_id in (("from", src), ("to", dst)):
        if node_id not in graph.nodes:
            raise FileFormatError(f"{where}: field '{key}': no node {_short(node_id)}",
                                  [n for n in (src, dst) if n in graph.nodes])
    node = graph.nodes[dst]
    if node.is_tensor or port not in node.ports:
        ports = "none, it is a tensor" if node.is_tensor else ", ".join(node.ports)
        raise FileFormatError(f"{where}: field 'port': {_clip(dst)} has no input port "
                              f"{_short(port)} (its ports: {ports})", [dst])
    first = fed[dst, port]
    raise FileFormatError(f"{where}: field 'port': {_clip(dst)}.{_clip(port)} is already fed by {_clip(first)}",
                          [dst, first, src])


def _clip(text: str, width: int = 60) -> str:
    """Text (an id from the file) cut to about `width` characters for a message, escaped
    (graph.safetext): a port or id may hold line breaks, controls or bidi characters."""
    return visible(text if len(text) <= width else text[:width - 1] + "…")


def load(path: str | os.PathLike) -> Graph:
    """Read and parse a file (read_text: a regular UTF-8 file of at most MAX_FILE_BYTES)."""
    text = read_text(path)
    try:
        return loads(text)
    except LessonNotGraphError:
        raise LessonNotGraphError(lesson_not_graph(str(path))) from None
    except FileFormatError as e:  # name the file, as the read errors above do
        raise FileFormatError(f"{path}: {e.message}", e.node_ids, e.field) from None


def node_to_dict(node: Node, pos: tuple[float, float] | None = None) -> dict:
    d: dict = {"id": node.id, "op": node.op}
    if node.label is not None:
        d["label"] = node.label
    if node.is_tensor:
        if node.init is not None:
            d["init"] = node.init
        else:
            d["value"] = node.value
        if node.requires_grad:
            d["requires_grad"] = True
        if node.dtype != DEFAULT_DTYPE:
            d["dtype"] = node.dtype
    elif node.attrs:
        d["attrs"] = node.attrs
    if pos is not None:
        d["pos"] = list(pos)
    return d


def edge_to_dict(edge: Edge) -> dict:
    return {"from": edge.src, "to": edge.dst, "port": edge.port}


def group_to_dict(graph: Graph, group: Group, members: list[str]) -> dict:
    d: dict = {"id": group.id}
    if group.label is not None:
        d["label"] = group.label
    if group.parent is not None:
        d["parent"] = group.parent
    if group.collapsed:
        d["collapsed"] = True
    d["members"] = members
    return d


def dumps(graph: Graph) -> str:
    """The canonical text (version 2): one node, edge or group per line, so files diff well."""
    def line(d: dict) -> str:
        return "    " + json.dumps(d, ensure_ascii=False, allow_nan=False)

    def block(items: list[dict]) -> str:
        return "[\n" + ",\n".join(line(d) for d in items) + "\n  ]" if items else "[]"

    run = ""
    if graph.target is not None and graph.target in graph.nodes:
        run = f'  "target": {json.dumps(graph.target, ensure_ascii=False)},\n'
        if graph.grad_output is not None:
            run += f'  "grad_output": {json.dumps(graph.grad_output, allow_nan=False)},\n'
    if graph.view is not None:
        zoom, x, y = graph.view
        run += f'  "view": {json.dumps({"zoom": zoom, "center": [x, y]}, allow_nan=False)},\n'
    members: dict[str, list[str]] = {g: [] for g in graph.groups}
    for n in graph.nodes:  # in node order, so the text is the same whichever order they joined
        if n in graph.group_of:
            members[graph.group_of[n]].append(n)
    groups = [group_to_dict(graph, g, members[g.id]) for g in graph.groups.values()]
    return (f'{{\n  "format": "{FORMAT}",\n  "version": {VERSION},\n  "seed": {int(graph.seed)},\n{run}'
            f'  "nodes": {block([node_to_dict(n, graph.layout.get(n.id)) for n in graph.nodes.values()])},\n'
            f'  "edges": {block([edge_to_dict(e) for e in graph.edges])},\n'
            f'  "groups": {block(groups)}\n}}\n')


def save(graph: Graph, path: str | os.PathLike) -> None:
    write_text_atomic(path, dumps(graph))
