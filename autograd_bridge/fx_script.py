"""Importing from a Python file: what it defines (read with `ast`, never run), and running it to
import one function or nn.Module class (autograd_bridge.fx_import). Running the file executes
the user's code, as torch.fx does; listing what it defines does not.

No torch at import: the GUI lists a file's definitions on its own thread.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import os
import re
import stat
import sys
import types
from collections.abc import Iterator
from typing import NamedTuple, NoReturn

from graph.errors import GraphError, ValueSpecError
from graph.limits import check_shape
from graph.safetext import visible


class ImportRefused(GraphError):
    """Code the import cannot turn into a graph: one line, naming where and why."""


class CodeRaised(ImportRefused):
    """The user's own code raised (or exited) while it ran for the import (fx_user.user_error)."""


EXAMPLE_INPUTS = "example_inputs"  # the function a script's module class takes its inputs from
MAX_SCRIPT_BYTES = 8 * 2**20  # a script to import: far above any real one, far below what hangs the app
_SHAPE = re.compile(r"^\s*\(?\[?\s*(\d+(\s*[,x×]\s*\d+)*)?\s*\]?\)?\s*$")


def _read(path: str) -> str:
    """The file's text, decoded as Python decodes it: UTF-8 unless a coding line (PEP 263) or a
    BOM says otherwise."""
    import tokenize

    name = visible(os.path.basename(path))
    kind = {".json": "a JSON file (a GradCanvas graph or lesson opens with `gradcanvas FILE`)",
            ".ipynb": "a notebook (export it as a .py script first: jupyter nbconvert --to script)"}
    suffix = os.path.splitext(path)[1].lower()
    if suffix in kind:  # else Python would run the JSON and fail on its first `true`
        raise ImportRefused(f"{name} is {kind[suffix]}, not a Python script to import")
    try:  # a regular file of bounded size, as graphs are read (graph.fileformat.read_text):
        # opening a FIFO would wait for a writer, and /dev/zero never ends
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            what = "it is a folder" if stat.S_ISDIR(mode) else "it is a device, pipe or socket"
            raise ImportRefused(f"{visible(path)}: cannot read: {what}, not a regular file")
        with open(path, "rb") as f:
            data = f.read(MAX_SCRIPT_BYTES + 1)
    except OSError as e:
        raise ImportRefused(f"{visible(path)}: cannot read: {e.strerror or e}") from None
    if len(data) > MAX_SCRIPT_BYTES:
        raise ImportRefused(f"{name}: larger than {MAX_SCRIPT_BYTES // 2**20} MiB, too large a script to import")
    try:  # decoded as tokenize.open decodes: a coding line or BOM, universal newlines
        encoding, _lines = tokenize.detect_encoding(io.BytesIO(data).readline)
        return io.TextIOWrapper(io.BytesIO(data), encoding, line_buffering=True).read()
    except UnicodeDecodeError as e:
        raise ImportRefused(f"{name}: cannot read: byte {e.start} is not {e.encoding} text (a line "
                            "'# -*- coding: NAME -*-' at the top names the file's encoding)") from None
    except SyntaxError as e:  # the coding line names an encoding Python does not know
        raise ImportRefused(f"{name}: cannot read: {e.msg}") from None


def _parse(source: str, path: str) -> ast.Module:
    return _build(ast.parse, source, path)


def _compile(tree: ast.Module, path: str) -> types.CodeType:
    return _build(compile, tree, path, "exec")


def _build(make, source: object, path: str, *mode: str):  # noqa: ANN001, ANN202
    """ast.parse or compile, whose refusals become one line: a syntax error names its line when
    it has one; an expression nested too deeply for the parser (RecursionError, MemoryError)
    and a source it cannot take (ValueError) name the file."""
    name = visible(os.path.basename(path))
    try:
        return make(source, path, *mode)
    except SyntaxError as e:
        line = f" line {e.lineno}" if e.lineno else ""
        raise ImportRefused(f"{name}{line}: syntax error: {visible(e.msg)}") from None
    except (RecursionError, MemoryError):
        raise ImportRefused(f"{name}: cannot parse: an expression nested too deeply for Python's parser") from None
    except ValueError as e:
        raise ImportRefused(f"{name}: cannot parse: {visible(str(e))}") from None


