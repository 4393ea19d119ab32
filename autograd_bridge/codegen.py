"""Graph → Python source. The one place source text is made; the app runs it, export writes it.

Every node becomes one line. Variable names come only from `Namespace`, so a node id never
enters the source except as an ASCII-escaped comment; constants come only from validated
numbers (see graph.values), emitted with repr() of ints and finite floats. A literal tensor of
more than INLINE_LITERAL_MAX numbers is not written out: its line copies a ready tensor from
`literals`, which the engine fills (and an exported script decodes from base64).
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from dataclasses import dataclass, field

from graph.inits import INITS
from graph.model import CheckedGraph, Node
from graph.ops import leaf_dtype

# Names the generated code itself uses, plus everything a variable must never shadow. (A parameter
# of the exported forward() takes a builtin's name back where its body does not use it:
# export.argument_names.)
GENERATED_NAMES = ("torch", "math", "nan", "inf", "device", "make_leaves", "forward", "grad_output",
                   "literals", "base64")
# Literal tensors with more numbers are passed in as data (Source.literal_ids), not inlined:
# compile() of inlined numbers costs ~700 bytes each (2**26 of them exhausted memory). The
# article's examples stay inline, so an exported script reads like the article.
INLINE_LITERAL_MAX = 64
RESERVED = frozenset(
    [*keyword.kwlist, *keyword.softkwlist, *dir(builtins), "__builtins__", "__file__",
     "__cached__", "__annotations__", "__path__", *GENERATED_NAMES])


class Namespace:
    """Turns node ids into safe, deterministic Python identifiers.

    ASCII letters, digits and _ are kept, other letters become their code point (λ → u03bb),
    anything else becomes _; a leading digit or a leading __ gets a prefix; reserved names get
    a trailing _; clashes are numbered. reserve() first, and an id that is already a free
    identifier keeps exactly its name whatever order the ids come in.
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self.names: dict[str, str] = {}

    def reserve(self, node_ids: object) -> None:  # an iterable of ids
        """Name first every id that is itself a usable identifier, so a made-up name never takes
        one: `q.weight` (→ q_weight) cannot take `q_weight` from the node of that id, whose
        gradient a reader looks up by its name; `q.weight` becomes q_weight_2 instead."""
        for node_id in node_ids:
            if node_id.isascii() and node_id.isidentifier() and node_id not in RESERVED \
                    and not node_id.startswith("__"):
                self.name(node_id)

    def name(self, node_id: str) -> str:
        if node_id in self.names:
            return self.names[node_id]
        if node_id.isascii() and node_id.isidentifier():  # the common case, kept as it is
            base = node_id
        else:  # Non-ASCII letters keep a trace of themselves (λ → u03bb) rather than all becoming _.
            base = "".join(c if c.isascii() and (c.isalnum() or c == "_")
                           else f"u{ord(c):04x}" if c.isalnum() else "_" for c in node_id) or "_"
            if base[0].isdigit():
                base = "_" + base
        while base in RESERVED or base.startswith("__"):  # "_" → "__" must get the prefix too
            base = "v" + base if base.startswith("__") else base + "_"
        name, n = base, 1
        while name in self._taken or name in RESERVED:
            n += 1
            name = f"{base}_{n}"
        self._taken.add(name)
        self.names[node_id] = name
        return name


def literal(v: object) -> str:
    """Source text for a validated number, list of numbers, str choice, bool or None."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int):
        return repr(int(v))
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return f"float('{v}')"
        return repr(float(v))
    if isinstance(v, list | tuple):
        inner = ", ".join(literal(x) for x in v)
        return f"({inner},)" if isinstance(v, tuple) and len(v) == 1 else (
            f"({inner})" if isinstance(v, tuple) else f"[{inner}]")
    if isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9_]*", v):
        return repr(v)
    raise TypeError(f"not a literal GradCanvas emits: {type(v).__name__}")


def id_comment(node_id: str) -> str:
    return "# node " + ascii(node_id)


def passed_as_data(node: Node, dtype: str) -> bool:
    """Whether a tensor node's numbers come from `literals` rather than the source text."""
    return node.init is None and math.prod(node.leaf_shape(dtype)) > INLINE_LITERAL_MAX


def leaf_expr(node: Node, dtype: str, data_index: int | None = None) -> str:
    """The torch call that makes a tensor node, on `device`: its init's expression (graph.inits)
    given every parameter and the shape as source text, or torch.tensor of its value, or a copy
    of literals[data_index] (that value as a CPU tensor of this dtype) for a big literal."""
    dt = f"torch.{dtype}"
    rg = node.requires_grad
    if data_index is not None:
        return f"literals[{data_index}].to(device=device, copy=True)" + (".requires_grad_()" if rg else "")
    if node.init is None:
        tail = ", requires_grad=True" if rg else ""
        return f"torch.tensor({literal(node.value)}, dtype={dt}, device=device{tail})"
    spec = INITS[node.init["fn"]]
    p = spec.resolved(node.init)
    args = {k: literal(tuple(v) if isinstance(v, list) else v) for k, v in p.items()}
    # A random init's numbers are its generator's draws in the file's own dtype (a float64 draw
    # gives other numbers, not the same ones more precisely): drawn so, then converted, as
    # module.double() converts them. Exact inits are made in the dtype asked for, as literals are.
    made = node.dtype if spec.random else dtype
    expr = spec.expr(args, f"torch.{made}", tuple(literal(n) for n in spec.shape(p)))
    if made != dtype:
        expr += f".to({dt})"
    return expr + (".requires_grad_()" if rg else "")


