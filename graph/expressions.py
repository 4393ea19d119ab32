"""The expression bar's language: lines such as `y = 2*x**2 + 3*z`, turned into nodes and edges.

Parsed with `ast` and walked node by node; nothing is ever evaluated. What is understood:
assignments `name = expression`, names, numbers, + − * / @ **, unary minus, and calls of
catalogue ops by their torch name with tensor arguments in port order and numbers, lists or
strings as keyword attributes (`sum(x, dim=1)`). A name already in the graph (or assigned on an
earlier line) is that node; an unknown name becomes a scalar tensor leaf (value 1.0, requires
grad), a number a literal leaf that does not. The assigned node is titled by its whole line
("y = 2*x**2 + 3*z": its partials read ∂y/∂x), the nodes inside it by their part ("2*x**2").
Anything else (imports, attribute access, calls outside the catalogue, subscripts…) is refused
in one line naming the part of the expression.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from graph.edits import NODE_W, new_node_id, unique_id
from graph.errors import GraphError
from graph.model import Edge, Graph, Node, check_node_id
from graph.ops import OPS, TENSOR

MAX_TEXT = 10_000  # characters the bar accepts at once
_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.MatMult: "matmul"}
COLUMN = NODE_W + 60.0  # where planned nodes go: one column per depth
ROW = 150.0


class ExpressionError(GraphError):
    """An expression the bar cannot turn into nodes: one line naming the part at fault."""


@dataclass
class Plan:
    """What the text adds: new nodes with their places, and edges (some from existing nodes)."""

    nodes: list[tuple[Node, tuple[float, float]]] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _part(text: str, node: ast.AST) -> str:
    segment = ast.get_source_segment(text, node) or ast.dump(node)[:40]
    return segment if len(segment) <= 60 else segment[:59] + "…"


def _number(node: ast.AST) -> float | int | None:
    """The number a constant (or a negated one) is, else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    return None


def _attr_value(node: ast.AST) -> object:
    """A keyword attribute's value: a literal (number, list of numbers, string, bool, None)."""
    return ast.literal_eval(node)  # literals only: never runs code


