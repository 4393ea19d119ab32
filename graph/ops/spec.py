"""What a catalogue entry is: OpSpec, its attributes (Attr) and their kinds (KINDS).

The entries themselves are in the category modules beside this one; graph.ops gathers them
into OPS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from graph.errors import ValueSpecError

# The one node kind that is not an op: a literal or initialised tensor (a leaf).
TENSOR = "tensor"


@dataclass(frozen=True)
class Attr:
    """A non-tensor argument of an op.

    kind is one of KINDS (below): how the value is checked (graph.values.check_param), typed
    (graph.values.parse_param_text), edited in the inspector and documented. A "dim" or "dims"
    value is checked against the first input's rank where shapes are known
    (autograd_bridge.engine), from the kind alone.

    A required attribute has no default in torch; `default` is then only the value a new node
    starts with, and the attribute is always written out.
    """

    name: str
    kind: str
    default: object = None
    required: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""
    # False for an attribute the torch call does not take: how many ports a variadic op's node
    # has (cat's num_inputs), or which piece of a split the node is (split's index).
    call: bool = True
    # The least value torch accepts for an int or a number, or for each entry of ints (a conv's
    # stride 1, its padding 0, smooth_l1_loss's beta 0): checked with the file, so torch's own
    # shape code never divides by 0, and a bound torch checks only as it computes is found by
    # check too (bounds torch's shape pass checks, huber_loss's delta > 0, need no minimum).
    minimum: int | None = None
    # The greatest value, where there is one (an init's seed, 0 … 2**63 − 1); checked before
    # the kind, with the minimum (graph.values.check_range), so the message gives the range.
    maximum: int | None = None

    @property
    def is_dim(self) -> bool:
        """Whether the value names dimensions of the op's first input (a kind of DIM_KINDS)."""
        return self.kind in DIM_KINDS


# Every kind of attribute (and init parameter), with what a value of it is.
KINDS: dict[str, str] = {
    "int": "an integer",
    "number": "a finite integer or float",
    "optional_number": "`null` (torch's `None`) or a finite number",
    "bool": "`true` or `false`",
    "ints": "a list of integers (a shape)",
    "optional_ints": "`null` (torch's `None`) or a list of integers",
    "dim": "an integer naming one dimension of the op's first input; negative counts from the end",
    "optional_dim": "`null` (torch's `None`: every dimension) or one dim of the op's first input",
    "dims": "one dim or a list of dims of the op's first input",
    "optional_dims": "`null` (every dimension), one dim, or a list of dims of the op's first input",
    "choice": "one of the strings listed",
}
DIM_KINDS = ("dim", "optional_dim", "dims", "optional_dims")


