"""The expression bar's language: lines such as `y = 2*x**2 + 3*z`, turned into nodes and edges.

Parsed with `ast` and walked node by node; nothing is ever evaluated. What is understood:
assignments `name = expression`, names, numbers, + − * / @ **, unary minus, and calls of
catalogue ops by their torch name with tensor arguments in port order and numbers, lists or
strings as keyword attributes (`sum(x, dim=1)`). A name already in the graph (or assigned on an
earlier line) is that node; an unknown name becomes a scalar tensor leaf (value 1.0, requires
grad), a number a literal leaf that does not. The assigned node is titled by its whole line
("y = 2*x**2 + 3*z": its partials read ∂y/∂x), the nodes inside it by their part ("2*x**2").
Anything else (imports, attribute access, calls outside the catalogue, subscripts…) is refused
in one line naming the part of the expression, as is a number beyond float32 or a name too long
for an id. The tree is walked with a stack of its own, not Python's recursion: a sum of 2,000
terms is a chain 2,000 deep; past what Python's parser takes (about 3,000) the line is refused.
The nodes are placed left to right, each beside the op it feeds, long lines wrapped (_places).
"""

from __future__ import annotations

import ast
import math
import re
import warnings
from dataclasses import dataclass, field

from graph.edits import NODE_W, box_height, new_node_id, unique_id
from graph.errors import GraphError
from graph.model import Edge, Graph, Node, check_node_id
from graph.ops import DEFAULT_DTYPE, OPS, TENSOR
from graph.ops.spec import VARIADIC_COUNT
from graph.values import DTYPE_MAX, fits_dtype

MAX_TEXT = 10_000  # characters the bar accepts at once
_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.MatMult: "matmul"}
COLUMN = NODE_W + 60.0  # planned nodes: the pitch of their columns
ROW_GAP = 20.0  # free space between rows of planned nodes
BAND_GAP = 100.0  # free space between the bands a long expression is wrapped into
MIN_BAND = 12  # columns: an expression this long or shorter stays in one band


class ExpressionError(GraphError):
    """An expression the bar cannot turn into nodes: one line naming the part at fault."""


@dataclass
class Plan:
    """What the text adds: new nodes with their places, and edges (some from existing nodes)."""

    nodes: list[tuple[Node, tuple[float, float]]] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _source_lines(text: str) -> list[bytes]:
    """The text's lines, as ast's positions count them (split at \\r\\n, \\n, \\r; UTF-8 bytes)."""
    return [line.encode() for line in re.split(r"\r\n|\r|\n", text)]


def _part(lines: list[bytes], node: ast.AST) -> str:
    """The source of a part of the tree, cut to 60 characters (ast.get_source_segment splits the
    whole text at each call: quadratic in a 2,000-term sum)."""
    if getattr(node, "end_lineno", None) is None:
        return type(node).__name__
    span = lines[node.lineno - 1:node.end_lineno]
    span[-1] = span[-1][:node.end_col_offset]  # the end first: on one line, the start moves it
    span[0] = span[0][node.col_offset:]
    text = b" ".join(line.strip() for line in span).decode()  # a part over lines reads on one
    return text if len(text) <= 60 else text[:59] + "…"


def _number(node: ast.AST) -> float | int | None:
    """The number a constant (or a negated one: -2; --2 is neg of -2) is, else None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return sign * node.value
    return None


def _new_name(name: str) -> str:
    """A name typed for a new node, as an id must be ("node id 'aaa…' is longer than 200 characters")."""
    try:
        return check_node_id(name)
    except GraphError as e:
        raise ExpressionError(e.message) from None


def _attr_value(node: ast.AST) -> object:
    """A keyword attribute's value: a literal (number, list of numbers, string, bool, None)."""
    return ast.literal_eval(node)  # literals only: never runs code


