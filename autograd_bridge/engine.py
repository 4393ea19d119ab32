"""Compile a graph to torch, infer shapes, run forward and backward, report every partial.
(~735 lines, one piece: every step reads the one compiled source and its line → node map.)

`Compiled` exec's the source from `codegen` in a namespace holding only torch and math. A
runtime error is traced back to its generated line and so to its node.
"""

from __future__ import annotations

import gc
import itertools
import linecache
import math
import re
import types
import warnings
import weakref
from collections.abc import Callable, Sequence
from operator import itemgetter

import torch

from autograd_bridge.budget import is_out_of_memory, oom_detail
from autograd_bridge.cancel import checked_module
from autograd_bridge.codegen import Source, generate, leaf_expr
from autograd_bridge.finite import FinitePlan, finite_verdict, known_finite
from autograd_bridge.node_checks import (
    NEW_DIM_MINUS_ONE,
    Upstream,
    check_fed_together,
    check_no_grad_inputs,
    check_one_dtype,
    dim_out_of_range,
    error_text,
    note_text,
)
from autograd_bridge.result import Result
from autograd_bridge.warning_blocks import close_warnings, open_warnings
from graph.bulk import paused_gc
from graph.errors import DeviceError, ExecutionError, GraphError, ShapeError, TargetError
from graph.inits import INITS
from graph.model import CheckedGraph, Graph, Node
from graph.ops import FLOAT_DTYPES, leaf_dtype
from graph.values import _short, literal_shape

# Each compile gets its own file name, registered with linecache (as torch.fx does), so a
# traceback from inside generated code shows the generated line and its node comment.
_COMPILES = itertools.count(1)
# What torch raises for a bad input. AssertionError: some of torch's meta-device decompositions
# check shapes with a plain assert (cross_entropy's target, torch/_decomp/decompositions.py).
# ZeroDivisionError: torch's Python shape code divides by a conv's stride or group_norm's num_groups
# (the catalogue's least values, Attr.minimum, refuse 0 first; this stays as a net).
TORCH_ERRORS = (RuntimeError, ValueError, IndexError, TypeError, OverflowError, MemoryError, AssertionError,
                ZeroDivisionError)
# infer_shapes runs real ops on the CPU when they surely touch at most this many elements
# (~20 ms), else torch's meta device.
CPU_SHAPE_WORK = 5e6


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def check_device(device: str, dtype: str | None) -> torch.device:
    kind = device.split(":")[0]
    if kind not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"unknown device {_short(device)}: use cpu, cuda or mps")
    if kind not in available_devices():
        raise DeviceError(f"device {device} is not available on this machine "
                          f"(available: {', '.join(available_devices())})")
    if kind == "mps" and dtype == "float64":
        raise DeviceError("device mps does not support float64: choose float32")
    try:
        dev = torch.device(device)
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device {device} is not available: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
        if dev.type in ("cpu", "mps") and dev.index not in (None, 0):  # torch has one of each
            raise DeviceError(f"device {_short(device)} is not available: there is one {dev.type} "
                              f"device, {dev.type} (or {dev.type}:0)")
    except RuntimeError as e:
        raise DeviceError(f"device {device!r}: {e}") from None
    return dev


def shape_text(t: object) -> str:
    return str(list(t.shape)) if isinstance(t, torch.Tensor) else type(t).__name__


class Note(str):
    """A note that names nodes: it reads with their ids, as the command line shows it, and
    `named(name)` gives it with each named by `name` instead (the app: graph.naming.by_title).
    The ids are kept apart from the words ("{}" fields of `template`), so only they are renamed."""

    def __new__(cls, template: str, *node_ids: str) -> Note:
        note = super().__new__(cls, template.format(*node_ids))
        note.template, note.node_ids = template, node_ids
        return note

    def __getnewargs__(self) -> tuple[str, ...]:  # copy and pickle make it anew from these
        return (self.template, *self.node_ids)

    def named(self, name: Callable[[str], str]) -> str:
        return self.template.format(*map(name, self.node_ids))


def _words(text: str) -> str:
    """Free text (a warning's) as part of a Note's template: its braces are no fields."""
    return text.replace("{", "{{").replace("}", "}}")


