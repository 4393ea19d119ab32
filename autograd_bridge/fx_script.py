"""Importing from a Python file: what it defines (read with `ast`, never run), and running it to
import one function or nn.Module class (autograd_bridge.fx_import). Running the file executes
the user's code, as torch.fx does; listing what it defines does not.

No torch at import: the GUI lists a file's definitions on its own thread.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import types

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


def list_definitions(path: str) -> tuple[list[str], list[str]]:
    """(top-level functions, top-level classes that look like nn.Modules), without running the
    file. A class counts when a base is spelt `...Module` or is such a class defined above it."""
    tree = _parse(_read(path), path)
    functions, modules = [], []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name != EXAMPLE_INPUTS and not stmt.name.startswith("_"):
            functions.append(stmt.name)
        elif isinstance(stmt, ast.ClassDef):
            bases = [ast.unparse(b) for b in stmt.bases]
            if any(b.split(".")[-1] == "Module" or b in modules for b in bases):
                modules.append(stmt.name)
    return functions, modules


def parse_input(text: str) -> tuple[str, tuple[int, ...]]:
    """'x=2,3' (or 2x3, [2, 3], an empty shape for a scalar) -> ('x', (2, 3))."""
    name, eq, shape = text.partition("=")
    if not eq or not name.strip().isidentifier() or not _SHAPE.match(shape):
        raise ImportRefused(f"--input {visible(text)!r}: expected NAME=SHAPE, e.g. x=2,3")
    return name.strip(), tuple(int(n) for n in re.findall(r"\d+", shape))


def run_script(path: str) -> types.ModuleType:
    """Execute the file as a module of its own (its folder on sys.path meanwhile, so it can
    import its neighbours); refusals name the line."""
    source = _read(path)
    code = compile(_parse(source, path), path, "exec")
    module = types.ModuleType("gradcanvas_import_" + re.sub(r"\W", "_", os.path.basename(path)))
    module.__file__ = os.path.abspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    sys.modules[module.__name__] = module  # dataclasses and pickling look modules up by name
    try:
        from autograd_bridge.fx_user import user_code

        with user_code("running the script"):
            exec(code, module.__dict__)  # noqa: S102 - importing runs the user's file, as the docs say
    finally:
        sys.path.remove(folder)
    return module


def import_script(path: str, function: str | None = None, module: str | None = None,
                  inputs: list[str] = ()):  # noqa: ANN201 - an fx_import.Imported
    """Run the file and import `function` or `module` from it. A function's example inputs are
    its defaults; a module class is built without arguments and called on what the file's
    example_inputs() returns. `inputs` ('x=2,3') override both with seeded randn tensors."""
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
        values = {}
        for arg, p in inspect.signature(obj).parameters.items():
            if arg in given:
                values[arg] = randn(arg)
            elif p.default is not inspect.Parameter.empty:
                values[arg] = p.default
            else:
                raise ImportRefused(f"{visible(name)}: the argument {visible(arg)} has no default: "
                                    f"give it with --input {visible(arg)}=SHAPE")
        return import_function(obj, values)
    with user_code(f"{name}()"):
        instance = obj()
    forward = list(inspect.signature(instance.forward).parameters)
    if given:
        unknown = [a for a in given if a not in forward]
        if unknown:
            raise ImportRefused(f"{visible(name)}.forward has no argument {visible(unknown[0])} "
                                f"(it takes {visible(', '.join(forward))})")
        example = tuple(randn(a) for a in forward if a in given)
    elif callable(defined.__dict__.get(EXAMPLE_INPUTS)):
        with user_code(f"{EXAMPLE_INPUTS}()"):
            example = defined.__dict__[EXAMPLE_INPUTS]()
        example = example if isinstance(example, tuple) else (example,)
    else:
        raise ImportRefused(f"{visible(shown)}: to import {visible(name)}, define {EXAMPLE_INPUTS}() returning "
                            f"the inputs of forward, or give them with --input NAME=SHAPE")
    return import_module(instance, example)
