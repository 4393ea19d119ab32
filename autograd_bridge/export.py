"""Export a graph as standalone Python that needs only torch, in one of three forms (FORMS):

- script: the seed article's style, every partial printed (the default);
- function: `def forward(<leaves that require grad>)` returning the target, the other leaves as
  constants beside it;
- module: an nn.Module whose requires-grad leaves are nn.Parameters and the other leaves buffers
  (in submodules named after the graph's groups, when it has them).

Every form is made of the very lines `Compiled` runs (codegen.Source.lines), so the exported
numbers and the app's cannot differ. The same graph always exports the same text.
A literal tensor too big to write out (codegen.INLINE_LITERAL_MAX) is stored as the base64 of its
raw little-endian bytes, the very numbers the app computes with, decoded with torch alone.
"""

from __future__ import annotations

import ast
import base64
import keyword
import re
from dataclasses import dataclass

import torch

from autograd_bridge.codegen import GENERATED_NAMES, INLINE_LITERAL_MAX, Namespace, Source, id_comment, literal
from autograd_bridge.engine import Compiled, Result
from graph.errors import GraphError
from graph.model import Graph
from graph.safetext import visible

FORMS = ("script", "function", "module")
# What `device = ...` may say: the text is written into the script, so only these shapes.
_DEVICE = re.compile(r"cpu|cuda(:(0|[1-9][0-9]?))?|mps")  # torch.device refuses cuda:01


class ExportError(GraphError):
    pass


def device_line(device: str) -> str:
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise ExportError(f"export: device {visible(str(device))!r} is not one of cpu, cuda, cuda:N, mps")
    return f'device = "{device}"'


def base64_expr(t: torch.Tensor) -> str:
    """Source text that makes a CPU tensor equal to t bit for bit, from the base64 of its bytes.

    Safe by construction: base64 text holds only A-Z a-z 0-9 + / =, so it cannot end the string
    literal; the dtype is a torch attribute name and the shape validated ints.
    """
    array = t.detach().cpu().contiguous().numpy()
    raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()  # little-endian
    text = base64.b64encode(raw).decode("ascii")
    dtype = str(t.dtype).removeprefix("torch.")
    return (f'torch.frombuffer(bytearray(base64.b64decode("{text}")), dtype=torch.{dtype})'
            f".reshape({literal(tuple(t.shape))})")


def _literals_block(src: Source, tensors: list[torch.Tensor]) -> list[str]:
    """The `literals` list that big literal leaves copy from (codegen.INLINE_LITERAL_MAX)."""
    if not src.literal_ids:
        return []
    return ["# Literal tensors too big to write out: the raw bytes of their numbers, in base64.",
            "literals = [",
            *(f"    {base64_expr(v)},  {id_comment(n)}" for n, v in zip(src.literal_ids, tensors, strict=True)),
            "]", ""]


@dataclass
class ScriptParts:
    """The script export's lines by stage; the script joins them, the notebook
    (autograd_bridge.notebook) gives each stage a cell of its own, so the two never hold
    different code."""

    setup: list[str]  # what the script is, imports, the device, big literals
    leaves: list[str]
    forward: list[str]  # one line per op node, then retain_grad() for the kept non-leaves
    backward: list[str]  # backward() from the target, then its value printed
    partials: list[str]  # .grad printed: every node's, or only the leaves' without retain_grad
    compiled: Compiled  # compiled on the CPU, as the script runs
    result: Result  # the run of these very lines, before any text was written


def _run(graph: Graph, target: str, grad_output: object, dtype: str | None,
         memory_limit: int | str | None = "default") -> tuple[Compiled, Result]:
    """Compile and run the very lines the export will hold, on the CPU: this checks the target and
    the grad-output exactly as the app does, and code that would crash (a value torch refuses, an
    op that fails only on real data) is never written: the error names its node instead.
    memory_limit: as budget.limit_for takes it ("default", bytes, or None for none)."""
    from autograd_bridge import budget

    compiled = Compiled(graph, "cpu", dtype)
    # As every run the app makes: one too big for the memory limit is refused before anything
    # is allocated (grad says how to raise it; the export runs it only to check it).
    limit, why = budget.limit_for(memory_limit, "cpu")
    budget.check(compiled, limit, why=why)
    return compiled, compiled.run(target, grad_output)