class _Planner:
    def __init__(self, graph: Graph, text: str) -> None:
        self.graph, self.lines = graph, _source_lines(text)
        self.plan = Plan()
        self.new: dict[str, Node] = {}
        # The names the lines assign: no node made for a part of a line may take one ("mul1 =
        # x*w*a" named its x*w mul1, then refused itself as "used on its own right side").
        self.reserved: set[str] = set()

    def taken(self) -> set[str]:
        return set(self.new) | self.reserved

    def add(self, node: Node, part: ast.AST) -> str:
        try:
            node.check()
        except GraphError as e:
            raise ExpressionError(f"{_part(self.lines, part)}: {e.message}") from None
        self.new[node.id] = node
        return node.id

    def leaf(self, name: str, part: ast.AST) -> str:
        if name in self.graph.nodes or name in self.new:
            return name
        return self.add(Node(_new_name(name), TENSOR, value=1.0, requires_grad=True), part)

    def constant(self, value: float | int, part: ast.AST) -> str:
        if not fits_dtype(value, DEFAULT_DTYPE):  # 1e39, 1e999 (inf), 400 digits
            raise ExpressionError(f"{_part(self.lines, part)} is beyond {DEFAULT_DTYPE}'s range "
                                  f"(±{DTYPE_MAX[DEFAULT_DTYPE]:.8g})")
        stem = "c" + str(value).replace("-", "m").replace(".", "_")
        node_id = unique_id(self.graph, stem, self.taken())
        return self.add(Node(node_id, TENSOR, value=float(value), label=str(value)), part)

    def op(self, op: str, inputs: dict[str, str], attrs: dict[str, object], part: ast.AST,
           node_id: str | None = None) -> str:
        label = _part(self.lines, part)
        if node_id is None:
            node_id = new_node_id(self.graph, op, self.taken())
        elif node_id in self.new:  # x = x*2 with no x before: the leaf x took the name
            raise ExpressionError(f"{node_id} = …: {node_id} is used on its own right side before it is "
                                  "assigned: give the result another name")
        else:  # the line's own node: titled "y = 2*x**2 + 3*z", as the lessons title theirs, so its
            label = f"{node_id} = {label}"  # partials read ∂y/∂x (graph.naming.formula_name)
        node = Node(node_id, op, attrs=attrs, label=label)
        self.add(node, part)
        for port, src in inputs.items():
            self.plan.edges.append(Edge(src, node_id, port))
        return node_id

    def expr(self, root: ast.AST, node_id: str | None = None) -> str:
        """The id of the node computing `root` (made if needed); node_id names the top one.

        Each part's inputs are built before it, left to right, as a recursive walk would, but
        on a list: a 2,000-term sum nests 2,000 deep, past Python's recursion limit."""
        made: dict[int, str] = {}  # id() of a part of the tree -> the node computing it
        todo: list[tuple[ast.AST, str | None, list[ast.AST] | None]] = [(root, node_id, None)]
        while todo:
            node, name, inputs = todo.pop()
            if inputs is None:  # first visit: its inputs go on top, then it comes back
                inputs = self.inputs(node)
                todo.append((node, name, inputs))
                passed = name if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd) else None
                todo.extend((part, passed, None) for part in reversed(inputs))
            else:
                made[id(node)] = self.build(node, name, [made[id(part)] for part in inputs])
        return made[id(root)]

    def inputs(self, node: ast.AST) -> list[ast.AST]:
        """The parts of `node` that are nodes of their own, feeding it; a part the bar does not
        build is refused here."""
        if _number(node) is not None or isinstance(node, ast.Name):
            return []
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return [node.left] if _number(node.right) is not None else [node.left, node.right]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return [node.operand]
        if isinstance(node, ast.Call):
            self.call(node)  # checked before its arguments are built
            return list(node.args)
        if isinstance(node, ast.Attribute):
            raise ExpressionError(f"{_part(self.lines, node)}: attribute access is not part of an "
                                  "expression (write the op's name: sin(x), not torch.sin(x))")
        raise ExpressionError(f"{_part(self.lines, node)}: not something the bar builds "
                              "(names, numbers, + - * / @ **, and catalogue ops are)")

    def build(self, node: ast.AST, node_id: str | None, inputs: list[str]) -> str:
        """The node computing `node`, whose inputs() are built as `inputs`."""
        number = _number(node)
        if number is not None:
            return self.constant(number, node)
        if isinstance(node, ast.Name):
            return self.leaf(node.id, node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = _number(node.right)
            if exponent is not None:  # x ** 2: the attribute
                return self.op("pow", {"input": inputs[0]}, {"exponent": exponent}, node, node_id)
            return self.op("pow", {"input": inputs[0], "exponent": inputs[1]}, {"exponent": None}, node, node_id)
        if isinstance(node, ast.BinOp):
            return self.op(_BINARY[type(node.op)], {"input": inputs[0], "other": inputs[1]}, {}, node, node_id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return self.op("neg", {"input": inputs[0]}, {}, node, node_id)
        if isinstance(node, ast.UnaryOp):  # +y is y, and takes the line's name if it is the top
            return inputs[0]
        name, attrs, ports = self.call(node)
        return self.op(name, dict(zip(ports, inputs, strict=False)), attrs, node, node_id)

    def call(self, node: ast.Call) -> tuple[str, dict[str, object], tuple[str, ...]]:
        """A call of a catalogue op, checked: its name, its attributes, and its ports."""
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"{_part(self.lines, node.func)}: call an op by its name (sin(x))")
        name = node.func.id
        spec = OPS.get(name)
        if spec is None:
            raise ExpressionError(f"{_part(self.lines, node)}: {name} is not an op of the catalogue")
        attrs: dict[str, object] = {}
        for kw in node.keywords:
            if kw.arg is None or spec.attr(kw.arg) is None:
                raise ExpressionError(f"{_part(self.lines, node)}: {name} has no attribute {kw.arg or '**'}")
            try:
                attrs[kw.arg] = _attr_value(kw.value)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                raise ExpressionError(f"{_part(self.lines, kw.value)}: an attribute must be a number, "
                                      "a list, a string, true/false or None") from None
        typed = attrs.get(VARIADIC_COUNT, len(node.args))
        for a in spec.attrs:  # a required attribute must be written on the node (Node.check)
            if a.required:
                attrs.setdefault(a.name, a.default)
        if spec.variadic:  # its port count is the tensors written: a count typed as well must agree
            if typed != len(node.args):
                raise ExpressionError(f"{_part(self.lines, node)}: {VARIADIC_COUNT}={typed!r} but {len(node.args)} "
                                      f"tensor(s) are given: leave {VARIADIC_COUNT} out, it is their count")
            least, most = spec.bounds(spec.attr(VARIADIC_COUNT))
            if not least <= len(node.args) <= most:
                raise ExpressionError(f"{_part(self.lines, node)}: {name} takes {least} to {most} tensors, "
                                      f"not {len(node.args)}")
            attrs[VARIADIC_COUNT] = len(node.args)
        ports = spec.ports(attrs)
        if len(node.args) > len(ports):
            raise ExpressionError(f"{_part(self.lines, node)}: {name} takes {len(ports)} tensor(s): "
                                  f"{', '.join(ports)}")
        return name, attrs, ports

    def line(self, stmt: ast.stmt) -> None:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            raise ExpressionError(f"{_part(self.lines, stmt)}: each line must be name = expression")
        target = stmt.targets[0].id
        if target in self.graph.nodes or target in self.new:
            raise ExpressionError(f"{target} = …: a node {target} already exists")
        _new_name(target)
        if self.expr(stmt.value, target) != target:  # y = x, y = 2, y = +x: no node of its own
            raise ExpressionError(f"{_part(self.lines, stmt)}: the right side must compute something")


def plan_expressions(graph: Graph, text: str, origin: tuple[float, float] = (0.0, 0.0)) -> Plan:
    """The nodes and edges that lines of `name = expression` add to graph (which is not changed).

    Raises ExpressionError (one line, naming the part of the text at fault).
    """
    if len(text) > MAX_TEXT:
        raise ExpressionError(f"the text is longer than {MAX_TEXT:,} characters")
    try:
        with warnings.catch_warnings():  # "x is 1", "\d": warnings written for programs, not the bar
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="exec")
    except (SyntaxError, ValueError) as e:  # ValueError: a null character, in some Pythons
        where = f"line {e.lineno}: " if getattr(e, "lineno", None) else ""
        raise ExpressionError(f"{where}not Python syntax ({getattr(e, 'msg', e)})") from None
    except (RecursionError, MemoryError):  # Python's parser gives up on a chain of thousands
        raise ExpressionError("too deeply nested for Python's parser (thousands of operators in one "
                              "chain): split it over lines, s = a+b+…; y = s + …") from None
    if not tree.body:
        raise ExpressionError("type an assignment, e.g. y = 2*x**2 + 3*z")
    planner = _Planner(graph, text)
    planner.reserved = {stmt.targets[0].id for stmt in tree.body
                        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)}
    for stmt in tree.body:
        planner.line(stmt)
    places = _places(list(planner.new.values()), planner.plan.edges)
    planner.plan.nodes = [(node, (origin[0] + places[node.id][0], origin[1] + places[node.id][1]))
                          for node in planner.new.values()]
    return planner.plan



