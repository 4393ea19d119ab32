"""A memory budget for a whole run, checked before anything big is allocated.

`estimate` adds up, from shapes alone, the bytes a forward and backward hold; `check` refuses a
run whose estimate is over a limit (OverBudget, naming the largest nodes). The default limit,
`memory_limit_default`, is a fraction of the memory really free for this process. Sizes are in
powers of 1024: 1G = 1024³ bytes, written "1 GB".

Importing this module loads no torch (the CLI parses --memory-limit with it before torch).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from graph.errors import GraphError
from graph.ops import leaf_dtype

DEFAULT_FRACTION = 0.8  # of the memory free here: the rest is for Python, torch and the OS
DEFAULT_WHY = f"{DEFAULT_FRACTION:.0%} of the memory free here"
LARGEST_SHOWN = 3  # nodes named in a refusal
_ITEMSIZE = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "int64": 8, "bool": 1}

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
LARGEST_LIMIT = 1 << 62  # bytes: far beyond any machine, and an int64 still
_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """'2G', '512M', '1.5GB', '3GiB', '1000000' (bytes) → bytes; 'none' → None (no limit).
    Raises ValueError with a message for people on anything else."""
    text = text.strip()
    if text.lower() in ("none", "no", "off"):
        return None
    m = _SIZE.fullmatch(text)
    if m is None or (m.group(2) == "" and text[-1:].lower() == "b" and not text[-2:-1].isdigit()):
        raise ValueError(f"memory limit {text!r} is not a size: give e.g. 2G, 512M, 1.5GB, a number of "
                         "bytes, or none")
    size = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if size < 1:
        raise ValueError(f"memory limit {text!r} is below 1 byte: give at least 1 byte, or none for no limit")
    if size > LARGEST_LIMIT:
        raise ValueError(f"memory limit {text!r} is above the largest limit, {size_text(LARGEST_LIMIT)} "
                         f"({LARGEST_LIMIT >> 40}T): give none for no limit")
    return int(size)


def size_text(n: float) -> str:
    """Bytes for people: 812 B, 3.4 KB, 55 MB, 3.4 GB (powers of 1024)."""
    for unit, scale in (("EB", 1 << 60), ("PB", 1 << 50), ("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20),
                        ("KB", 1 << 10)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{int(n)} B"


def is_out_of_memory(e: BaseException) -> bool:
    """Whether an exception says memory ran out: Python's MemoryError, torch's CPU allocator
    ("can't allocate memory", "not enough memory") or CUDA's OutOfMemoryError."""
    if isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError":
        return True
    text = str(e)
    return isinstance(e, RuntimeError) and any(
        s in text for s in ("can't allocate memory", "not enough memory", "out of memory"))


def oom_detail(e: BaseException) -> str:
    """How much torch tried to allocate, from its message, as ' (torch tried to allocate 3.4 GB)'."""
    m = re.search(r"allocate (\d+) bytes", str(e))
    if m:
        return f" (torch tried to allocate {size_text(int(m.group(1)))})"
    m = re.search(r"[Tt]ried to allocate ([\d.]+ [KMGT]i?B)", str(e))  # CUDA's own units
    return f" (torch tried to allocate {m.group(1)})" if m else ""


# ---- the memory free here ----

def _read(path: str | Path) -> str | None:
    try:
        return Path(path).read_text()
    except (OSError, ValueError):
        return None


def _kib_field(text: str | None, name: str) -> int | None:
    """A 'Name:   1234 kB' line of /proc/meminfo or /proc/self/status, in bytes."""
    m = re.search(rf"^{name}:\s*(\d+)\s*kB", text or "", re.MULTILINE)
    return int(m.group(1)) * 1024 if m else None


def _address_space_room() -> int | None:
    """What RLIMIT_AS (ulimit -v) still lets this process map, when it is limited."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = _kib_field(_read("/proc/self/status"), "VmSize")
    return max(0, soft - (used or 0))


def _cgroup_room() -> int | None:
    """The limit of this process's memory cgroup minus what it uses (v2, else v1), if any."""
    groups = _read("/proc/self/cgroup") or ""
    v2 = re.search(r"^0::(.*)$", groups, re.MULTILINE)
    v1 = re.search(r"^\d+:[^:\n]*\bmemory\b[^:\n]*:(.*)$", groups, re.MULTILINE)
    candidates = []
    if v2:  # in a container the group's own files are often at the mount's root
        candidates += [(f"/sys/fs/cgroup{v2.group(1).rstrip('/')}", "memory.max", "memory.current"),
                       ("/sys/fs/cgroup", "memory.max", "memory.current")]
    if v1:
        candidates += [(f"/sys/fs/cgroup/memory{v1.group(1).rstrip('/')}", "memory.limit_in_bytes",
                        "memory.usage_in_bytes"),
                       ("/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes")]
    for folder, limit_file, usage_file in candidates:
        limit, usage = _read(f"{folder}/{limit_file}"), _read(f"{folder}/{usage_file}")
        if limit is None or usage is None:
            continue
        limit = limit.strip()
        if limit == "max" or not limit.isdigit() or int(limit) >= 1 << 60:  # unlimited
            return None
        return max(0, int(limit) - int(usage.strip() or 0))
    return None