class Compiled:
    """One graph compiled for one device and dtype.

    Give it a CheckedGraph (from Graph.validate) to compile without checking again; a plain
    Graph is validated here, once.
    """

    # A big graph makes many objects at once, kept or freed by reference counting: the cyclic
    # GC would only walk them (see graph.bulk). So do forward, run and partials.
    @paused_gc
    def __init__(self, graph: Graph | CheckedGraph, device: str = "cpu", dtype: str | None = None,
                 cancellable: bool = False) -> None:
        self.device = check_device(device, dtype)
        self.graph: CheckedGraph = graph if isinstance(graph, CheckedGraph) else graph.validate()
        self.dtype = dtype
        self.source: Source = generate(self.graph, dtype)
        self.text, self.line_of = self.source.module_text()
        self.filename = f"<gradcanvas graph {next(_COMPILES)}>"
        linecache.cache[self.filename] = (len(self.text), None, self.text.splitlines(True), self.filename)
        weakref.finalize(self, linecache.cache.pop, self.filename, None)
        self._literals: list[torch.Tensor] = []  # the big literals' tensors: see literal_data
        # Cancellable: the generated code's `torch` checks the running compute's cancel token
        # before every op (autograd_bridge.cancel.checked_module); the CLI's runs pay nothing.
        namespace: dict[str, object] = {"torch": checked_module(torch) if cancellable else torch, "math": math,
                                        "literals": self._literals}
        exec(compile(self.text, self.filename, "exec"), namespace)  # noqa: S102 - our own generated source
        self._make_leaves = namespace["make_leaves"]
        self._variables_of = namespace["forward"]  # leaves -> every variable by name
        self._kept_leaves: tuple[torch.Tensor, ...] | None = None  # accumulate mode
        # Fixed per compile, so a run does not work them out again.
        self.ids: list[str] = self.source.leaf_ids + self.source.op_ids  # the order values come in
        self._variables = [self.source.names[n] for n in self.ids]  # forward returns its locals
        self._pick_variables = _picker(self._variables)  # those locals, in ids order, in one C call
        op_variables = self._variables[len(self.source.leaf_ids):]
        # The op values in order, for callers that want the forward as a function of the leaves
        # (gradcheck in the tests).
        variables_of = self._variables_of  # not self: no cycle, so a Compiled is freed when dropped
        self._forward = lambda *leaves: tuple(map(variables_of(*leaves).__getitem__, op_variables))
        self._wrt = [n for n in self.ids if n in self.source.requires_grad]
        self._pick_wrt = _picker(self._wrt)
        self._no_grads: dict[str, None] = dict.fromkeys(self.ids)  # copied, then filled, per run
        self._leaf_data = bool(self.source.literal_ids)  # make_leaves reads `literals`
        self._finite_plans: dict[tuple, FinitePlan] = {}  # see autograd_bridge.finite
        self._finite_skips: dict[tuple, frozenset[int]] = {}
        self._runners: dict[str, Callable[[Compiled], Result]] = {}  # see _fresh_runner
        self._expands = [n for n in self.source.op_ids if self.graph.nodes[n].op == "expand"]  # _no_negative_sizes
        self._upstream: dict[str, Upstream] = {}  # per target, for Result.no_grad_reason

    # ---- running, with errors pointed at their node ----

    def _node_error(self, exc: BaseException, tb: types.TracebackType | None,
                    cls: type[GraphError], target: str | None = None) -> GraphError:
        """Find the generated line that raised; name its node and its inputs' shapes. Running
        out of memory is said so in one line; without a generated line (the backward pass) it
        names `target`."""
        frame, lineno = None, None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                frame, lineno = tb.tb_frame, tb.tb_lineno
            tb = tb.tb_next
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        oom = is_out_of_memory(exc)
        node_id = self.line_of.get(lineno) if lineno is not None else None
        if node_id is None:
            if oom:
                where = f"{target}: out of memory in the backward pass" if target else "out of memory"
                return ExecutionError(where + oom_detail(exc), [target] if target else [])
            return ExecutionError(f"torch failed: {first_line}")
        node = self.graph.nodes[node_id]
        if node.is_tensor:
            if oom:
                return cls(f"{node_id}: out of memory making the tensor{oom_detail(exc)}", [node_id])
            return cls(f"{node_id}: cannot make the tensor: {first_line}", [node_id])
        inputs = self.graph.inputs_of(node_id)
        fed = [p for p in node.ports if p in inputs]  # an unfed optional port passes None
        shapes = [shape_text(frame.f_locals.get(self.source.names[inputs[p]])) for p in fed]
        ids = [node_id, *dict.fromkeys(inputs[p] for p in fed)]
        if oom:
            return cls(f"{node_id}: out of memory computing {node.op} of {' and '.join(shapes)}"
                       f"{oom_detail(exc)}", ids)
        if fed:  # torch's words put in the graph's terms where they mislead (node_checks)
            first_line = error_text(node, exc, [frame.f_locals.get(self.source.names[inputs[p]]) for p in fed],
                                    first_line)
        return cls(f"{node_id}: {node.op} of {' and '.join(shapes)}: {first_line}", ids)

    def _call(self, fn, args, cls: type[GraphError], target: str | None = None):  # noqa: ANN001, ANN202
        try:
            return fn(*args)
        except GraphError:
            raise
        except TORCH_ERRORS as e:
            raise self._node_error(e, e.__traceback__, cls, target) from None

    def _add_notes(self, caught: list[warnings.WarningMessage], notes: list[str]) -> None:
        for w in caught:
            text = note_text(str(w.message)) or w.category.__name__
            node_id = self.line_of.get(w.lineno) if w.filename == self.filename else None
            note = Note("{}: " + _words(text), node_id) if node_id is not None else text
            if note not in notes:
                notes.append(note)

    def infer_shapes(self, notes: list[str] | None = None) -> dict[str, tuple[int, ...]]:
        """Every node's shape, from torch: a run on its meta device (nothing computed), or, when
        the work is surely small, on the CPU with uninitialised leaves.

        Why the CPU at all: torch's meta kernels for elementwise ops are Python, their first use
        imports ~800 modules (~0.8 s) and each call costs 35-300 µs, where the CPU does a small
        op in ~2 µs. A CPU run that fails is run again on meta, whose messages name both shapes
        without computing anything. Where meta computes on, the CPU's refusal may be one torch
        makes only on a real device (softmax of int64, a conv's stride list of the wrong length,
        a float32 bound of 1e300), or one of the CPU alone (the compiled device runs a dtype the
        CPU has no kernel for): a forward of the real leaves on the compiled device, as grad
        runs it, says which. Warnings torch gives on the way are added to `notes` (if given)
        naming their node.
        """
        if self._work_bound() <= CPU_SHAPE_WORK:
            cpu_notes: list[str] = []
            try:
                with torch.no_grad():
                    shapes = self._shapes_on("cpu", cpu_notes)
            except GraphError as cpu_error:
                try:
                    shapes = self._shapes_on("meta", notes)
                except GraphError as meta_error:
                    if _meta_is_worse(cpu_error.__context__, meta_error):
                        raise cpu_error from None
                    raise
                if not is_out_of_memory(cpu_error.__context__):
                    with _RunBlock(self, []):  # its warnings are the meta run's notes
                        self._call(self._variables_of, self.make_leaves(), ExecutionError)
                return shapes
            if notes is not None:
                notes += [n for n in cpu_notes if n not in notes]
            return shapes
        return self._shapes_on("meta", notes)

    def _shapes_on(self, device: str, notes: list[str] | None) -> dict[str, tuple[int, ...]]:
        nodes = self.graph.nodes
        dtypes = [leaf_dtype(nodes[n].dtype, self.dtype) for n in self.source.leaf_ids]
        # Integer and bool leaves on the CPU hold the file's own numbers (an index out of range is
        # refused here, as grad would), else zeros: uninitialised ones would be out-of-range indices.
        own_numbers = device == "cpu"
        leaves = [torch.empty(nodes[n].leaf_shape(), device=device, dtype=getattr(torch, dt)) if dt in FLOAT_DTYPES
                  else torch.tensor(nodes[n].value, dtype=getattr(torch, dt)) if own_numbers and nodes[n].init is None
                  else torch.zeros(nodes[n].leaf_shape(), device=device, dtype=getattr(torch, dt))
                  for n, dt in zip(self.source.leaf_ids, dtypes, strict=True)]
        for n in self.source.op_ids:  # what torch refuses in its own Python, or only with grad on
            spec = self.graph.nodes[n].spec
            if spec.fed_together:
                check_fed_together(self.graph, n)
            if spec.no_grad_inputs:
                check_no_grad_inputs(self.graph, n, self.source.requires_grad)
        with _RunBlock(self, [] if notes is None else notes):
            variables = self._call(self._variables_of, leaves, ShapeError)
        shapes = {n: tuple(variables[v].shape) for n, v in zip(self.ids, self._variables, strict=True)}
        self._check_one_dtype(variables)
        self._check_dims(shapes)
        return shapes

    def _check_one_dtype(self, variables: dict[str, torch.Tensor]) -> None:
        names = self.source.names
        for n in self.source.op_ids:
            if self.graph.nodes[n].spec.one_dtype:
                check_one_dtype(self.graph, n, {p: variables[names[s]].dtype for p, s in self.graph.inputs[n].items()})

    def _work_bound(self) -> float:
        """An upper bound, without shapes, of the elements a real forward touches: an op's
        output and work are at most the product of its inputs' bounds (broadcasting takes the
        larger size per dim, matmul's m·k·n is at most (m·k)·(k·n), the rest shrink or keep),
        times what its attributes add: expand's new sizes, and (1 + 2·p) for each padding p."""
        bound: dict[str, float] = {}
        total = 0.0
        for n in self.source.order:
            node = self.graph.nodes[n]
            if node.is_tensor:
                # A 0 counts as 1: an empty leaf can make a full output ([n, 0] @ [0, n] is [n, n]).
                bound[n] = float(math.prod(max(1, d) for d in node.leaf_shape()))
            else:
                bound[n] = math.prod(bound[s] for s in self.graph.inputs[n].values()) * _growth(node)
            total += bound[n]
            if total > CPU_SHAPE_WORK:
                break
        return total

    def _check_dims(self, shapes: dict[str, tuple[int, ...]]) -> None:
        """Refuse a dim attribute out of range for its input's rank, as torch would on a device.

        Every attribute whose catalogue kind is "dim" or "dims" (Attr.is_dim) names dimensions
        of the op's first input. torch refuses one out of range, but not always on the meta
        device (softmax), so infer_shapes checks them here.
        """
        self._no_negative_sizes(shapes)
        inputs = self.graph.all_inputs()
        for n in self.source.op_ids:
            node = self.graph.nodes[n]
            if any(attr.is_dim for attr in node.spec.attrs):
                src = inputs[n][node.ports[0]]
                out_of_range = dim_out_of_range(node, len(shapes[src]))
                if out_of_range is not None:
                    raise ShapeError(f"{n}: {node.op} of {list(shapes[src])}: {out_of_range}", [n, src])

    def forward(self, leaves: tuple[torch.Tensor, ...] | None = None,
                notes: list[str] | None = None) -> dict[str, torch.Tensor]:
        """Every node's value. Warnings torch gives are added to `notes` (if given)."""
        with _RunBlock(self, [] if notes is None else notes):
            return self._values(leaves)

    def make_leaves(self) -> tuple[torch.Tensor, ...]:
        """The leaf tensors as the compiled source makes them (its own literals and inits)."""
        if self._leaf_data and not self._literals:
            self._call(self.literal_data, [], ExecutionError)
        try:  # as _call does, inline: a call less on every run
            return self._make_leaves(self.device)
        except TORCH_ERRORS as e:
            raise self._node_error(e, e.__traceback__, ExecutionError) from None

    def literal_data(self) -> list[torch.Tensor]:
        """The numbers of the literals the source reads from `literals` (Source.literal_ids), as
        CPU tensors of their dtype, made on first use (shape checks never need them)."""
        if not self._literals:
            self._literals += [torch.tensor(self.graph.nodes[n].value,
                                            dtype=getattr(torch, leaf_dtype(self.graph.nodes[n].dtype, self.dtype)))
                               for n in self.source.literal_ids]
        return self._literals

    def leaf_tensor(self, node: Node) -> torch.Tensor:
        """The tensor a leaf makes from its own value or init, as make_leaves would had it been
        compiled with this node: how a value edit reaches the compiled forward without a new
        compile. The node must have the compiled leaf's shape, dtype and requires_grad."""
        dtype = leaf_dtype(node.dtype, self.dtype)
        node.check(dtype)  # its numbers fit the dtype (remembered: free for a checked node)
        if node.init is None:  # as the compiled line: torch.tensor(<the same numbers>, ...) or a copy of that
            return torch.tensor(node.value, dtype=getattr(torch, dtype), device=self.device,
                                requires_grad=node.requires_grad)
        # An init's expression is source text (graph.inits) made from checked numbers only.
        expr = leaf_expr(node, dtype)
        return self._call(lambda: eval(expr, {"torch": torch, "math": math, "device": self.device}),  # noqa: S307
                          [], ExecutionError)

    def _values(self, leaves: tuple[torch.Tensor, ...] | None) -> dict[str, torch.Tensor]:
        if leaves is None:
            leaves = self.make_leaves()
        try:  # as _call does, inline: a call less on every run
            variables = self._variables_of(*leaves)
        except TORCH_ERRORS as e:
            raise self._forward_error(e) from None
        # Not strict: as many by construction, and strict=True costs ~0.15 µs a run.
        values = dict(zip(self.ids, self._pick_variables(variables), strict=False))
        if self._expands:
            self._no_negative_sizes({n: values[n].shape for n in self._expands})
        return values

    def _no_negative_sizes(self, shapes: dict[str, tuple[int, ...]]) -> None:
        """torch's expand of a 0-d tensor to [0, -1] gives a tensor of size -1 (it checks
        nothing when there are no elements), which everything after it refuses: refuse it here."""
        for n in self._expands:
            if any(d < 0 for d in shapes[n]):
                size = self.graph.nodes[n].resolved_attrs()["size"]
                raise ShapeError(f"{n}: expand to {size}: {NEW_DIM_MINUS_ONE}", [n])

    def _backward_error(self, e: BaseException, target: str, v: torch.Tensor | None = None) -> GraphError:
        """A backward that failed has no generated line to name a node by. Inputs its backward
        refuses (huber_loss's two dtypes) are found by the shape pass, which names the node;
        else the node whose backward raised is asked of torch (_failed_backward)."""
        error = self._node_error(e, e.__traceback__, ExecutionError, target)
        if is_out_of_memory(e):
            return error
        self.infer_shapes()  # raises that node's error, if the shape pass finds one
        return self._failed_backward(target, v) or error

    def _failed_backward(self, target: str, v: torch.Tensor | None) -> GraphError | None:
        """The error of the node whose backward raises, from a forward and backward run again
        in torch's anomaly mode: it keeps each op's forward traceback and warns with the one
        whose backward raised, where the generated line names the node. None if none is named."""
        caught, outer = open_warnings()
        try:
            with torch.autograd.detect_anomaly(check_nan=False):
                values = self._values(None)
                _grad(values[target], v, self._pick_wrt(values))
            return None  # it ran this time
        except TORCH_ERRORS as e:
            failed = e
        finally:
            close_warnings(outer)
        where = re.compile(rf'File "{re.escape(self.filename)}", line (\d+)')
        lines = [int(m) for w in caught for m in where.findall(str(w.message))]
        node_id = self.line_of.get(lines[-1]) if lines else None  # the last: the innermost generated frame
        if node_id is None or self.graph.nodes[node_id].is_tensor:
            return None
        node, inputs = self.graph.nodes[node_id], self.graph.inputs_of(node_id)
        fed = [p for p in node.ports if p in inputs]
        said = str(failed).strip().splitlines()[0] if str(failed).strip() else type(failed).__name__
        return ExecutionError(f"{node_id}: {node.op} of {' and '.join(shape_text(values[inputs[p]]) for p in fed)}: "
                              f"its backward failed: {said}", [node_id, *dict.fromkeys(inputs[p] for p in fed)])

    def _forward_error(self, e: BaseException) -> GraphError:
        error = self._node_error(e, e.__traceback__, ExecutionError)
        # Shape problems are reported by the meta-device pass, which names both shapes
        # without computing anything; it is run only on failure because it costs ~50 µs/op.
        try:
            self.infer_shapes()
        except GraphError as meta_error:
            if _meta_is_worse(e, meta_error):
                raise error from None
            raise
        return error

    # ---- differentiation ----

    def _target_and_grad_output(self, values: dict[str, torch.Tensor], target: str,
                                grad_output: object) -> torch.Tensor | None:
        t = values[target]
        if not t.is_floating_point() and (grad_output is not None or t.numel() != 1):  # none can help
            raise TargetError(f"target {target} is {_a_result(t)}: no gradient flows through it, whatever the "
                              "grad-output (PyTorch refuses backward() on it); choose a float node as target",
                              [target])
        if grad_output is None:
            if t.numel() != 1:
                raise TargetError(f"target {target} has shape {list(t.shape)}: select an element, reduce it, "
                                  f"or give a grad-output (the v of {target}.backward(gradient=v), shaped "
                                  f"{list(t.shape)})", [target])
            return None
        try:
            shape = literal_shape(grad_output, dtype=str(t.dtype).removeprefix("torch."))
        except GraphError as e:
            raise TargetError(f"grad-output for {target}: {e.message}", [target]) from None
        if shape != tuple(t.shape):
            raise TargetError(f"grad-output has shape {list(shape)} but target {target} has shape "
                              f"{list(t.shape)}", [target])
        return torch.tensor(grad_output, dtype=t.dtype, device=t.device)

    def run(self, target: str, grad_output: object = None, accumulate: bool = False) -> Result:
        """Forward, then ∂target/∂node for every node.

        Fresh mode (default) does what torch.autograd.grad does (see _grad) and touches no .grad.
        Accumulate mode keeps the leaf tensors between runs and calls backward(), so leaf .grad
        adds up across runs exactly as in PyTorch until `clear_grads()`.
        """
        if grad_output is None and not accumulate:
            runner = self._runners.get(target)
            if runner is None:
                if target not in self.graph.nodes:
                    raise TargetError(f"no node {_short(target)} to differentiate")
                runner = self._runners[target] = self._fresh_runner(target)
            return runner(self)
        if target not in self.graph.nodes:
            raise TargetError(f"no node {_short(target)} to differentiate")
        notes: list[str] = []
        with _RunBlock(self, notes):
            if accumulate and self._kept_leaves is None:
                self._kept_leaves = self.make_leaves()
            values = self._values(self._kept_leaves if accumulate else None)
            return self._partials(values, target, grad_output, notes, accumulate)

    def _fresh_runner(self, target: str) -> Callable[[Compiled], Result]:
        """run(target) in its common case (fresh, no grad-output) as one function: what run does
        through _RunBlock, _values and _partials, with what is fixed per compile bound in
        advance, the values a tuple until the Result is made, and no method layers (~1 µs less
        a run, of ~25 µs for the smallest examples). Anything unusual goes the general way. It
        takes the Compiled as its argument: kept in it, it must not hold it (a cycle would keep
        a big graph's tensors until the cyclic GC runs)."""
        if self._leaf_data:
            self._call(self.literal_data, [], ExecutionError)  # as make_leaves does on first use
        make_leaves, forward, device = self._make_leaves, self._variables_of, self.device
        pick_variables, ids, wrt, no_grads = self._pick_variables, self.ids, self._wrt, self._no_grads
        position = {n: i for i, n in enumerate(ids)}  # not ids.index per leaf: 10,000 leaves would be O(n²)
        at_target = position[target]
        pick_wrt = _picker([position[n] for n in wrt])  # from the values' tuple
        isenabled = gc.isenabled

        def run(self: Compiled) -> Result:
            notes: list[str] = []
            gc_was_on = isenabled()
            gc.disable()
            caught, outer = open_warnings()
            try:
                try:
                    leaves = make_leaves(device)
                except TORCH_ERRORS as e:
                    raise self._node_error(e, e.__traceback__, ExecutionError) from None
                try:
                    variables = forward(*leaves)
                except TORCH_ERRORS as e:
                    raise self._forward_error(e) from None
                vals = pick_variables(variables)
                t = vals[at_target]
                values = dict(zip(ids, vals, strict=False))  # as many by construction
                if self._expands:  # as _values does after its forward
                    self._no_negative_sizes({n: values[n].shape for n in self._expands})
                if t.numel() != 1 or not t.requires_grad:  # a refusal, or a note and no partials
                    result = self._partials(values, target, None, notes, False)
                else:
                    try:
                        partials = _grad(t, None, pick_wrt(vals))
                    except TORCH_ERRORS as e:
                        raise self._backward_error(e, target) from None
                    grads = no_grads.copy()
                    grads.update(zip(wrt, partials, strict=False))  # as many: autograd.grad's inputs
                    result = self._checked(target, values, grads, vals + partials, notes, False)
            finally:
                close_warnings(outer)
                if gc_was_on:
                    gc.enable()
            if caught:
                self._add_notes(caught, notes)
            return result

        return run

    def partials(self, values: dict[str, torch.Tensor], target: str, grad_output: object = None,
                 notes: list[str] | None = None, accumulate: bool = False) -> Result:
        """∂target/∂node for every node, from the values of one forward (which it consumes:
        backward frees that forward's graph, so each call wants a fresh forward)."""
        notes = [] if notes is None else notes
        with _RunBlock(self, notes):
            return self._partials(values, target, grad_output, notes, accumulate)

    def _partials(self, values: dict[str, torch.Tensor], target: str, grad_output: object,
                  notes: list[str], accumulate: bool) -> Result:
        t = values[target]
        v = None  # a one-element target needs no grad-output: the common case without a call
        if grad_output is not None or t.numel() != 1:
            v = self._target_and_grad_output(values, target, grad_output)
        if accumulate or not t.requires_grad:
            grads, partials = self._backward(values, target, v, accumulate, notes)
        else:  # the common case inline, a call less on every run
            try:
                partials = _grad(t, v, self._pick_wrt(values))
            except TORCH_ERRORS as e:
                raise self._backward_error(e, target, v) from None
            grads = self._no_grads.copy()
            grads.update(zip(self._wrt, partials, strict=False))  # as many: autograd.grad's inputs
        return self._checked(target, values, grads, [*values.values(), *partials], notes, accumulate)

    def _checked(self, target: str, values: dict[str, torch.Tensor], grads: dict[str, torch.Tensor | None],
                 tensors: Sequence[torch.Tensor | None], notes: list[str], accumulate: bool) -> Result:
        """The Result, after the NaN/Inf check of `tensors`: every value, then the partials of
        self._wrt."""
        key = (target, accumulate)
        skip = self._finite_skips.get(key)
        if skip is None:
            skip = self._finite_skips[key] = self._known_finite(target, accumulate, tensors)
        verdict = finite_verdict(tensors, self._finite_plans, key, skip)
        if verdict is True:
            return Result(target, values, grads, notes)
        at = len(notes)  # its notes go here, before those of warnings the run adds after this

        def scan() -> tuple[list[tuple[str, str]], frozenset[str]]:
            if verdict is not False and math.isfinite(verdict.item()):  # a GPU's sum, read now
                return [], frozenset()
            found: list[str] = []
            answer = self._nonfinite(values, grads, target, found)
            notes[at:at] = found
            return answer

        return Result(target, values, grads, notes, scan)

    def _known_finite(self, target: str, accumulate: bool, tensors: Sequence[torch.Tensor | None]) -> frozenset[int]:
        """Indices, in [*values, *partials of self._wrt], of tensors finite whenever the rest are,
        which the NaN/Inf check need not read (autograd_bridge.finite.known_finite)."""
        nodes = self.graph.nodes
        finite_leaves = {n for n in self.source.leaf_ids
                         if nodes[n].init is None or INITS[nodes[n].init["fn"]].always_finite}
        return known_finite(self.graph, self.ids, self._wrt, finite_leaves, target, accumulate, tensors)

    def _backward(self, values: dict[str, torch.Tensor], target: str, v: torch.Tensor | None,
                  accumulate: bool, notes: list[str]) -> tuple[dict[str, torch.Tensor | None], list]:
        """(every node's partial, the partials of the nodes that require grad in their order)
        when runs accumulate or the target needs no grad; _partials does the fresh backward."""
        t = values[target]
        grads: dict[str, torch.Tensor | None] = self._no_grads.copy()
        if not t.requires_grad:
            notes.append(Note(f"{{}} is {_a_result(t)}: no gradient flows through it (PyTorch would refuse "
                              "backward()); choose a float node as target" if not t.is_floating_point() else
                              "{} does not depend on any tensor with requires_grad on: "
                              "no partials (PyTorch would refuse backward())", target))
            return grads, []
        leaf_ids = set(self.source.leaf_ids)
        for n, val in values.items():
            if n not in leaf_ids and val.requires_grad:
                val.retain_grad()
        try:
            t.backward(gradient=v)
        except TORCH_ERRORS as e:
            raise self._backward_error(e, target, v) from None
        # Copies: torch adds the next run's partials into leaf .grad in place, which would
        # silently change the grads of Results already handed out.
        grads = {n: None if val.grad is None else val.grad.detach().clone()
                 for n, val in values.items()}
        return grads, [grads[n] for n in self._wrt]

    def slice_1d(self, target: str, leaf: str, xs: list[float],
                 leaves: tuple[torch.Tensor, ...] | None = None) -> list[float]:
        """The target's value with the scalar leaf set to each x in turn, all else unchanged
        (the other leaves as given, else as compiled)."""
        index = self.source.leaf_ids.index(leaf)
        with torch.no_grad():
            leaves = list(self.make_leaves() if leaves is None else leaves)
            ys = []
            for x in xs:
                leaves[index] = torch.full_like(leaves[index], x)
                ys.append(float(self.forward(tuple(leaves))[target].item()))
        return ys

    def clear_grads(self) -> None:
        """What `x.grad = None` does for every leaf: the next accumulate run starts from zero."""
        for leaf in self._kept_leaves or ():
            leaf.grad = None

    def _nonfinite(self, values: dict[str, torch.Tensor], grads: dict[str, torch.Tensor | None],
                   target: str, notes: list[str]) -> tuple[list[tuple[str, str]], frozenset[str]]:
        """The nodes where NaN or Inf first appears (Result.nonfinite) and every node holding
        one (Result.nonfinite_spread), with a note for each
        value and one listing every partial that holds one: the exact scan, run when the batched
        check (autograd_bridge.finite) finds a sum that is not finite."""
        bad = {n for n, t in values.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())}
        inputs, consumers = self.graph.all_inputs(), self.graph.consumers
        found = [(n, f"value has NaN/Inf ({self.graph.nodes[n].op} of finite inputs)")
                 for n in self.source.order if n in bad and not any(s in bad for s in inputs[n].values())]
        notes += [Note("{}: " + _words(what), n) for n, what in found]
        bad_grads = {n for n, g in grads.items() if g is not None and not bool(torch.isfinite(g).all())}
        if bad_grads:
            listed = [n for n in grads if n in bad_grads]
            notes.append(Note("partials with NaN/Inf at: " + ", ".join(["{}"] * len(listed)), *listed))
            # First in the backward pass: every node it feeds has a finite partial and finite
            # inputs (a NaN input value would explain it: ∂(w*y)/∂w = y).
            found += [(n, Note("partial ∂{}/∂{} has NaN/Inf (first in the backward pass)", target, n))
                      for n in self.source.order
                      if n in bad_grads and not any(c in bad_grads or any(s in bad for s in inputs[c].values())
                                                    for c in consumers[n])]
        return found, frozenset(bad | bad_grads)