def _big_grad_output(grad_output: object, target_value: torch.Tensor) -> torch.Tensor | None:
    """A big grad-output is stored like a big literal: as the app makes it, in the target's dtype."""
    if grad_output is None or target_value.numel() <= INLINE_LITERAL_MAX:
        return None
    return torch.tensor(grad_output, dtype=target_value.dtype)


def _setup(what: str, compiled: Compiled, device: str, big_grad_output: torch.Tensor | None) -> list[str]:
    src = compiled.source
    return [
        f"# GradCanvas export: {what}",
        "# Needs only torch. Variables are named after the node ids (made into safe identifiers).",
        *(["import base64", ""] if src.literal_ids or big_grad_output is not None else []),
        "import torch",
        "",
        device_line(device),
        "",
        *_literals_block(src, compiled.literal_data()),
    ]


def _backward(src: Source, result: Result, grad_output: object, big_grad_output: torch.Tensor | None) -> list[str]:
    target = result.target
    t = src.names[target]
    lines = [f"# Backward from the target {t}."]
    if target not in src.requires_grad:
        lines.append(f"# {t} depends on no tensor with requires_grad=True, so {t}.backward() would "
                     "raise: every .grad stays None.")
    elif grad_output is None:
        lines.append(f"{t}.backward()")
    else:
        gradient = (f"torch.tensor({literal(grad_output)}, dtype={t}.dtype, device=device)"
                    if big_grad_output is None else f"{base64_expr(big_grad_output)}.to(device)")
        if result.values[target].numel() == 1:  # backward() would seed it with 1 itself; v scales that seed
            why = f"# {t} is a scalar: the grad-output v scales the seed of backward(), so .grad is v * d{t}/d(node)."
        else:
            why = f"# {t} is not a scalar: backward() needs a grad-output (a vector-Jacobian product)."
        lines += [why, f"{t}.backward(gradient={gradient})"]
    return [*lines, "", f'print({_label(target, " =")}, {t}.detach())']


def _label(node_id: str, suffix: str) -> str:
    """What a print says a number is, as a string literal: the node's id as `gradcanvas grad` shows
    it (graph.safetext.visible) then suffix, so each number is read under its own node's name
    (`q.weight.grad =`, not its variable q_weight_2). ascii() keeps any id one closed literal."""
    text = visible(node_id) + suffix
    plain = text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
    return f'"{text}"' if plain else ascii(text)


def _grad_print(node_id: str, tensor: str) -> str:
    """The line printing a node's .grad (tensor: source text reaching the node's tensor), in every
    form, under the node's label (_label)."""
    return f'print({_label(node_id, ".grad =")}, {tensor}.grad)  {id_comment(node_id)}'


def _retained(src: Source, retain_grad: bool) -> list[str]:
    """The non-leaves whose .grad is kept and printed: those that require grad, if asked."""
    return [n for n in src.op_ids if n in src.requires_grad] if retain_grad else []


def script_parts(graph: Graph, target: str, grad_output: object = None, dtype: str | None = None, *,
                 device: str = "cpu", retain_grad: bool = True,
                 memory_limit: int | str | None = "default") -> ScriptParts:
    compiled, result = _run(graph, target, grad_output, dtype, memory_limit)
    src = compiled.source
    t = src.names[target]
    big_grad_output = _big_grad_output(grad_output, result.values[target])
    setup = _setup(f"the partials of target {ascii(target)} with respect to every node.", compiled, device,
                   big_grad_output)
    leaves = ["# Leaf tensors. requires_grad=True asks PyTorch to fill in .grad for them.",
              *(src.lines[n] for n in src.leaf_ids)]
    forward = ["# Forward: one line per node.", *([src.seed_line] if src.seed_line else []),
               *(src.lines[n] for n in src.op_ids)]
    retained = _retained(src, retain_grad)
    if retained:
        forward += ["", "# Non-leaf tensors keep no .grad unless asked: retain_grad() asks."]
        forward += [f"{src.names[n]}.retain_grad()" for n in retained]
    each = "node" if retain_grad else "leaf"
    printed = src.order if retain_grad else src.leaf_ids
    # With a grad-output v, .grad holds the vector-Jacobian product, and the comment says so.
    partial = f"d{t}/d({each})" if grad_output is None else f"v^T d{t}/d({each}) (v the grad-output)"
    partials = [f"# {partial} for every {each}. None: the {each} does not require grad, or {t} does not",
                "# depend on it (PyTorch leaves .grad as None)."]
    partials += [_grad_print(n, src.names[n]) for n in printed]
    return ScriptParts(setup, leaves, forward, _backward(src, result, grad_output, big_grad_output), partials,
                       compiled, result)