def memory_free(device: str = "cpu") -> int | None:
    """Bytes this process can still allocate on the device: for cuda the device's free memory;
    else the smallest of the RAM free (MemAvailable), the address-space room (RLIMIT_AS) and the
    cgroup's room. None when nothing can be measured (no /proc, as on macOS, and no limit)."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.mem_get_info(torch.device(device))[0]
    sources = [_kib_field(_read("/proc/meminfo"), "MemAvailable"), _address_space_room(), _cgroup_room()]
    known = [s for s in sources if s is not None]
    return min(known) if known else None


def memory_limit_default(device: str = "cpu") -> int | None:
    """DEFAULT_FRACTION of memory_free(device); None (no limit) where it cannot be measured."""
    free = memory_free(device)
    return None if free is None else int(free * DEFAULT_FRACTION)


def limit_for(memory_limit: int | str | None, device: str) -> tuple[int | None, str]:
    """(bytes or None for no limit, where it comes from) for a limit given as "default"
    (memory_limit_default), a number of bytes, or None."""
    if memory_limit == "default":
        return memory_limit_default(device), DEFAULT_WHY
    if memory_limit is None:
        return None, ""
    return int(memory_limit), "the limit set"


# ---- the estimate ----

# Bytes writing a result holds at once, from every node's shape. It must grow with elements
# and rows (the product of all dims but the first): the fast path passes [1, bound] shapes.
OutputCost = Callable[[dict[str, tuple[int, ...]]], int]

@dataclass
class Estimate:
    """Estimated bytes of one run, by part, and its largest nodes (id, shape, bytes)."""

    parts: dict[str, int]
    largest: list[tuple[str, tuple[int, ...], int]] = field(default_factory=list)
    at_once: int | None = None  # a matrix's backward passes batched (check_matrix: as many as fit)

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def describe(self) -> str:
        """'values 3.4 GB, partials 3.4 GB, …: largest mm [30000, 30000] 3.4 GB, …'"""
        parts = ", ".join(f"{k} {size_text(v)}" for k, v in self.parts.items() if v)
        big = ", ".join(f"{n} {list(s)} {size_text(b)}" for n, s, b in self.largest)
        return f"{parts}: largest {big}" if big else parts


def estimate(compiled, shapes: dict[str, tuple[int, ...]], *, output: OutputCost | None = None,  # noqa: ANN001
             accumulate: bool = False) -> Estimate:
    """An upper-ish bound of the bytes a run holds, from every node's shape:

    - leaves and op values, each its shape times its dtype's size (an op's dtype: the widest of
      its inputs', as torch promotes floats);
    - partials: one per node that requires grad (autograd.grad returns them all), twice over
      when runs accumulate (leaf .grad plus the copies handed out);
    - backward scratch: the largest node again (an op's backward may make a partial of its
      output's shape before reducing it to a broadcast input's); tensors ops save for backward
      are these values themselves;
    - output: what writing the result holds at once, `output(shapes)`, from the caller (who
      knows its format).
    """
    source = compiled.source
    itemsize = _itemsizes(compiled)
    node_bytes = {n: math.prod(shapes[n]) * itemsize[n] for n in source.order}
    leaves = set(source.leaf_ids)
    partials = sum(node_bytes[n] for n in source.requires_grad if n in node_bytes)
    parts = {
        "leaves": sum(node_bytes[n] for n in leaves),
        "values": sum(b for n, b in node_bytes.items() if n not in leaves),
        "partials": partials * (2 if accumulate else 1),
        "backward scratch": max(node_bytes.values(), default=0) if source.requires_grad else 0,
        "output": output(shapes) if output is not None else 0,
    }
    top = sorted(node_bytes, key=node_bytes.__getitem__, reverse=True)[:LARGEST_SHOWN]
    big = [n for n in top if node_bytes[n] * 10 >= node_bytes[top[0]] > 0] if top else []  # those that matter
    return Estimate(parts, [(n, tuple(shapes[n]), node_bytes[n]) for n in big])


def _itemsizes(compiled) -> dict[str, int]:  # noqa: ANN001 - a Compiled
    """Bytes of one element of every node: a leaf's dtype's; an op's, the widest of its inputs'
    (as torch promotes floats)."""
    graph = compiled.graph
    itemsize: dict[str, int] = {}
    for n in compiled.source.order:
        node = graph.nodes[n]
        if node.is_tensor:
            itemsize[n] = _ITEMSIZE.get(leaf_dtype(node.dtype, compiled.dtype), 8)  # int64: 8, bool: 1
        else:
            itemsize[n] = max((itemsize[s] for s in graph.inputs[n].values()), default=8)
    return itemsize


def element_bounds(compiled) -> dict[str, float]:  # noqa: ANN001 - a Compiled
    """An upper bound of every node's elements, without torch: leaves' shapes are known, and
    shapes follow through the ops whose rule is simple (elementwise, broadcasting, matmul,
    transpose, reshape, expand…); an op that never grows its input (reductions, select,
    narrow…) has at most its input's elements, a two-input op whose shapes are not both known
    at most the product of its inputs' (broadcasting [n, 1] + [1, n]), any other op no bound
    (inf). Only decides whether the shape pass may be skipped."""
    graph = compiled.graph
    shapes: dict[str, tuple[int, ...] | None] = {}  # None: not followed
    bounds: dict[str, float] = {}
    for n in compiled.source.order:
        node = graph.nodes[n]
        if node.is_tensor:
            shapes[n] = tuple(node.leaf_shape())
            bounds[n] = math.prod(shapes[n])
            continue
        inputs = [graph.inputs[n][p] for p in node.ports if p in graph.inputs[n]]  # optional: may be unfed
        known = [shapes[s] for s in inputs]
        attrs = node.resolved_attrs() if node.op in _READS_ATTRS else {}
        shape = _shape_of(node.op, node.spec.category, attrs, known) if None not in known else None
        shapes[n] = shape
        if shape is not None:
            bounds[n] = math.prod(shape)
        elif len(inputs) == 1 and (node.spec.category in _SAME_SHAPE_KINDS or node.op in _NEVER_GROW):
            bounds[n] = bounds[inputs[0]]
        elif node.op in _BROADCAST or node.op in ("matmul", "mse_loss"):
            bounds[n] = math.prod(bounds[s] for s in inputs)
        else:
            bounds[n] = math.inf
    return bounds


_SAME_SHAPE_KINDS = ("elementwise", "activation")  # catalogue categories of one-input, same-shape ops
_SAME_SHAPE = {"neg", "pow"}
_NEVER_GROW = {"sum", "mean", "amax", "amin", "var", "std", "vector_norm", "reshape", "transpose",
               "select", "flatten", "permute", "unsqueeze", "squeeze", "narrow"}
_BROADCAST = {"add", "sub", "mul", "div", "maximum", "minimum"}
_READS_ATTRS = {"mse_loss", "sum", "mean", "transpose", "permute", "expand", "adaptive_avg_pool2d"}


def _shape_of(op: str, category: str, attrs: dict, shapes: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    """The op's output shape where the rule is simple and the inputs fit, else None."""
    try:
        if (category in _SAME_SHAPE_KINDS and len(shapes) == 1) or op in _SAME_SHAPE:
            return shapes[0]
        if op in _BROADCAST or (op == "mse_loss" and attrs.get("reduction") == "none"):
            return _broadcast(*shapes)
        if op == "mse_loss" or (op in ("sum", "mean") and attrs.get("dim") is None):
            return ()
        if op == "transpose":
            dims = list(shapes[0])
            i, j = attrs["dim0"], attrs["dim1"]
            dims[i], dims[j] = dims[j], dims[i]
            return tuple(dims)
        if op == "permute":
            return tuple(shapes[0][d] for d in attrs["dims"])
        if op == "expand":  # -1 keeps a dim; new leading dims are added
            size, old = attrs["size"], shapes[0]
            old = (1,) * (len(size) - len(old)) + tuple(old)
            return tuple(o if s == -1 else s for s, o in zip(size, old, strict=True))
        if op == "adaptive_avg_pool2d":
            return (*shapes[0][:-2], *attrs["output_size"])
        if op == "matmul":
            a, b = shapes
            if not a or not b:
                return None
            rows, cols = a[:-1][-1:], b[1:][-1:]  # (m,) or () for a vector, (n,) or ()
            batch = _broadcast(a[:-2], b[:-2])
            return None if batch is None else (*batch, *rows, *cols)
    except (IndexError, KeyError, TypeError, ValueError):
        return None
    return None


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x, y = (a[-i] if i <= len(a) else 1), (b[-i] if i <= len(b) else 1)
        if x != y and 1 not in (x, y):
            return None
        out.append(y if x == 1 else x)
    return tuple(reversed(out))


