"""The op catalogue: one declarative entry per op.

Palette, validation, code generation, export and docs all read this table. An op's name is the
torch function's name, its input ports are named as torch names the arguments, and its
attributes are the non-tensor arguments with torch's keyword names and defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The one node kind that is not an op: a literal or initialised tensor (a leaf).
TENSOR = "tensor"


@dataclass(frozen=True)
class Attr:
    """A non-tensor argument of an op.

    kind is one of:
      "int"       an int
      "number"    a finite int or float
      "bool"      true / false
      "ints"      a list of ints (a shape)
      "dims"      null, an int, or a list of ints (reduction dims)
      "choice"    one of `choices` (a string)

    A required attribute has no default in torch; `default` is then only the value a new node
    starts with, and the attribute is always written out.
    """

    name: str
    kind: str
    default: object = None
    required: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""


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

    def attr(self, name: str) -> Attr | None:
        return next((a for a in self.attrs if a.name == name), None)

    def resolved_attrs(self, given: dict[str, object]) -> dict[str, object]:
        """Defaults overlaid by the given attributes, in catalogue order."""
        return {a.name: given.get(a.name, a.default) for a in self.attrs}


def _unary(name: str, category: str, symbol: str, rule: str, **kw: object) -> OpSpec:
    return OpSpec(name, f"torch.{name}", ("input",), category, symbol, rule,
                  example_shapes={"input": (2, 3)}, **kw)


def _binary(name: str, symbol: str, rule: str) -> OpSpec:
    return OpSpec(name, f"torch.{name}", ("input", "other"), "arithmetic", symbol, rule,
                  example_shapes={"input": (2, 3), "other": (2, 3)})


_DIM = Attr("dim", "dims", None, doc="dimension(s) to reduce; null reduces all")
_KEEPDIM = Attr("keepdim", "bool", False, doc="keep reduced dimensions with size 1")

OPS: dict[str, OpSpec] = {op.name: op for op in [
    _binary("add", "+", "∂/∂input = 1, ∂/∂other = 1 (summed over broadcast dims)"),
    _binary("sub", "−", "∂/∂input = 1, ∂/∂other = −1"),
    _binary("mul", "×", "∂/∂input = other, ∂/∂other = input"),
    _binary("div", "÷", "∂/∂input = 1/other, ∂/∂other = −input/other²"),
    _unary("neg", "arithmetic", "−x", "∂/∂input = −1"),
    OpSpec("pow", "torch.pow", ("input",), "arithmetic", "xⁿ",
           "∂/∂input = exponent · input^(exponent−1)",
           attrs=(Attr("exponent", "number", 2, required=True, doc="the power"),),
           example_shapes={"input": (2, 3)}, example_attrs={"exponent": 3}),
    OpSpec("matmul", "torch.matmul", ("input", "other"), "linear algebra", "@",
           "∂/∂input = grad @ otherᵀ, ∂/∂other = inputᵀ @ grad",
           example_shapes={"input": (2, 3), "other": (3, 4)}),
    OpSpec("sum", "torch.sum", ("input",), "reduction", "Σ",
           "∂/∂input = 1 for every summed element",
           attrs=(_DIM, _KEEPDIM), example_shapes={"input": (2, 3)},
           example_attrs={"dim": [1]}),
    OpSpec("mean", "torch.mean", ("input",), "reduction", "mean",
           "∂/∂input = 1/n for each of the n averaged elements",
           attrs=(_DIM, _KEEPDIM), example_shapes={"input": (2, 3)}),
    OpSpec("reshape", "torch.reshape", ("input",), "shape", "reshape",
           "∂/∂input = grad reshaped back to the input's shape",
           attrs=(Attr("shape", "ints", [-1], required=True, doc="new shape; -1 infers one"),),
           example_shapes={"input": (2, 3)}, example_attrs={"shape": [3, -1]}),
    OpSpec("transpose", "torch.transpose", ("input",), "shape", "xᵀ",
           "∂/∂input = grad with dim0 and dim1 swapped back",
           attrs=(Attr("dim0", "int", 0, required=True), Attr("dim1", "int", 1, required=True)),
           example_shapes={"input": (2, 3)}),
    OpSpec("select", "torch.select", ("input",), "shape", "[i]",
           "∂/∂input = grad at the selected index, 0 elsewhere",
           attrs=(Attr("dim", "int", 0, required=True), Attr("index", "int", 0, required=True)),
           example_shapes={"input": (2, 3)}, example_attrs={"dim": 1, "index": 2}),
    _unary("exp", "elementwise", "eˣ", "∂/∂input = exp(input)"),
    _unary("log", "elementwise", "ln", "∂/∂input = 1/input", positive_inputs=True),
    _unary("sqrt", "elementwise", "√", "∂/∂input = 1/(2·sqrt(input))", positive_inputs=True),
    _unary("abs", "elementwise", "|x|", "∂/∂input = sign(input)"),
    _unary("sin", "elementwise", "sin", "∂/∂input = cos(input)"),
    _unary("cos", "elementwise", "cos", "∂/∂input = −sin(input)"),
    _unary("tanh", "activation", "tanh", "∂/∂input = 1 − tanh²(input)"),
    _unary("sigmoid", "activation", "σ", "∂/∂input = σ(input)·(1 − σ(input))"),
    _unary("relu", "activation", "relu", "∂/∂input = 1 where input > 0, else 0"),
    OpSpec("softmax", "torch.softmax", ("input",), "activation", "softmax",
           "∂sᵢ/∂xⱼ = sᵢ(δᵢⱼ − sⱼ) along dim",
           attrs=(Attr("dim", "int", -1, required=True),), example_shapes={"input": (2, 3)}),
    OpSpec("log_softmax", "torch.log_softmax", ("input",), "activation", "log softmax",
           "∂/∂xⱼ of log sᵢ = δᵢⱼ − sⱼ along dim",
           attrs=(Attr("dim", "int", -1, required=True),), example_shapes={"input": (2, 3)}),
    OpSpec("mse_loss", "torch.nn.functional.mse_loss", ("input", "target"), "loss", "MSE",
           "∂/∂input = 2(input − target)/n, ∂/∂target = −2(input − target)/n",
           attrs=(Attr("reduction", "choice", "mean", choices=("mean", "sum", "none")),),
           example_shapes={"input": (2, 3), "target": (2, 3)}),
]}

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(op.category for op in OPS.values()))

# Tensor initialisers a tensor node may name instead of a literal value: fn -> parameters.
# Each parameter is (kind as in Attr, required, default).
INIT_FNS: dict[str, dict[str, tuple[str, bool, object]]] = {
    "zeros": {"shape": ("ints", True, None)},
    "ones": {"shape": ("ints", True, None)},
    "full": {"shape": ("ints", True, None), "fill_value": ("number", True, None)},
    "randn": {"shape": ("ints", True, None), "seed": ("int", False, 0)},
    "rand": {"shape": ("ints", True, None), "seed": ("int", False, 0)},
    "arange": {"end": ("number", True, None), "start": ("number", False, 0),
               "step": ("number", False, 1), "shape": ("ints", False, None)},
    "linspace": {"start": ("number", True, None), "end": ("number", True, None),
                 "steps": ("int", True, None), "shape": ("ints", False, None)},
    "eye": {"shape": ("ints", True, None)},
}



def resolved_init(init: dict) -> dict[str, object]:
    """Every parameter of an init spec, defaults filled in (the spec's fn must be known)."""
    return {name: init.get(name, default) for name, (_kind, _req, default) in INIT_FNS[init["fn"]].items()}


DTYPES: tuple[str, ...] = ("float32", "float64")
DEFAULT_DTYPE = "float32"