def export_script(graph: Graph, target: str, grad_output: object = None, dtype: str | None = None, *,
                  device: str = "cpu", retain_grad: bool = True, memory_limit: int | str | None = "default") -> str:
    p = script_parts(graph, target, grad_output, dtype, device=device, retain_grad=retain_grad,
                     memory_limit=memory_limit)
    return "\n".join([*p.setup, *p.leaves, "", *p.forward, "", *p.backward, *p.partials]) + "\n"


def _free(base: str, taken: set[str]) -> str:
    """A name for the export's own variables that no node's variable already has."""
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def _indent(lines: list[str], depth: int = 1) -> list[str]:
    return [("    " * depth + line) if line else "" for line in lines]


def _tuple(names: list[str]) -> str:
    return f"({', '.join(names)}{',' if len(names) == 1 else ''})"


def _seeded(src: object) -> list[str]:
    """The forward's first line when the graph draws random numbers (dropout): the seed the app
    runs with, so a standalone forward() draws the app's masks."""
    return [src.seed_line] if src.seed_line else []


def export_function(graph: Graph, target: str, grad_output: object = None, dtype: str | None = None, *,
                    device: str = "cpu", retain_grad: bool = True, memory_limit: int | str | None = "default") -> str:
    """`def forward(<leaves that require grad>)` returning the target; the other leaves are constants
    beside it, and example_inputs() gives the graph's own values of the arguments."""
    compiled, result = _run(graph, target, grad_output, dtype, memory_limit)
    src = compiled.source
    t = src.names[target]
    taken = set(src.names.values())
    kept, example, each = _free("intermediates", taken), _free("example_inputs", taken), _free("tensor", taken)
    args = [n for n in src.leaf_ids if n in src.requires_grad]
    constants = [n for n in src.leaf_ids if n not in src.requires_grad]
    arg_names = [src.names[n] for n in args]
    retained = _retained(src, retain_grad)
    big_grad_output = _big_grad_output(grad_output, result.values[target])
    lines = _setup(f"target {ascii(target)} as a function of the leaves that require grad.", compiled, device,
                   big_grad_output)
    if constants:
        lines += ["# Constants: the leaves that do not require grad.", *(src.lines[n] for n in constants), ""]
    if retained:
        lines += ["# forward() keeps its intermediate tensors here, so that their .grad can be read.",
                  f"{kept} = {{}}", ""]
    body = [*_seeded(src), *(src.lines[n] for n in src.op_ids),
            *(f'{kept}["{src.names[n]}"] = {src.names[n]}' for n in retained), f"return {t}"]
    params = argument_names(args, src.names, body)
    renamed = [f"{var} = {param}  # the argument keeps its own name; the lines below call it {var}"
               for param, var in zip(params, arg_names, strict=True) if param != var]
    lines += ["", f"def forward({', '.join(params)}):",
              f'    """{t} from the leaves that require grad: one line per node."""',
              *_indent([*renamed, *body]), "", "",
              f"def {example}():",
              '    """The graph\'s own values of forward()\'s arguments."""',
              *_indent([src.lines[n] for n in args]),
              f"    return {_tuple(arg_names)}", "", ""]
    demo = [*([f"{_tuple(arg_names)} = {example}()"] if args else []), f"{t} = forward({', '.join(arg_names)})"]
    if retained:
        demo += ["# Non-leaf tensors keep no .grad unless asked: retain_grad() asks, before backward().",
                 f"for {each} in {kept}.values():", f"    {each}.retain_grad()"]
    demo += _backward(src, result, grad_output, big_grad_output)
    demo += [_grad_print(n, src.names[n]) for n in args]
    demo += [_grad_print(n, f'{kept}["{src.names[n]}"]') for n in retained]
    lines += ['if __name__ == "__main__":', *_indent(demo)]
    return "\n".join(lines) + "\n"