class OverBudget(GraphError):
    """A run whose estimate is over the memory limit; node_ids are its largest nodes."""

    def __init__(self, message: str, node_ids: list[str], needed: int, limit: int) -> None:
        super().__init__(message, node_ids)
        self.needed, self.limit = needed, limit


def check(compiled, limit: int | None, *, why: str = DEFAULT_WHY, hint: str = "",  # noqa: ANN001
          output: OutputCost | None = None, accumulate: bool = False) -> Estimate | None:
    """Raise OverBudget if the run is estimated over `limit` bytes (None: no limit), before
    anything is allocated: shapes come from torch's meta device. A graph that surely fits
    (element_bounds, no shapes) costs no shape pass and gives None, else the Estimate.
    `why` says where the limit comes from, `hint` how to raise it."""
    if limit is None:
        return None
    # The fast path: estimate's parts, made from upper bounds of every node's elements at 8
    # bytes each (leaves and values, partials, scratch), with the output's as shapes [1, bound]
    # (a row is at most the whole tensor, see OutputCost): under the limit, the run fits.
    bounds = element_bounds(compiled)
    elements = sum(bounds.values())
    most = 8 * (elements * (3 if accumulate else 2) + max(bounds.values(), default=0))
    if output is not None and most <= limit:
        most += output({n: (1, b) for n, b in bounds.items()})
    if most <= limit:
        return None
    # On torch's meta device, always: infer_shapes may run on the CPU when Compiled._work_bound
    # is small, and that bound misses [30000, 0] @ [0, 30000] (3.4 GB).
    shapes = compiled._shapes_on("meta", None)  # noqa: SLF001
    found = estimate(compiled, shapes, output=output, accumulate=accumulate)
    if found.total > limit:
        raise OverBudget(f"this run needs about {size_text(found.total)} ({found.describe()}), over the "
                         f"memory limit {size_text(limit)} ({why})" + (f"; {hint}" if hint else ""),
                         [n for n, _s, _b in found.largest], found.total, limit)
    return found


