"""The op catalogue: one declarative entry per op.

Palette, validation, code generation, export and docs all read this table. An op's name is the
torch function's name, its input ports are named as torch names the arguments, and its
attributes are the non-tensor arguments with torch's keyword names and defaults.

Adding an op is one entry in OPS; everything derived from the table (categories, the palette,
the docs) reads it when asked, so a test may register an entry with monkeypatch.setitem.
Tensor initialisers have their own catalogue, graph.inits.INITS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

    @property
    def is_dim(self) -> bool:
        """Whether the value names dimensions of the op's first input ("dim" or "dims")."""
        return self.kind in DIM_KINDS


# Every kind of attribute (and init parameter), with what a value of it is.
KINDS: dict[str, str] = {
    "int": "an integer",
    "number": "a finite integer or float",
    "optional_number": "`null` (torch's `None`) or a finite number",
    "bool": "`true` or `false`",
    "ints": "a list of integers (a shape)",
    "dim": "an integer naming one dimension of the op's first input; negative counts from the end",
    "dims": "`null` (every dimension), one dim, or a list of dims of the op's first input",
    "choice": "one of the strings listed",
}
DIM_KINDS = ("dim", "dims")


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

    def attr(self, name: str) -> Attr | None:
        return next((a for a in self.attrs if a.name == name), None)

    def resolved_attrs(self, given: dict[str, object]) -> dict[str, object]:
        """Defaults overlaid by the given attributes, in catalogue order."""
        return {a.name: given.get(a.name, a.default) for a in self.attrs}

    def call_attrs(self, given: dict[str, object]) -> dict[str, object]:
        """The attributes the torch call spells out, in catalogue order: the required ones,
        those not at their default, and whatever those need passed with them (also_pass)."""
        values = self.resolved_attrs(given)
        passed = {a.name for a in self.attrs if a.required or values[a.name] != a.default}
        for name in list(passed):
            passed.update(self.also_pass.get(name, ()))
        return {name: v for name, v in values.items() if name in passed}

    def kink_points(self, given: dict[str, object]) -> list[float]:
        """`kinks` as numbers, attribute names replaced by their (non-null) values."""
        values = self.resolved_attrs(given)
        points = [values[k] if isinstance(k, str) else k for k in self.kinks]
        return [float(p) for p in points if p is not None]


def _unary(name: str, category: str, symbol: str, rule: str, **kw: object) -> OpSpec:
    return OpSpec(name, f"torch.{name}", ("input",), category, symbol, rule,
                  example_shapes={"input": (2, 3)}, **kw)


def _binary(name: str, symbol: str, rule: str, **kw: object) -> OpSpec:
    return OpSpec(name, f"torch.{name}", ("input", "other"), "arithmetic", symbol, rule,
                  example_shapes={"input": (2, 3), "other": (2, 3)}, **kw)


_DIM = Attr("dim", "dims", None, doc="dimension(s) to reduce; null reduces all")
_KEEPDIM = Attr("keepdim", "bool", False, doc="keep reduced dimensions with size 1")
_KEEPDIM_NEEDS_DIM = {"keepdim": ("dim",)}