def _meta_is_worse(real: BaseException | None, meta_error: GraphError) -> bool:
    """Whether the meta device's message is worse than the real device's: the meta kernels'
    own Python broke (an IndexError in a decomposition, a division by a stride of 0) where
    torch's check on a real device raised its RuntimeError, which says what is wrong."""
    return isinstance(real, RuntimeError) and isinstance(meta_error.__context__, LookupError | ZeroDivisionError)


def _growth(node: Node) -> float:
    """How many times more elements than its inputs an op's attributes can make it output:
    expand's sizes (a -1 keeps an input's size), each padding p of a conv or pool (1 + 2·p)."""
    attrs = node.resolved_attrs()
    factor = 1.0
    if node.op == "expand":
        factor = float(math.prod(max(1, abs(d)) for d in attrs["size"] if d != -1))
    padding = attrs.get("padding")
    if isinstance(padding, list):
        factor *= math.prod(1 + 2 * abs(p) for p in padding if isinstance(p, int))
    elif isinstance(padding, int):
        factor *= 1 + 2 * abs(padding)
    return factor


class _RunBlock:
    """Around every forward and backward: the cyclic GC paused (a big graph makes many objects
    at once, kept or freed by reference counting: see graph.bulk), and torch's warnings (e.g.
    mse_loss broadcasting) made notes, each naming the node whose generated line gave it,
    instead of reaching stderr with the generated file's name (autograd_bridge.warning_blocks).
    The fresh run (Compiled._fresh_runner) does the same inline.
    """

    __slots__ = ("compiled", "notes", "caught", "outer", "gc_was_on")

    def __init__(self, compiled: Compiled, notes: list[str]) -> None:
        self.compiled, self.notes = compiled, notes

    def __enter__(self) -> None:
        self.gc_was_on = gc.isenabled()
        gc.disable()
        self.caught, self.outer = open_warnings()

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        close_warnings(self.outer)
        if self.gc_was_on:
            gc.enable()
        if exc_type is None and self.caught:
            self.compiled._add_notes(self.caught, self.notes)