# A second-order pass (a Hessian's, its diagonal's) holds the first backward's graph
# (create_graph) under each batched pass. Peak RSS over `import torch`, measured against the
# estimate counting each pass once (x [n], CPU float32): x.reshape(n, 1) * x then tanh, sum:
# n=256 296 MB (est 82), n=512 399 MB (est 87), n=2048 ~1.0 GB (est 272); tanh, sin, mul, sum:
# n=1024 116 MB (est 40), n=2048 219 MB (est 160), n=4096 532 MB (est 256). Six times the
# passes covers them all. Not n=1024 of the first (3.7 GB, est 108 MB): glibc keeping freed
# chunks, 376 MB with MALLOC_MMAP_THRESHOLD_=1048576.
SECOND_ORDER_PASSES = 6


def check_matrix(compiled, limit: int | None, *, what: str, result: int, at_once: int,  # noqa: ANN001
                 node_ids: list[str], why: str = DEFAULT_WHY, hint: str = "",
                 second_order: bool = False) -> Estimate | None:
    """Raise OverBudget if a Jacobian or Hessian (`what`, naming it and its shape) of `result`
    elements, made with at most `at_once` backward passes batched, is estimated over `limit`
    bytes (None: no limit) even with one pass at a time, before anything is allocated; else the
    estimate, with as many passes batched as fit (`Estimate.at_once`: fewer batched is slower,
    not refused). Its parts: one forward and backward (`estimate`), the matrix twice (its chunks
    of rows as computed, then joined, 8 bytes an element at most), and each batched pass one more
    copy of the values, partials and scratch a backward holds (SECOND_ORDER_PASSES copies for a
    `second_order` one). `node_ids`: the matrix's nodes, named first in the refusal."""
    if limit is None:
        return None
    shapes = compiled._shapes_on("meta", None)  # noqa: SLF001 - as check: nothing allocated
    run = estimate(compiled, shapes)
    itemsize = max(_itemsizes(compiled)[n] for n in node_ids)
    per_pass = (run.total - run.parts["leaves"] - run.parts["output"]) * (SECOND_ORDER_PASSES if second_order else 1)
    fixed = 2 * result * itemsize + run.total
    if per_pass > 0 and fixed + at_once * per_pass > limit:
        at_once = max(1, min(at_once, (limit - fixed) // per_pass))
    passes = (f"{at_once:,} {'second-order' if second_order else 'backward'} "
              f"{'pass' if at_once == 1 else 'passes'} at once")
    found = Estimate({"the matrix": result * itemsize, "its rows as computed": result * itemsize,
                      passes: at_once * per_pass, **run.parts}, run.largest, at_once)
    if found.total > limit:
        raise OverBudget(f"{what} needs about {size_text(found.total)} ({found.describe()}), over the memory "
                         f"limit {size_text(limit)} ({why})" + (f"; {hint}" if hint else ""),
                         [*node_ids, *(n for n, _s, _b in found.largest if n not in node_ids)], found.total, limit)
    return found