def op_expr(node: Node, args: dict[str, str]) -> str:
    """The torch call for an op node, given the variable feeding each fed input port.

    A variadic op's ports go in as one tuple (torch.cat((a, b), dim=1)). An unfed optional port
    passes torch's default, None: left out at the end of the positional ports and among the
    keywords, `None` before a fed one or where torch has no default (OpSpec.none_passed). A fed
    port named like an attribute stands for it (pow's exponent, while the attribute is null).
    Ports torch writes into (OpSpec.copied_inputs) get copies in training mode. An op returning
    several tensors is followed by the index of the node's own (OpSpec.result_item). A select
    along dim 0 is written `y[i]`.
    """
    spec = node.spec
    if spec.name == "select" and node.resolved_attrs()["dim"] == 0:
        # As the article writes it, and torch runs it as torch.select(y, 0, i) without parsing
        # keywords (~0.3 µs less a call).
        return f"{args['input']}[{literal(node.resolved_attrs()['index'])}]"
    if spec.variadic:
        names = [args[port] for port in node.ports]
        parts = [f"({', '.join(names)}{',' if len(names) == 1 else ''})"]
    else:
        copied = spec.copied_inputs if node.resolved_attrs().get("training") else ()

        def arg(port: str) -> str:
            return f"{args[port]}.clone()" if port in copied else args[port]

        positional, keyword = spec.passed_inputs()
        last = max((i for i, port in enumerate(positional) if port in args or port in spec.none_passed), default=-1)
        parts = [arg(port) if port in args else "None" for port in positional[:last + 1]]
        parts += [f"{port}={arg(port)}" for port in keyword if port in args]
    for name, value in (spec.call_attrs(node.attrs) if spec.attrs else {}).items():
        if name in args:  # the port of that name is fed: the tensor is the argument
            continue
        if isinstance(value, list):  # ints, dims: tuples, as torch's signatures spell them
            value = tuple(value)
        parts.append(f"{name}={literal(value)}")
    call = f"{spec.function}({', '.join(parts)})"
    item = spec.result_item
    if item is None:
        return call
    return f"{call}[{literal(node.resolved_attrs()[item] if isinstance(item, str) else item)}]"


def seed_line(seed: int) -> str:
    """The first line of a forward that holds a random op (OpSpec.random: dropout)."""
    return f"torch.manual_seed({literal(seed)})  # random ops draw from torch's generator, seeded per run"


@dataclass
class Source:
    """Generated lines for one graph, in topological order."""

    order: list[str]
    names: dict[str, str]  # node id -> variable
    leaf_ids: list[str]
    op_ids: list[str]
    lines: dict[str, str]  # node id -> "name = expr  # node 'id'"
    requires_grad: set[str] = field(default_factory=set)  # nodes whose value requires grad
    literal_ids: list[str] = field(default_factory=list)  # the leaves literals[i] holds, by i
    # The forward's first line when a random op (dropout) is in it: torch's generator seeded
    # from Graph.seed, so every run, gradcheck's many calls and the export draw the same numbers.
    seed_line: str = ""

    def module_text(self) -> tuple[str, dict[int, str]]:
        """Two functions, make_leaves(device) and forward(*leaves) (which returns its locals: every
        node's value by variable name), plus a line → node id map."""
        text, line_of = [], {}

        def emit(line: str, node_id: str | None = None) -> None:
            text.append(line)
            if node_id is not None:
                line_of[len(text)] = node_id

        leaf_vars = ", ".join(self.names[n] for n in self.leaf_ids)
        emit("def make_leaves(device):")
        for n in self.leaf_ids:
            emit("    " + self.lines[n], n)
        emit(f"    return ({leaf_vars}{',' if len(self.leaf_ids) == 1 else ''})")
        emit("")
        emit(f"def forward({leaf_vars}):")
        if self.seed_line:
            emit("    " + self.seed_line)
        for n in self.op_ids:
            emit("    " + self.lines[n], n)
        # Every variable by name, leaves included. Not a tuple of them: for 10,000 nodes,
        # compile() takes ~40% longer with the tuple (~80 ms instead of ~58 ms).
        emit("    return locals()")
        return "\n".join(text) + "\n", line_of


def generate(checked: CheckedGraph, dtype: str | None = None) -> Source:
    """One line per node of a validated graph. dtype, if given, overrides every floating leaf's
    (int64 and bool leaves keep theirs, as module.double() leaves them: graph.ops.leaf_dtype)."""
    if dtype is not None:  # the leaves' numbers must also fit the dtype that overrides theirs
        for node in checked.nodes.values():
            if node.is_tensor and leaf_dtype(node.dtype, dtype) != node.dtype:
                node.check(dtype)
    ns = Namespace()
    ns.reserve(checked.nodes)
    names = {n: ns.name(n) for n in checked.nodes}  # file order, so names do not depend on wiring
    lines, leaf_ids, op_ids, grad, literal_ids = {}, [], [], set(), []
    for n in checked.order:
        node = checked.nodes[n]
        inputs = checked.inputs[n]
        if node.is_tensor:
            own = leaf_dtype(node.dtype, dtype)
            if passed_as_data(node, own):
                expr = leaf_expr(node, own, len(literal_ids))
                literal_ids.append(n)
            else:
                expr = leaf_expr(node, own)
            leaf_ids.append(n)
            if node.requires_grad:
                grad.add(n)
        else:
            expr = op_expr(node, {p: names[src] for p, src in inputs.items()})
            op_ids.append(n)
            if node.spec.result_dtype != "bool" and not grad.isdisjoint(inputs.values()):
                grad.add(n)
        lines[n] = f"{names[n]} = {expr}  {id_comment(n)}"
    seeded = any(checked.nodes[n].spec.random for n in op_ids)
    return Source(list(checked.order), names, leaf_ids, op_ids, lines, grad, literal_ids,
                  seed_line(checked.seed) if seeded else "")