# torch.autograd.grad's own Python (its arguments normalised and checked, torch-function
# dispatch, the seed made) costs ~4 µs a call: a sixth of a small example's run. _grad calls
# what it calls, with the seed it would make; where a torch lacks it, or torch.autograd.grad
# has been replaced (a wrapper someone installed: a profiler, a test's fault), torch.autograd.grad.
_run_backward = getattr(torch.autograd.graph, "_engine_run_backward", None)
_TORCH_GRAD = torch.autograd.grad
_PRESERVE = torch.preserve_format


def _a_result(t: torch.Tensor) -> str:
    """'a bool result', 'an int64 result': what a tensor that carries no gradient is."""
    dtype = str(t.dtype).removeprefix("torch.")
    return f"{'an' if dtype[0] in 'aeiou' else 'a'} {dtype} result"


def _grad(t: torch.Tensor, v: torch.Tensor | None, inputs: tuple[torch.Tensor, ...]) -> tuple:
    """torch.autograd.grad(t, inputs, grad_outputs=v, allow_unused=True), where t requires grad
    and v is None (t has one element) or a grad-output checked to have t's shape and dtype
    (Compiled._target_and_grad_output): what the checks skipped here would find is known."""
    if _run_backward is None or torch.autograd.grad is not _TORCH_GRAD:
        return torch.autograd.grad(t, inputs, grad_outputs=v, allow_unused=True)
    seed = torch.ones_like(t, memory_format=_PRESERVE) if v is None else v
    return _run_backward((t,), (seed,), False, False, inputs, True, accumulate_grad=False)


def _picker(keys: list[str]) -> Callable[[dict], tuple]:
    """d -> (d[k] for k in keys) as a tuple, in one C call."""
    if len(keys) == 1:  # itemgetter of one key gives the value, not a 1-tuple
        key = keys[0]
        return lambda d: (d[key],)
    return itemgetter(*keys) if keys else lambda d: ()