# Bases that make a class an nn.Module, spelt as a file spells them (nn.Sequential, torch.nn.ModuleList):
# a name ending in Module, torch's containers, or any class of torch.nn (nn.Linear).
_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})


def _module_base(base: str, modules: list[str]) -> bool:
    last = base.split(".")[-1]
    in_torch_nn = base.startswith(("nn.", "torch.nn.")) and last[:1].isupper()
    return last.endswith("Module") or last in _CONTAINERS or in_torch_nn or base in modules


class Definitions(NamedTuple):
    """What a file defines at its top level, read without running it (list_definitions)."""

    functions: list[str]
    modules: list[str]  # classes whose bases say they are nn.Modules
    classes: list[str]  # classes with a base from elsewhere (an import): only running the file tells
    bases: dict[str, str]  # each of `classes`: its bases as the file spells them


_BUILTIN_CLASSES = frozenset(n for n, v in vars(builtins).items() if isinstance(v, type))


def _spelt(base: ast.expr) -> str | None:
    """A base spelt as a dotted name (nn.Module), else None (a call, a subscript: Generic[T])."""
    parts = []
    while isinstance(base, ast.Attribute):
        parts.append(base.attr)
        base = base.value
    return ".".join([base.id, *reversed(parts)]) if isinstance(base, ast.Name) else None


def list_definitions(path: str) -> Definitions:
    """The file's top-level functions and classes, without running it. A class is a module when
    a base is spelt `...Module`, is one of torch's containers (`nn.Sequential`, `ModuleList`,
    `ModuleDict`) or another class of torch.nn (`nn.Linear`), or is such a class defined above
    it; it is left out when every base is a builtin class or a class above it that is not a
    module (or it has none); the others (a base imported from another file) may be modules."""
    tree = _parse(_read(path), path)
    found = Definitions([], [], [], {})
    plain = set()  # classes of the file that are not modules
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name != EXAMPLE_INPUTS and not stmt.name.startswith("_"):
            found.functions.append(stmt.name)
        elif isinstance(stmt, ast.ClassDef):
            bases = [_spelt(b) for b in stmt.bases]
            if any(b is not None and _module_base(b, found.modules) for b in bases):
                found.modules.append(stmt.name)
            elif all(b in plain or b in _BUILTIN_CLASSES for b in bases):
                plain.add(stmt.name)
            else:
                found.classes.append(stmt.name)
                found.bases[stmt.name] = ", ".join(b or "…" for b in bases)
    return found


def parse_input(text: str) -> tuple[str, tuple[int, ...]]:
    """'x=2,3' (or 2x3, [2, 3], an empty shape for a scalar) -> ('x', (2, 3))."""
    name, eq, shape = text.partition("=")
    if not eq or not name.strip().isidentifier() or not _SHAPE.match(shape):
        raise ImportRefused(f"--input {visible(text)!r}: expected NAME=SHAPE, e.g. x=2,3")
    try:  # held to the file format's limits: a tensor torch could not make, or 256 MiB of one
        dims = check_shape([int(n) for n in re.findall(r"\d+", shape)])
    except ValueSpecError as e:
        raise ImportRefused(f"--input {name.strip()}: {e.message}") from None
    return name.strip(), dims


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

    code = _compile(_parse(_read(path), path), path)
    module = types.ModuleType("gradcanvas_import_" + re.sub(r"\W", "_", os.path.basename(path)))
    module.__file__ = os.path.abspath(path)
    sys.modules[module.__name__] = module  # dataclasses and pickling look modules up by name
    importlib.invalidate_caches()  # a neighbour written since the last import is found
    with user_code("running the script"), torch.enable_grad():
        exec(code, module.__dict__)  # noqa: S102 - importing runs the user's file, as the docs say
    return module


def _refuse_process_exit(status: object) -> NoReturn:
    """os._exit while a script is imported (_script_scope): one line naming the caller, instead
    of a process that ends in silence with the script's status."""
    from autograd_bridge.fx_user import where_now

    where = where_now()
    raise ImportRefused(f"{where + ': ' if where else ''}the code would end the process "
                        f"(os._exit({visible(repr(status))})) while importing: nothing imported")