OPS: dict[str, OpSpec] = {op.name: op for op in [
    _binary("add", "+", "∂/∂input = 1, ∂/∂other = 1 (summed over broadcast dims)", partial_bound="same shape"),
    _binary("sub", "−", "∂/∂input = 1, ∂/∂other = −1", partial_bound="same shape"),
    _binary("mul", "×", "∂/∂input = other, ∂/∂other = input"),
    _binary("div", "÷", "∂/∂input = 1/other, ∂/∂other = −input/other²", kinks=(0.0,)),
    _unary("neg", "arithmetic", "−x", "∂/∂input = −1", keeps_finite=True),
    OpSpec("pow", "torch.pow", ("input",), "arithmetic", "xⁿ",
           "∂/∂input = exponent · input^(exponent−1)",
           attrs=(Attr("exponent", "number", 2, required=True, doc="the power"),),
           example_shapes={"input": (2, 3)}, example_attrs={"exponent": 3}),
    OpSpec("matmul", "torch.matmul", ("input", "other"), "linear algebra", "@",
           "∂/∂input = grad @ otherᵀ, ∂/∂other = inputᵀ @ grad",
           example_shapes={"input": (2, 3), "other": (3, 4)}),
    OpSpec("sum", "torch.sum", ("input",), "reduction", "Σ",
           "∂/∂input = 1 for every summed element",
           attrs=(_DIM, _KEEPDIM), also_pass=_KEEPDIM_NEEDS_DIM,
           example_shapes={"input": (2, 3)}, example_attrs={"dim": [1]}, partial_bound="always"),
    OpSpec("mean", "torch.mean", ("input",), "reduction", "mean",
           "∂/∂input = 1/n for each of the n averaged elements",
           attrs=(_DIM, _KEEPDIM), also_pass=_KEEPDIM_NEEDS_DIM, example_shapes={"input": (2, 3)},
           partial_bound="always"),
    OpSpec("reshape", "torch.reshape", ("input",), "shape", "reshape",
           "∂/∂input = grad reshaped back to the input's shape",
           attrs=(Attr("shape", "ints", [-1], required=True, doc="new shape; -1 infers one"),),
           example_shapes={"input": (2, 3)}, example_attrs={"shape": [3, -1]}, keeps_finite=True),
    OpSpec("transpose", "torch.transpose", ("input",), "shape", "xᵀ",
           "∂/∂input = grad with dim0 and dim1 swapped back",
           attrs=(Attr("dim0", "dim", 0, required=True), Attr("dim1", "dim", 1, required=True)),
           example_shapes={"input": (2, 3)}, keeps_finite=True),
    OpSpec("select", "torch.select", ("input",), "shape", "[i]",
           "∂/∂input = grad at the selected index, 0 elsewhere",
           attrs=(Attr("dim", "dim", 0, required=True), Attr("index", "int", 0, required=True)),
           example_shapes={"input": (2, 3)}, example_attrs={"dim": 1, "index": 2}, keeps_finite=True),
    _unary("exp", "elementwise", "eˣ", "∂/∂input = exp(input)"),
    _unary("log", "elementwise", "ln", "∂/∂input = 1/input", positive_inputs=True),
    _unary("sqrt", "elementwise", "√", "∂/∂input = 1/(2·sqrt(input))", positive_inputs=True,
           kinks=(0.0,)),
    _unary("abs", "elementwise", "|x|", "∂/∂input = sign(input)", kinks=(0.0,), keeps_finite=True),
    _unary("sin", "elementwise", "sin", "∂/∂input = cos(input)", keeps_finite=True),
    _unary("cos", "elementwise", "cos", "∂/∂input = −sin(input)", keeps_finite=True),
    _unary("tanh", "activation", "tanh", "∂/∂input = 1 − tanh²(input)", keeps_finite=True),
    _unary("sigmoid", "activation", "σ", "∂/∂input = σ(input)·(1 − σ(input))", keeps_finite=True),
    _unary("relu", "activation", "relu", "∂/∂input = 1 where input > 0, else 0", kinks=(0.0,), keeps_finite=True),
    OpSpec("softmax", "torch.softmax", ("input",), "activation", "softmax",
           "∂sᵢ/∂xⱼ = sᵢ(δᵢⱼ − sⱼ) along dim",
           attrs=(Attr("dim", "dim", -1, required=True),), example_shapes={"input": (2, 3)}),
    OpSpec("log_softmax", "torch.log_softmax", ("input",), "activation", "log softmax",
           "∂/∂xⱼ of log sᵢ = δᵢⱼ − sⱼ along dim",
           attrs=(Attr("dim", "dim", -1, required=True),), example_shapes={"input": (2, 3)}),
    OpSpec("mse_loss", "torch.nn.functional.mse_loss", ("input", "target"), "loss", "MSE",
           "∂/∂input = 2(input − target)/n, ∂/∂target = −2(input − target)/n",
           attrs=(Attr("reduction", "choice", "mean", choices=("mean", "sum", "none")),),
           example_shapes={"input": (2, 3), "target": (2, 3)}),
]}

DTYPES: tuple[str, ...] = ("float32", "float64")
DEFAULT_DTYPE = "float32"


def categories() -> tuple[str, ...]:
    """The op categories in catalogue order, read from OPS now (not at import)."""
    return tuple(dict.fromkeys(op.category for op in OPS.values()))


def __getattr__(name: str) -> object:
    """CATEGORIES, computed on access from the live table (see categories())."""
    if name == "CATEGORIES":
        return categories()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
