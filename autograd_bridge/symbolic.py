"""Symbolic partials: ∂target/∂leaf as a formula (sympy, simplified), for graphs of 0-d tensors
and elementwise ops: `∂y/∂x = 4*x`.

Each op's formula is its catalogue entry's `sympy` text (graph.ops.spec.OpSpec), parsed on
first use, with its ports and attributes in braces. Leaves that require grad become symbols
named after their ids; other leaves are replaced by their values (example 01 gives 4*x, not
2*two*x). sympy is imported here only, on first use: commands that do not ask for formulas pay
nothing. No torch: values come in as plain numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

from graph.model import CheckedGraph

MAX_OPS = 60  # more ops than this: no formula (simplify grows fast with the expression)
# A derivative of more operations (sympy.count_ops) than this is not simplified: sympy.simplify
# has no time limit and its time grows steeply with the size (through lesson 8's sigmoids: 45
# operations half a second, 76 four seconds, 162 minutes) while it seldom shortens such a one.
SIMPLIFY_MAX_OPS = 40
SHOWN_MAX_OPS = 100  # past it, not even the unsimplified derivative: too long to read
# The target's expression written out as a tree (a node used twice counted twice) of more
# operations than this is not differentiated: its derivative would be far past SHOWN_MAX_OPS, and
# sympy.diff's time (and recursion) grows with it (a chain of 30 sigmoids: 0.4 s, of 60: too deep).
EXPRESSION_MAX_OPS = 120


@dataclass
class Formulas:
    """∂target/∂leaf per requires-grad leaf the target depends on, as sympy's string form, and
    its value at the point (None where a float cannot hold it: `unvalued` says why); `reason`
    says why there are none (a clause: the caller writes "no formula: " or "no formula for
    ∂y/∂x: " before it)."""

    target: str
    formulas: dict[str, str] = field(default_factory=dict)
    values: dict[str, float | None] = field(default_factory=dict)
    unvalued: dict[str, str] = field(default_factory=dict)
    # torch's own partial where it differs from the formula's value (the formula is exact at the
    # point; torch rounds each step: sqrt(log(exp(1e-30))) is inf in torch, 5e14 by the formula)
    torch_differs: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    unsimplified: set[str] = field(default_factory=set)  # leaves whose formula is as differentiated


@cache
def _template(text: str) -> tuple[object, dict[str, object]]:
    """The op's sympy text parsed once, with a placeholder symbol per name in braces."""
    import re

    import sympy

    names = re.findall(r"\{(\w+)\}", text)
    holders = {n: sympy.Symbol(f"_hole_{n}") for n in names}
    expr = sympy.sympify(re.sub(r"\{(\w+)\}", r"_hole_\1", text), locals=dict(holders))
    return expr, holders


@cache
def _template_ops(text: str) -> int:
    import sympy

    return int(sympy.count_ops(_template(text)[0]))


def expression_ops(graph: CheckedGraph, target: str) -> int:
    """How many operations the target's expression has written out as a tree (sympy.count_ops
    of it, about), counted on the graph before sympy builds anything: a node whose value is used
    twice (x*x) counts twice, so a chain of such doubles at every step."""
    ops: dict[str, int] = {}
    for n in upstream(graph, target):
        node = graph.nodes[n]
        if node.is_tensor:
            ops[n] = 0
            continue
        text = node.spec.sympy
        ops[n] = _template_ops(text) + sum(text.count(f"{{{p}}}") * ops[src] for p, src in graph.inputs[n].items())
    return ops[target]


def _number(v: float, dtype: str | None) -> object:
    """A leaf's value as sympy writes it: an integer or a short fraction when it is one, else a
    float with the digits its dtype holds."""
    import sympy

    if float(v).is_integer():
        return sympy.Integer(int(v))
    r = Fraction(v).limit_denominator(64)
    if float(r) == v:
        return sympy.Rational(r.numerator, r.denominator)
    return sympy.Float(f"{v:.8g}" if dtype in (None, "float32") else repr(float(v)))


def upstream(graph: CheckedGraph, target: str) -> list[str]:
    """The target and every node it depends on, in the graph's order."""
    seen, todo = {target}, [target]
    while todo:
        for src in graph.inputs[todo.pop()].values():
            if src not in seen:
                seen.add(src)
                todo.append(src)
    return [n for n in graph.order if n in seen]


def why_not(graph: CheckedGraph, target: str, shapes: dict[str, tuple[int, ...]],
            name: Callable[[str], str] = str) -> str | None:
    """Why no formula applies to the target's part of the graph (None: one does); nodes named by
    `name` (ids by default, as the command line names them; the app passes titles)."""
    part = upstream(graph, target)
    ops = [n for n in part if not graph.nodes[n].is_tensor]
    if len(ops) > MAX_OPS:
        return f"{name(target)} depends on {len(ops)} ops (formulas are shown up to {MAX_OPS})"
    for n in part:
        if shapes.get(n) != ():
            # said as a fact of the graph: the node asked about may well be a scalar itself
            return (f"formulas are for graphs of 0-d tensors, and {name(target)} depends on {name(n)}, which has "
                    f"shape {list(shapes.get(n, ()))}, not a scalar")
        node = graph.nodes[n]
        if not node.is_tensor and node.spec.sympy is None:
            return f"{name(n)} ({node.op}) is not an elementwise op with a formula"
    return None


def value_at(derivative: object, symbols: list[object], point: list[float]) -> tuple[float | None, str | None]:
    """A formula's value at the point, in float arithmetic as torch's is, or None and why a
    float cannot hold it. Not sympy's evalf: exact arithmetic takes minutes on exp(exp(…)) six
    deep, whose value has millions of digits. lambdify turns sympy's own printing of the
    formula (catalogue functions, numbers; dummy argument names) into a function of math's."""
    import sympy

    try:
        value = sympy.lambdify(symbols, derivative, modules="math", dummify=True)(*point)
        return float(value), None
    except OverflowError:
        return None, "too large for a float here: an intermediate overflows"
    except ZeroDivisionError:
        return None, "divides by zero here"
    except (ValueError, TypeError):  # math's domain errors; a complex number from a power
        return None, "not a real number here"


def symbolic_partials(graph: CheckedGraph, target: str, point: dict[str, float],
                      shapes: dict[str, tuple[int, ...]], name: Callable[[str], str] = str) -> Formulas:
    """∂target/∂leaf for every requires-grad leaf the target depends on, simplified (or, past
    SIMPLIFY_MAX_OPS, as differentiated), and its value at `point` (every leaf's value).
    `shapes`: every node's shape. Reasons name nodes by `name` (why_not); formulas by id."""
    out = Formulas(target)
    out.reason = why_not(graph, target, shapes, name)
    if out.reason is not None:  # sympy (~1 s to import the first time) only where a formula applies
        return out
    import sympy

    size = expression_ops(graph, target)
    if size > EXPRESSION_MAX_OPS:
        return Formulas(target, reason=f"too long to differentiate ({name(target)} written out has about "
                                       f"{size} operations; formulas are given up to {EXPRESSION_MAX_OPS})")
    exprs: dict[str, object] = {}
    symbols: dict[str, object] = {}
    for n in upstream(graph, target):
        node = graph.nodes[n]
        if node.is_tensor:
            if n not in point:
                return Formulas(target, reason=f"{name(n)} is not a floating-point number")
            if node.requires_grad:  # real: else tanh's assumptions grow ~3× a level (10 nested: 9 s)
                symbols[n] = exprs[n] = sympy.Symbol(n, real=True)
            else:
                exprs[n] = _number(point[n], node.dtype)
            continue
        template, holders = _template(node.spec.sympy)
        given = {**node.resolved_attrs(), **{p: exprs[src] for p, src in graph.inputs[n].items()}}
        exprs[n] = template.xreplace({h: sympy.sympify(given[name]) for name, h in holders.items()})
    if not symbols:
        out.reason = f"{name(target)} depends on no leaf that requires grad"
    too_long = []
    for n, s in symbols.items():
        d = sympy.diff(exprs[target], s)
        size = sympy.count_ops(d)
        if size > SHOWN_MAX_OPS:
            too_long.append(f"∂{name(target)}/∂{name(n)} has {size}")
            continue
        if size <= SIMPLIFY_MAX_OPS:
            d = sympy.simplify(d)
        else:
            out.unsimplified.add(n)
        out.formulas[n] = str(d)
        out.values[n], why = value_at(d, list(symbols.values()), [point[m] for m in symbols])
        if why is not None:
            out.unvalued[n] = why
    if too_long:
        out.reason = (f"too long to simplify ({', '.join(too_long)} operations; formulas are "
                      f"simplified up to {SIMPLIFY_MAX_OPS} operations, shown as differentiated up to "
                      f"{SHOWN_MAX_OPS})")
    return out


def shown(formula: str) -> str:
    """A formula as people read it: 4·x, x^2."""
    return formula.replace("**", "^").replace("*", "·")


def formula_line(y: str, x: str, formula: str, simplified: bool, value: float | None = None,
                 no_value: str | None = None, torch_value: float | None = None) -> str:
    """∂y/∂x = formula [= its value at the point, or why a float cannot hold it], marked when not
    simplified: one wording for the command line, the Derivatives panel and the Result caption
    (which gives neither value nor no_value: the box shows the number)."""
    from autograd_bridge.formatting import number

    text = f"∂{y}/∂{x} = {formula}"
    if value is not None:
        text += f" = {number(value)}" if formula != number(value) else ""  # not "∂y/∂x = 0 = 0"
        if torch_value is not None:
            text += f" (exact at this point; torch's rounded steps give {number(torch_value)})"
    elif no_value is not None:
        text += f" (its value: {no_value})"
    return text if simplified else text + " (not simplified: too long)"


def formulas_for(compiled: object, values: dict, target: str, name: Callable[[str], str] = str,
                 grads: dict | None = None) -> Formulas:
    """symbolic_partials at the point of one run: `compiled` an engine.Compiled, `values` its
    forward's tensors (the CLI's grad --symbolic and the inspector's task); `grads`, that run's
    partials, to say where torch's number differs from the formula's, or what torch gives where
    the formula has no value.

    A formula holds where its function is defined: sympy cancels x/x to 1 and exp(log(x)) to x,
    whose derivatives have values where the forward pass has none (x = 0; x < 0). Where a node
    of the target's is not finite in the forward pass and torch's partial differs, the formula's
    value is not given (torch's nan is no rounding of it); where torch's agrees, it is
    (log(log(log(x))) at 1.5: nan, with a real derivative both ways)."""
    from autograd_bridge.formatting import number

    shapes = {n: tuple(t.shape) for n, t in values.items()}
    point = {n: float(values[n].detach().reshape(())) for n in compiled.source.leaf_ids
             if values[n].numel() == 1 and values[n].is_floating_point()}
    out = symbolic_partials(compiled.graph, target, point, shapes, name)
    if not out.values:
        return out
    forward = {n: float(values[n].detach()) for n in upstream(compiled.graph, target)}  # 0-d, as formulas ask
    not_finite = next((n for n, v in forward.items() if not math.isfinite(v)), None)
    for n, value in out.values.items():
        grad = float(grads[n]) if grads is not None and grads.get(n) is not None else None
        if value is not None and grad is not None and not _same(value, grad):
            if not_finite is None:
                out.torch_differs[n] = grad
                continue
            out.values[n] = None
            out.unvalued[n] = f"none here: {name(not_finite)} = {number(forward[not_finite])} in the forward pass"
        if out.values[n] is None and grad is not None:
            out.unvalued[n] += f"; torch gives {number(grad)}"
    return out


def _same(exact: float, rounded: float) -> bool:
    """Whether torch's partial is the formula's value up to rounding (both nan or both the same inf too)."""
    if math.isnan(exact) or math.isnan(rounded):
        return math.isnan(exact) and math.isnan(rounded)
    return math.isclose(exact, rounded, rel_tol=1e-3, abs_tol=1e-6)