class _Planner:
    def __init__(self, graph: Graph, text: str) -> None:
        self.graph, self.text = graph, text
        self.plan = Plan()
        self.names: dict[str, str] = {}  # a name on the left of an earlier line -> its node id
        self.new: dict[str, Node] = {}
        self.depth: dict[str, int] = {}

    def taken(self) -> set[str]:
        return set(self.new)

    def add(self, node: Node, depth: int) -> str:
        node.check()
        self.new[node.id] = node
        self.depth[node.id] = depth
        return node.id

    def leaf(self, name: str) -> str:
        if name in self.names:
            return self.names[name]
        if name in self.graph.nodes or name in self.new:
            return name
        check_node_id(name)
        return self.add(Node(name, TENSOR, value=1.0, requires_grad=True), 0)

    def constant(self, value: float | int) -> str:
        stem = "c" + str(value).replace("-", "m").replace(".", "_")
        node_id = unique_id(self.graph, stem, self.taken())
        return self.add(Node(node_id, TENSOR, value=float(value), label=str(value)), 0)

    def op(self, op: str, inputs: dict[str, str], attrs: dict[str, object], part: ast.AST,
           node_id: str | None = None) -> str:
        label = _part(self.text, part)
        if node_id is None:
            node_id = new_node_id(self.graph, op, self.taken())
        else:  # the line's own node: titled "y = 2*x**2 + 3*z", as the lessons title theirs, so its
            label = f"{node_id} = {label}"  # partials read ∂y/∂x (graph.naming.formula_name)
        node = Node(node_id, op, attrs=attrs, label=label)
        try:
            self.add(node, 1 + max((self.depth.get(s, 0) for s in inputs.values()), default=0))
        except GraphError as e:
            raise ExpressionError(f"{_part(self.text, part)}: {e.message}") from None
        for port, src in inputs.items():
            self.plan.edges.append(Edge(src, node_id, port))
        return node_id

    def expr(self, node: ast.AST, node_id: str | None = None) -> str:
        """The id of the node computing `node` (made if needed); node_id names the top one."""
        number = _number(node)
        if number is not None:
            return self.constant(number)
        if isinstance(node, ast.Name):
            return self.leaf(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            base = self.expr(node.left)
            exponent = _number(node.right)
            if exponent is not None:  # x ** 2: the attribute
                return self.op("pow", {"input": base}, {"exponent": exponent}, node, node_id)
            return self.op("pow", {"input": base, "exponent": self.expr(node.right)},
                           {"exponent": None}, node, node_id)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.expr(node.left), self.expr(node.right)
            return self.op(_BINARY[type(node.op)], {"input": left, "other": right}, {}, node, node_id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return self.op("neg", {"input": self.expr(node.operand)}, {}, node, node_id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return self.expr(node.operand, node_id)
        if isinstance(node, ast.Call):
            return self.call(node, node_id)
        if isinstance(node, ast.Attribute):
            raise ExpressionError(f"{_part(self.text, node)}: attribute access is not part of an "
                                  "expression (write the op's name: sin(x), not torch.sin(x))")
        raise ExpressionError(f"{_part(self.text, node)}: not something the bar builds "
                              "(names, numbers, + - * / @ **, and catalogue ops are)")

    def call(self, node: ast.Call, node_id: str | None) -> str:
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"{_part(self.text, node.func)}: call an op by its name (sin(x))")
        name = node.func.id
        spec = OPS.get(name)
        if spec is None:
            raise ExpressionError(f"{_part(self.text, node)}: {name} is not an op of the catalogue")
        attrs: dict[str, object] = {}
        for kw in node.keywords:
            if kw.arg is None or spec.attr(kw.arg) is None:
                raise ExpressionError(f"{_part(self.text, node)}: {name} has no attribute {kw.arg or '**'}")
            try:
                attrs[kw.arg] = _attr_value(kw.value)
            except (ValueError, SyntaxError, TypeError):
                raise ExpressionError(f"{_part(self.text, kw.value)}: an attribute must be a number, "
                                      "a list, a string, true/false or None") from None
        for a in spec.attrs:  # a required attribute must be written on the node (Node.check)
            if a.required:
                attrs.setdefault(a.name, a.default)
        if spec.variadic:
            attrs["num_inputs"] = len(node.args)
        ports = spec.ports(attrs)
        if len(node.args) > len(ports):
            raise ExpressionError(f"{_part(self.text, node)}: {name} takes {len(ports)} tensor(s): "
                                  f"{', '.join(ports)}")
        inputs = {port: self.expr(arg) for port, arg in zip(ports, node.args, strict=False)}
        return self.op(name, inputs, attrs, node, node_id)

    def line(self, stmt: ast.stmt) -> None:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            raise ExpressionError(f"{_part(self.text, stmt)}: each line must be name = expression")
        target = stmt.targets[0].id
        if target in self.graph.nodes or target in self.new:
            raise ExpressionError(f"{target} = …: a node {target} already exists")
        check_node_id(target)
        if _number(stmt.value) is not None or isinstance(stmt.value, ast.Name):
            raise ExpressionError(f"{_part(self.text, stmt)}: the right side must compute something")
        self.names[target] = self.expr(stmt.value, target)


def plan_expressions(graph: Graph, text: str, origin: tuple[float, float] = (0.0, 0.0)) -> Plan:
    """The nodes and edges that lines of `name = expression` add to graph (which is not changed).

    Raises ExpressionError (one line, naming the part of the text at fault).
    """
    if len(text) > MAX_TEXT:
        raise ExpressionError(f"the text is longer than {MAX_TEXT:,} characters")
    try:
        tree = ast.parse(text, mode="exec")
    except SyntaxError as e:
        raise ExpressionError(f"line {e.lineno}: not Python syntax ({e.msg})") from None
    if not tree.body:
        raise ExpressionError("type an assignment, e.g. y = 2*x**2 + 3*z")
    planner = _Planner(graph, text)
    for stmt in tree.body:
        planner.line(stmt)
    rows: dict[int, int] = {}
    for node_id, node in planner.new.items():
        depth = planner.depth[node_id]
        row = rows[depth] = rows.get(depth, -1) + 1
        planner.plan.nodes.append((node, (origin[0] + depth * COLUMN, origin[1] + row * ROW)))
    return planner.plan
