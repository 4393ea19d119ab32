"""Importing from a Python file: what it defines (read with `ast`, never run), and running it to
import one function or nn.Module class (autograd_bridge.fx_import). Running the file executes
the user's code, as torch.fx does; listing what it defines does not.

No torch at import: the GUI lists a file's definitions on its own thread.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import sys
import types
from collections.abc import Iterator

from graph.errors import GraphError
from graph.safetext import visible


class ImportRefused(GraphError):
    """Code the import cannot turn into a graph: one line, naming where and why."""


EXAMPLE_INPUTS = "example_inputs"  # the function a script's module class takes its inputs from
_SHAPE = re.compile(r"^\s*\(?\[?\s*(\d+(\s*[,x×]\s*\d+)*)?\s*\]?\)?\s*$")


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ImportRefused(f"{visible(path)}: cannot read: {getattr(e, 'strerror', None) or e}") from None


def _parse(source: str, path: str) -> ast.Module:
    try:
        return ast.parse(source, filename=path)
    except SyntaxError as e:
        raise ImportRefused(f"{visible(os.path.basename(path))} line {e.lineno}: syntax error: {e.msg}") from None


# Bases that make a class an nn.Module, spelt as a file spells them (nn.Sequential, torch.nn.ModuleList):
# a name ending in Module, torch's containers, or any class of torch.nn (nn.Linear).
_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})


def _module_base(base: str, modules: list[str]) -> bool:
    last = base.split(".")[-1]
    in_torch_nn = base.startswith(("nn.", "torch.nn.")) and last[:1].isupper()
    return last.endswith("Module") or last in _CONTAINERS or in_torch_nn or base in modules


def list_definitions(path: str) -> tuple[list[str], list[str]]:
    """(top-level functions, top-level classes that look like nn.Modules), without running the
    file. A class counts when a base is spelt `...Module`, is one of torch's containers
    (`nn.Sequential`, `ModuleList`, `ModuleDict`) or another class of torch.nn (`nn.Linear`), or
    is such a class defined above it."""
    tree = _parse(_read(path), path)
    functions, modules = [], []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name != EXAMPLE_INPUTS and not stmt.name.startswith("_"):
            functions.append(stmt.name)
        elif isinstance(stmt, ast.ClassDef):
            if any(_module_base(ast.unparse(b), modules) for b in stmt.bases):
                modules.append(stmt.name)
    return functions, modules


def parse_input(text: str) -> tuple[str, tuple[int, ...]]:
    """'x=2,3' (or 2x3, [2, 3], an empty shape for a scalar) -> ('x', (2, 3))."""
    name, eq, shape = text.partition("=")
    if not eq or not name.strip().isidentifier() or not _SHAPE.match(shape):
        raise ImportRefused(f"--input {visible(text)!r}: expected NAME=SHAPE, e.g. x=2,3")
    return name.strip(), tuple(int(n) for n in re.findall(r"\d+", shape))


_APP_PACKAGES = ("autograd_bridge", "graph", "gradcanvas", "gui")


def _under(file: str, folders: list[str]) -> bool:
    return any(file.startswith(folder + os.sep) for folder in folders)


def _forget_modules_of(known: set[str], folders: list[str]) -> None:
    """Drop from sys.modules the modules imported since `known` from files under `folders` (the
    script's neighbours): the next import reads them from disk again, edited or another project's
    of the same name, rather than this one's as first imported. Installed packages and the
    standard library stay (a C extension cannot load twice)."""
    import sysconfig

    installed = [os.path.abspath(p) for k, p in sysconfig.get_paths().items()
                 if k in ("stdlib", "platstdlib", "purelib", "platlib")]
    for name in set(sys.modules) - known:
        if name.partition(".")[0] in _APP_PACKAGES:  # the app's own, even beside a script in its folder
            continue
        file = getattr(sys.modules[name], "__file__", None)
        file = os.path.abspath(file) if isinstance(file, str) else ""
        if _under(file, folders) and not _under(file, installed):
            del sys.modules[name]


def run_script(path: str) -> types.ModuleType:
    """Execute the file as a module of its own, with autograd on; refusals name the line. Called
    inside _script_scope, which puts its folder on sys.path (it can import its neighbours)."""
    import importlib

    import torch

    from autograd_bridge.fx_user import user_code

    source = _read(path)
    code = compile(_parse(source, path), path, "exec")
    module = types.ModuleType("gradcanvas_import_" + re.sub(r"\W", "_", os.path.basename(path)))
    module.__file__ = os.path.abspath(path)
    sys.modules[module.__name__] = module  # dataclasses and pickling look modules up by name
    importlib.invalidate_caches()  # a neighbour written since the last import is found
    with user_code("running the script"), torch.enable_grad():
        exec(code, module.__dict__)  # noqa: S102 - importing runs the user's file, as the docs say
    return module


@contextlib.contextmanager
def _script_scope(path: str) -> Iterator[None]:
    """The whole import of a script (its top level, building the class, example_inputs(), the
    trace and the check): its folder on sys.path, so a neighbour imported again inside forward is
    found; autograd on. After it, what the code may have changed is put back: torch's grad mode
    (an inference habit, torch.set_grad_enabled(False) at the top or in __init__, must reach
    neither the import nor the app's later computes in the same process), its default dtype and
    sys.path; and the neighbours it imported are forgotten (_forget_modules_of)."""
    import torch

    folder = os.path.dirname(os.path.abspath(path))
    path_before = list(sys.path)
    known = set(sys.modules)
    default_dtype = torch.get_default_dtype()
    sys.path.insert(0, folder)
    try:
        with torch.enable_grad():  # puts back the mode it found, whatever the code set inside
            yield
    finally:
        torch.set_default_dtype(default_dtype)
        added = [os.path.abspath(p) for p in sys.path if p not in path_before]  # by the script
        sys.path[:] = path_before
        _forget_modules_of(known, [folder, *added])


def _function_values(obj: object, name: str, given: dict[str, object], randn) -> dict[str, object]:  # noqa: ANN001
    """A function's example arguments: those given (--input), else its defaults; *args and
    **kwargs need none."""
    import inspect

    values = {}
    for arg, p in inspect.signature(obj).parameters.items():
        if arg in given:
            values[arg] = randn(arg)
        elif p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        elif p.default is not inspect.Parameter.empty:
            values[arg] = p.default
        else:
            raise ImportRefused(f"{visible(name)}: the argument {visible(arg)} has no default: "
                                f"give it with --input {visible(arg)}=SHAPE")
    return values


def import_script(path: str, function: str | None = None, module: str | None = None,
                  inputs: list[str] = ()):  # noqa: ANN201 - an fx_import.Imported
    """Run the file and import `function` or `module` from it. A function's example inputs are
    its defaults; a module class is built without arguments and called on what the file's
    example_inputs() returns (a tuple: forward's arguments in order; a dict: by name; anything
    else: the first argument). `inputs` ('x=2,3') override both with seeded randn tensors, by
    name; the arguments not given take their defaults (with no example_inputs(), a forward whose
    arguments all have defaults takes those). What the code changes in torch and sys is put
    back after (_script_scope)."""
    with _script_scope(path):
        return _import_script(path, function, module, inputs)


def _import_script(path: str, function: str | None, module: str | None, inputs: list[str]):  # noqa: ANN202
    import inspect

    import torch
    from torch import nn

    from autograd_bridge.fx_import import import_function, import_module
    from autograd_bridge.fx_user import user_code

    if (function is None) == (module is None):
        raise ImportRefused("name one function or one module class to import")
    given = dict(parse_input(t) for t in inputs)
    name = function or module
    defined = run_script(path)
    obj = defined.__dict__.get(name)
    functions, modules = list_definitions(path)
    shown = os.path.basename(path)
    if function is not None and not inspect.isfunction(obj):
        raise ImportRefused(f"{visible(shown)} defines no function {visible(name)!r}; its functions: "
                            f"{visible(', '.join(functions)) or 'none'}")
    if module is not None and not (inspect.isclass(obj) and issubclass(obj, nn.Module)):
        raise ImportRefused(f"{visible(shown)} defines no nn.Module class {visible(name)!r}; its modules: "
                            f"{visible(', '.join(modules)) or 'none'}")

    def randn(arg: str) -> torch.Tensor:  # seeded by position, so an import repeats
        generator = torch.Generator().manual_seed(list(given).index(arg))
        return torch.randn(given[arg], generator=generator)

    if function is not None:
        return import_function(obj, _function_values(obj, name, given, randn))
    with user_code(f"{name}()"):
        instance = obj()
    forward = list(inspect.signature(instance.forward).parameters)
    if given:
        unknown = [a for a in given if a not in forward]
        if unknown:
            raise ImportRefused(f"{visible(name)}.forward has no argument {visible(unknown[0])} "
                                f"(it takes {visible(', '.join(forward))})")
        return import_module(instance, (), {a: randn(a) for a in given})
    defaults = all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                   for p in inspect.signature(instance.forward).parameters.values())
    if not callable(defined.__dict__.get(EXAMPLE_INPUTS)) and defaults:  # forward's defaults are its example
        return import_module(instance)
    if not callable(defined.__dict__.get(EXAMPLE_INPUTS)):
        raise ImportRefused(f"{visible(shown)}: to import {visible(name)}, define {EXAMPLE_INPUTS}() returning "
                            f"the inputs of forward, or give them with --input NAME=SHAPE")
    with user_code(f"{EXAMPLE_INPUTS}()"):
        example = defined.__dict__[EXAMPLE_INPUTS]()
    if isinstance(example, dict) and all(isinstance(k, str) for k in example):
        return import_module(instance, (), example)
    return import_module(instance, example if isinstance(example, tuple) else (example,))