def argument_names(arg_ids: list[str], names: dict[str, str], body: list[str]) -> list[str]:
    """forward()'s parameters, one per leaf in arg_ids: its variable (names), or the node's id itself
    where that id is an identifier only a builtin's or soft keyword's name kept from being a
    variable (codegen.RESERVED: `input`, `sum`, `type`), so an imported function's keyword call
    forward(input=x) still works. A parameter shadows a builtin only inside forward(), harmless
    unless forward's own lines (body, parsed: not its comments) use that name (`float('inf')`);
    a hard keyword, a __name and a name the generated code uses (torch, device) stay renamed."""
    used = None
    params = []
    for n in arg_ids:
        param = names[n]
        if (n != param and n.isascii() and n.isidentifier() and not keyword.iskeyword(n)
                and not n.startswith("__") and n not in GENERATED_NAMES):
            if used is None:  # parsed once, and only where some leaf could keep its id
                used = {v.id for v in ast.walk(ast.parse("\n".join(body))) if isinstance(v, ast.Name)}
            if n not in used:
                param = n
        params.append(param)
    return params


def _module_attrs() -> frozenset[str]:
    """Names an nn.Module already has: a parameter or buffer cannot take them (`training`, `to`)."""
    return frozenset(dir(torch.nn.Module()))


def _part(text: str, taken: set[str], reserved: frozenset[str]) -> str:
    """One part of a name in the module's state: kept exactly where torch takes it (any text without
    a '.', as in `heads.task-a.weight` of an nn.ModuleDict), so the original's state_dict loads by
    name; else made an identifier by codegen's Namespace; never a name the module already has or a
    sibling took (then a trailing _)."""
    keep = isinstance(text, str) and text and "." not in text
    part = text if keep else Namespace().name(str(text))
    while part in reserved or part in taken:
        part += "_"
    taken.add(part)
    return part


def state_names(graph: Graph, src: Source) -> dict[str, tuple[str, ...]]:
    """Each leaf's place in the exported module: (submodule, …, attribute). A leaf in no group is
    an attribute of the module itself, named as its id; a leaf in a group lives in that group's
    submodule (nested as the groups nest), named by its id less the group's (`conv1.weight` in
    group `conv1`: `weight`). The groups' leaves are named first: an imported module's state keeps
    its names, an argument named like a submodule (forward(self, fc)) is the one renamed. Parts
    are written into the code only through _name_literal or as identifiers (_state_expr)."""
    reserved = _module_attrs()
    groups, group_of = graph.groups, graph.group_of  # a Graph's, or the CheckedGraph's copies
    taken: dict[tuple[str, ...], set[str]] = {}
    group_path: dict[str, tuple[str, ...]] = {}

    def path_of(gid: str) -> tuple[str, ...]:
        if gid not in group_path:
            parent = groups[gid].parent
            outer = path_of(parent) if parent is not None else ()
            short = gid.removeprefix(parent + ".") if parent is not None else gid
            group_path[gid] = (*outer, _part(short, taken.setdefault(outer, set()), reserved))
        return group_path[gid]

    paths = {}
    grouped = [n for n in src.leaf_ids if group_of.get(n) in groups]
    for n in [*grouped, *(n for n in src.leaf_ids if n not in grouped)]:
        gid = group_of.get(n)
        owner = path_of(gid) if gid in groups else ()
        short = n.removeprefix(gid + ".") if owner else n
        paths[n] = (*owner, _part(short, taken.setdefault(owner, set()), reserved))
    return {n: paths[n] for n in src.leaf_ids}


def _name_literal(name: str) -> str:
    """A state name as a string literal of the generated code: ascii() of a plain str, so quotes,
    backslashes and every character beyond ASCII are escaped and the literal cannot end early."""
    if type(name) is not str:
        raise ExportError(f"export: a state name must be text, not {type(name).__name__}")
    return ascii(name)


def _plain(part: str) -> bool:
    """Written as an attribute: an identifier, but not `__x`, which Python mangles inside the
    class body (`self.__x` reads `self._GraphModule__x`)."""
    return part.isascii() and part.isidentifier() and not keyword.iskeyword(part) and not part.startswith("__")


def _state_expr(me: str, path: tuple[str, ...], kind: str = "") -> str:
    """Source text reaching a submodule (kind "") or a leaf (kind "parameter" or "buffer"):
    attributes where every part is a plain identifier, else get_submodule / get_parameter /
    get_buffer with the dotted name (a part like `0`, as in nn.Sequential, or `task-a`)."""
    if all(_plain(p) for p in path):
        return ".".join([me, *path])
    return f'{me}.get_{kind or "submodule"}({_name_literal(".".join(path))})'