@dataclass(frozen=True)
class OpSpec:
    name: str
    function: str  # the dotted torch callable the generated code calls
    inputs: tuple[str, ...]
    category: str
    symbol: str
    rule: str  # the local derivative rule, as short text for tooltips and docs
    attrs: tuple[Attr, ...] = ()
    # For docs and generated tests: an example shape per input and example attrs.
    example_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    example_attrs: dict[str, object] = field(default_factory=dict)
    positive_inputs: bool = False  # the op's domain needs inputs > 0 (log, sqrt)
    # Input values where the local derivative is undefined or jumps: numbers, or the names of
    # attributes whose value is one (clamp's min and max). Tests sample inputs away from them.
    kinks: tuple[float | str, ...] = ()
    # When the call passes the attribute named by a key, it must also pass those named by the
    # value, even at their defaults: torch.sum(x, keepdim=True) is no signature torch has.
    also_pass: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # One input; a finite input gives a finite output, and a finite partial of the output a
    # finite partial of the input (|local derivative| <= 1 elementwise, or entries only moved).
    # The engine's NaN/Inf check need not read such values, nor the partial of a node whose one
    # consumer is such an op (autograd_bridge.engine; tests/test_perf_paths.py tries extremes).
    keeps_finite: bool = False
    # Ops that only promise the second half: each entry of an input's partial is an entry of
    # the output's partial scaled by at most 1 in size, or 0 -- "always" (sum, mean: it is
    # spread back), or "same shape", when the input has the output's shape (add, sub: a
    # broadcast input's partial is a sum). Read as keeps_finite is, for partials only.
    partial_bound: str = ""
    # The other way round, for the same check: input ports where any NaN/Inf entry makes some
    # entry of the output NaN/Inf, whatever the other inputs hold (IEEE +, −, × and a
    # numerator keep them: inf·0 and inf − inf are NaN), so a finite output proves that input
    # finite; and ports whose partial gets a NaN/Inf from any NaN/Inf entry of the output's
    # partial (the backward multiplies, moves or sums it, never selects or divides by it).
    # tests/test_perf_paths.py puts NaN and ±inf at every entry to hold the ops to it.
    reveals_nonfinite: tuple[str, ...] = ()
    partial_reveals: tuple[str, ...] = ()
    # How many input ports the call passes by position (the rest by keyword: layer_norm's
    # weight and bias come after its normalized_shape); -1: all of them.
    positional_inputs: int = -1
    # Input ports torch cannot differentiate with respect to (batch_norm's running statistics,
    # where's condition, index ports): what feeds them must not require grad, or torch refuses
    # the call.
    no_grad_inputs: tuple[str, ...] = ()
    # Ports that take an int64 or bool tensor (gather's index, where's condition), by dtype,
    # with an example value each (examples for docs and generated tests, as example_shapes).
    input_dtypes: dict[str, str] = field(default_factory=dict)
    example_values: dict[str, object] = field(default_factory=dict)
    # "bool" for ops whose result is bool (comparisons): it never requires grad. "": torch's
    # usual type promotion of the inputs.
    result_dtype: str = ""
    # The op as a sympy expression, as text: ports and attributes in braces ("sin({input})",
    # "({input})**({exponent})"); for the symbolic partials of graphs of 0-d tensors
    # (autograd_bridge/symbolic.py parses it on first use). None: no formula (non-elementwise ops,
    # kinks sympy would place differently from torch).
    sympy: str | None = None
    # A variadic op (cat, stack): its one input is a sequence of tensors, passed as a tuple in
    # the first position; a node has ports INPUT.0, INPUT.1, … (OpSpec.ports), as many as its
    # attribute VARIADIC_COUNT says (the node's own; the inspector edits it).
    variadic: bool = False
    # Input ports that may stay unfed (linear's bias): torch's default, None, is passed.
    optional_inputs: tuple[str, ...] = ()
    # Of those, the ones torch's function has no default for (batch_norm's running statistics):
    # an unfed one is written as None even when no later port is fed.
    none_passed: tuple[str, ...] = ()
    # Ops whose torch function returns several tensors (split, chunk, max with a dim): the one
    # the node is, by position, or the name of the attribute holding that position (split's
    # index). One node per piece keeps every node one output: a node is one tensor everywhere
    # (values, partials, wires, the export's one line per node).
    result_item: int | str | None = None
    # Ops that draw from torch's generator (dropout): every run seeds it from Graph.seed first.
    random: bool = False
    # Ports torch writes into (batch_norm's running statistics, in training mode): the call gets
    # copies, so the graph's leaves keep their values from run to run.
    copied_inputs: tuple[str, ...] = ()
    # Every fed input must have one dtype: torch promotes none of them (matmul, the layers; huber
    # loss's backward) and refuses float32 with float64 on a real device, while its meta device
    # often computes on. The shape pass checks it (autograd_bridge.engine), so check refuses what
    # grad would; tests/test_dtype_mixing.py asks torch which ops these are.
    one_dtype: bool = False
    # Optional ports fed all together or none, and the bool attribute without which none may go
    # unfed either: batch_norm's running statistics, needed unless training. The engine checks it
    # before a run (autograd_bridge.node_checks), naming the ports.
    fed_together: tuple[tuple[str, ...], str] | None = None

    def ports(self, attrs: dict[str, object]) -> tuple[str, ...]:
        """The input ports of a node with these attributes: `inputs` (less any named like an
        attribute that holds a value: pow's exponent, a number or a tensor), or for a variadic op
        INPUT.0 … INPUT.(n−1), n its VARIADIC_COUNT attribute (none while n is out of range:
        Node.check says why)."""
        if not self.variadic:  # a port named like an attribute is there while that is null (pow)
            named = self._attr_inputs
            if not named:
                return self.inputs
            return tuple(p for p in self.inputs if p not in named or attrs.get(p, named[p]) is None)
        n = self._port_count(attrs)
        return () if n is None else tuple(f"{self.inputs[0]}.{i}" for i in range(n))

    @cached_property
    def _attr_inputs(self) -> dict[str, object]:
        """The input ports named like an attribute, with that attribute's default (pow's exponent)."""
        return {p: a.default for p in self.inputs if (a := self.attr(p)) is not None}

    def _port_count(self, attrs: dict[str, object]) -> int | None:
        """A variadic node's port count; None while it is out of range."""
        n = attrs.get(VARIADIC_COUNT, self.attr(VARIADIC_COUNT).default)
        least, most = self.bounds(self.attr(VARIADIC_COUNT))
        return n if isinstance(n, int) and not isinstance(n, bool) and least <= n <= most else None

    def check_port_count(self, attrs: dict[str, object]) -> None:
        """Raise ValueSpecError when a variadic node's port count is out of range
        (graph.model.Node.check calls this)."""
        if self.variadic and self._port_count(attrs) is None:
            least, most = self.bounds(self.attr(VARIADIC_COUNT))
            raise ValueSpecError(f"attribute '{VARIADIC_COUNT}' must be from {least} to {most}")

    def bounds(self, attr: Attr) -> tuple[int | None, int | None]:
        """The least and the greatest value an attribute may hold (None: no bound): its own
        minimum and maximum, or for a variadic node's port count 1 … MAX_VARIADIC (a bound of
        the node, not of torch, so not Attr.minimum: check_port_count holds it)."""
        if self.variadic and attr.name == VARIADIC_COUNT:
            return 1, MAX_VARIADIC
        return attr.minimum, attr.maximum

    def passed_inputs(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The input ports the call passes by position, and those it passes by keyword."""
        k = len(self.inputs) if self.positional_inputs < 0 else self.positional_inputs
        return self.inputs[:k], self.inputs[k:]

    def attr(self, name: str) -> Attr | None:
        return next((a for a in self.attrs if a.name == name), None)

    def resolved_attrs(self, given: dict[str, object]) -> dict[str, object]:
        """Defaults overlaid by the given attributes, in catalogue order."""
        return {a.name: given.get(a.name, a.default) for a in self.attrs}

    def call_attrs(self, given: dict[str, object]) -> dict[str, object]:
        """The attributes the torch call spells out, in catalogue order: the required ones,
        those not at their default, and whatever those need passed with them (also_pass)."""
        values = self.resolved_attrs(given)
        passed = {a.name for a in self.attrs if a.call and (a.required or values[a.name] != a.default)}
        for name in list(passed):
            passed.update(self.also_pass.get(name, ()))
        return {name: v for name, v in values.items() if name in passed}

    def kink_points(self, given: dict[str, object]) -> list[float]:
        """`kinks` as numbers, attribute names replaced by their (non-null) values."""
        values = self.resolved_attrs(given)
        points = [values[k] if isinstance(k, str) else k for k in self.kinks]
        return [float(p) for p in points if p is not None]


# The attribute of a variadic op's node that says how many ports it has, and its limit.
VARIADIC_COUNT = "num_inputs"
MAX_VARIADIC = 64


# ---- shorthands the category modules build their entries with ----

F = "torch.nn.functional"


def unary(name: str, category: str, symbol: str, rule: str, function: str = "", **kw: object) -> OpSpec:
    """One input port, `input`, shaped (2, 3) in the examples; torch.NAME unless `function`."""
    return OpSpec(name, function or f"torch.{name}", ("input",), category, symbol, rule,
                  example_shapes={"input": (2, 3)}, **kw)


def binary(name: str, symbol: str, rule: str, **kw: object) -> OpSpec:
    return OpSpec(name, f"torch.{name}", ("input", "other"), "arithmetic", symbol, rule,
                  example_shapes={"input": (2, 3), "other": (2, 3)}, **kw)


def reduction_choice(default: str = "mean", *more: str) -> Attr:
    """A loss's `reduction`, with torch's default first."""
    others = tuple(c for c in ("mean", *more, "sum", "none") if c != default)
    return Attr("reduction", "choice", default, choices=(default, *others))


DIM = Attr("dim", "optional_dims", None, doc="dimension(s) to reduce; null reduces all")
KEEPDIM = Attr("keepdim", "bool", False, doc="keep reduced dimensions with size 1")
KEEPDIM_NEEDS_DIM = {"keepdim": ("dim",)}