@contextlib.contextmanager
def _script_scope(path: str) -> Iterator[None]:
    """The whole import of a script (its top level, building the class, example_inputs(), the
    trace and the check): its folder on sys.path, so a neighbour imported again inside forward is
    found; autograd on; os._exit refused (_refuse_process_exit). After it, what the code may have
    changed is put back: torch's grad mode (an inference habit, torch.set_grad_enabled(False) at
    the top or in __init__, must not reach the import nor later code in the same process), its
    default dtype, sys.path and the working folder (a script that chdirs to find its data); and
    the neighbours it imported are forgotten (_forget_modules_of). Other changes (a patched torch
    function) stay: the app imports in a throwaway process (file_tasks.import_task)."""
    import torch

    folder = os.path.dirname(os.path.abspath(path))
    path_before = list(sys.path)
    known = set(sys.modules)
    default_dtype = torch.get_default_dtype()
    cwd, process_exit = os.getcwd(), os._exit
    sys.path.insert(0, folder)
    os._exit = _refuse_process_exit
    try:
        with torch.enable_grad():  # puts back the mode it found, whatever the code set inside
            yield
    finally:
        os._exit = process_exit
        torch.set_default_dtype(default_dtype)
        added = [os.path.abspath(p) for p in sys.path if p not in path_before]  # by the script
        sys.path[:] = path_before
        with contextlib.suppress(OSError):  # the folder may be gone; the import has its answer anyway
            os.chdir(cwd)
        _forget_modules_of(known, [folder, *added])


def _function_values(obj: object, name: str, given: dict[str, object], randn) -> dict[str, object]:  # noqa: ANN001
    """A function's example arguments: those given (--input), else its defaults; *args and
    **kwargs need none. A name given that it does not take is refused."""
    import inspect

    parameters = inspect.signature(obj).parameters
    unknown = [a for a in given if a not in parameters]
    if unknown:
        raise ImportRefused(f"{visible(name)} has no argument {visible(unknown[0])} "
                            f"(it takes {visible(', '.join(parameters))})")
    values = {}
    for arg, p in parameters.items():
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
    path = os.path.abspath(path)  # before the code runs: it may change the working folder
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
    given: dict[str, tuple[int, ...]] = {}
    for arg, shape in map(parse_input, inputs):
        if arg in given:
            raise ImportRefused(f"--input {visible(arg)} is given twice: give each argument once")
        given[arg] = shape
    name = function or module
    defined = run_script(path)
    obj = defined.__dict__.get(name)
    shown = os.path.basename(path)
    if function is not None and inspect.isclass(obj) and issubclass(obj, nn.Module):
        raise ImportRefused(f"{visible(name)} in {visible(shown)} is an nn.Module class: import it with --module "
                            f"{visible(name)}")
    if module is not None and inspect.isfunction(obj):
        raise ImportRefused(f"{visible(name)} in {visible(shown)} is a function: import it with --function "
                            f"{visible(name)}")
    if function is not None and not inspect.isfunction(obj):
        functions = list_definitions(path).functions
        raise ImportRefused(f"{visible(shown)} defines no function {visible(name)!r}; its functions: "
                            f"{visible(', '.join(functions)) or 'none'}")
    if module is not None and not (inspect.isclass(obj) and issubclass(obj, nn.Module)):
        listed = list_definitions(path)
        modules = [n for n in [*listed.modules, *listed.classes]  # the file's own, as it ran
                   if inspect.isclass(defined.__dict__.get(n)) and issubclass(defined.__dict__[n], nn.Module)]
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
    try:
        if isinstance(example, dict) and all(isinstance(k, str) for k in example):
            return import_module(instance, (), example)
        return import_module(instance, example if isinstance(example, tuple) else (example,))
    except CodeRaised as e:  # often: the file's one example_inputs() made for another of its classes
        raise ImportRefused(f"{e.message} (on what {EXAMPLE_INPUTS}() of {visible(shown)} returns, which every "
                            f"module class there is called on: --input NAME=SHAPE gives others)", e.node_ids) from None