def export_module(graph: Graph, target: str, grad_output: object = None, dtype: str | None = None, *,
                  device: str = "cpu", retain_grad: bool = True, memory_limit: int | str | None = "default") -> str:
    """An nn.Module: the leaves that require grad are nn.Parameters, the others buffers (so .to(),
    .double() and state_dict() carry them); forward() takes nothing and returns the target."""
    compiled, result = _run(graph, target, grad_output, dtype, memory_limit)
    src = compiled.source
    t = src.names[target]
    taken = set(src.names.values())
    cls, me, model = _free("GraphModule", taken), _free("self", taken), _free("model", taken)
    each = _free("tensor", taken)
    paths = state_names(graph, src)
    retained = _retained(src, retain_grad)
    # The dict forward() keeps its intermediate tensors in: named after the state, so the state
    # keeps its names (a submodule called intermediates) and the two never meet.
    kept = _free("intermediates", {*_module_attrs(), *(path[0] for path in paths.values())})
    big_grad_output = _big_grad_output(grad_output, result.values[target])
    lines = _setup(f"target {ascii(target)} as an nn.Module: the leaves that require grad are its parameters.",
                   compiled, device, big_grad_output)
    init = ["super().__init__()"]
    made = set()
    for n in src.leaf_ids:
        *owner, attr = paths[n]
        for i in range(len(owner)):  # each submodule once, before its first member
            if tuple(owner[:i + 1]) not in made:
                made.add(tuple(owner[:i + 1]))
                init.append(f"{_state_expr(me, tuple(owner[:i]))}.add_module({_name_literal(owner[i])}, "
                            "torch.nn.Module())")
        holder = _state_expr(me, tuple(owner))
        var = src.names[n]
        init.append(src.lines[n])
        if n in src.requires_grad:
            init.append(f"{holder}.register_parameter({_name_literal(attr)}, torch.nn.Parameter({var}))")
        else:
            init.append(f"{holder}.register_buffer({_name_literal(attr)}, {var})")
    if retained:
        init.append(f"{me}.{kept} = {{}}  # forward() keeps its intermediate tensors here")
    body = [f"{src.names[n]} = {_state_expr(me, paths[n], 'parameter' if n in src.requires_grad else 'buffer')}"
            for n in src.leaf_ids]
    body += [*_seeded(src), *(src.lines[n] for n in src.op_ids)]
    body += [f'{me}.{kept}["{src.names[n]}"] = {src.names[n]}' for n in retained]
    lines += ["", f"class {cls}(torch.nn.Module):",
              '    """The graph as a module: leaves that require grad are parameters, the others buffers."""', "",
              f"    def __init__({me}):", *_indent(init, 2), "",
              f"    def forward({me}):", f'        """{t}: one line per node."""', *_indent(body, 2),
              f"        return {t}", "", "",
              "def example_inputs():",
              '    """What forward() takes: nothing, every leaf is part of the module."""',
              "    return ()", "", ""]
    demo = [f"{model} = {cls}()", f"{t} = {model}()"]
    if retained:
        demo += ["# Non-leaf tensors keep no .grad unless asked: retain_grad() asks, before backward().",
                 f"for {each} in {model}.{kept}.values():", f"    {each}.retain_grad()"]
    demo += _backward(src, result, grad_output, big_grad_output)
    # Each gradient under its node's id, as the other forms print it; the state keeps torch's names.
    demo += [_grad_print(n, _state_expr(model, paths[n], "parameter")) for n in src.leaf_ids if n in src.requires_grad]
    demo += [_grad_print(n, f'{model}.{kept}["{src.names[n]}"]') for n in retained]
    lines += ['if __name__ == "__main__":', *_indent(demo)]
    return "\n".join(lines) + "\n"


EXPORTERS = {"script": export_script, "function": export_function, "module": export_module}


def export_text(graph: Graph, target: str, grad_output: object = None, dtype: str | None = None, *,
                form: str = "script", device: str = "cpu", retain_grad: bool = True,
                memory_limit: int | str | None = "default") -> str:
    """The export in the form asked for (FORMS); memory_limit holds the check run (_run)."""
    if form not in EXPORTERS:
        raise ExportError(f"export: form {visible(str(form))!r} is not one of {', '.join(FORMS)}")
    device_line(device)  # refused before anything is compiled
    return EXPORTERS[form](graph, target, grad_output, dtype, device=device, retain_grad=retain_grad,
                           memory_limit=memory_limit)