def _places(nodes: list[Node], edges: list[Edge]) -> dict[str, tuple[float, float]]:
    """Where the planned nodes go, from (0, 0) at the top left: inputs left of what uses them,
    each node next to the op it feeds, so a sum of 1,000 terms is a strip two rows tall (the
    chain of adds, each term beside its add), wrapped into bands one below the other.

    - Columns: a node stands one column left of its first consumer; a node nothing here uses
      (a line's own node) stands as far right as its longest chain of inputs reaches.
    - Rows: from each such node down through its inputs in port order, each input on the row of
      the port it feeds, or the first free row below that in its column.
    - Bands: a line longer than MIN_BAND columns is cut into bands about as wide as the whole is
      tall; a node with no planned input goes into the band of what it feeds, so that a term
      stands beside its add, not at the far end of the band above.
    """
    order = [n.id for n in nodes]
    inputs: dict[str, list[str | None]] = {n: [] for n in order}  # per port; None: an existing node
    consumers: dict[str, list[str]] = {n: [] for n in order}
    for e in edges:
        placed = e.src in consumers
        inputs[e.dst].append(e.src if placed else None)
        if placed:
            consumers[e.src].append(e.dst)
    depth: dict[str, int] = {}
    for n in order:  # the planner makes inputs before what uses them
        depth[n] = 1 + max((depth[s] for s in inputs[n] if s is not None), default=-1)
    column: dict[str, int] = {}
    for n in reversed(order):
        column[n] = min(column[c] for c in consumers[n]) - 1 if consumers[n] else depth[n]
    row: dict[str, int] = {}
    taken: dict[int, set[int]] = {}  # column -> its rows in use
    for root in (n for n in order if not consumers[n]):
        todo = [(root, max(row.values(), default=-1) + 1)]  # each line below the ones before
        while todo:  # depth first, inputs in port order (a 1,000-term sum is 1,000 deep)
            n, want = todo.pop()
            if n in row:  # used twice (sin(x) * exp(x)): where its first consumer put it
                continue
            rows = taken.setdefault(column[n], set())
            while want in rows:
                want += 1
            row[n] = want
            rows.add(want)
            todo.extend((s, want + port) for port, s in reversed(list(enumerate(inputs[n]))) if s is not None)
    height = {n.id: box_height(n, preview=True) for n in nodes}
    columns = max(column.values()) + 1
    per_band = columns
    if columns > MIN_BAND:  # bands about as wide as the whole is tall
        band_h = (max(row.values()) + 1) * (max(height.values()) + ROW_GAP) + BAND_GAP
        per_band = max(MIN_BAND, math.ceil(math.sqrt(columns * band_h / COLUMN)))
        per_band = math.ceil((columns - 1) / math.ceil((columns - 1) / per_band))  # bands of even widths

    def band_of(n: str) -> int:
        """A band holds the ops of per_band columns and, in the column before each, what feeds
        it; a node with no planned input goes with its first consumer, so the bands line up."""
        fed = any(s is not None for s in inputs[n])
        beside = column[n] + 1 if consumers[n] and not fed else column[n]  # the op's column
        return max(0, beside - 1) // per_band

    band = {n: band_of(n) for n in order}
    row_h: dict[tuple[int, int], float] = {}  # (band, row) -> its tallest node
    for n in order:
        key = (band[n], row[n])
        row_h[key] = max(row_h.get(key, 0.0), height[n])
    top: dict[tuple[int, int], float] = {}  # rows a band does not use take no room in it
    y, last_band = 0.0, 0
    for key in sorted(row_h):
        if key[0] != last_band:
            y += BAND_GAP - ROW_GAP
        top[key], last_band = y, key[0]
        y += row_h[key] + ROW_GAP
    x = {n: (column[n] - band[n] * per_band) * COLUMN for n in order}
    left = min(x.values())
    return {n: (x[n] - left, top[band[n], row[n]]) for n in order}
