"""Lowerings of shape ops, indexing, layers and standard nn modules (the rest of the table in
autograd_bridge.fx_lower, which this module adds to when imported).
(~540 lines, one piece: the second half of one lowering table, one function per torch call.)

A module call is lowered to the functional op in the mode the module is in: parameters and
buffers become leaves named by their qualified names (`conv1.weight`), made only when used.
"""

from __future__ import annotations

import builtins
import operator
import re

import torch
import torch.nn.functional as F
from torch import nn

from autograd_bridge.fx_lower import LOWER, Builder, Ref, _dims, _ints, _pair, _value, lowers
from autograd_bridge.fx_record import IMPORT_SEED
from graph.model import Node
from graph.ops import OPS, TENSOR
from graph.ops.spec import MAX_VARIADIC, VARIADIC_COUNT

# ---- what a tensor is rather than computes: the real value, as a constant ----

METADATA = ("size", "dim", "numel", "shape", "dtype", "device", "ndim", "is_floating_point",
            "requires_grad", "ndimension", "nelement")


@lowers(*(f"method:{m}" for m in METADATA))
def _metadata(b: Builder, *_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
    return b.out


@lowers(builtins.getattr)
def _getattr(b: Builder, obj, name):  # noqa: ANN001, ANN202
    if isinstance(obj, tuple) and name in getattr(obj, "_fields", ()):  # max(x, dim).values
        return getattr(obj, name)
    if not isinstance(obj, Ref) or name in METADATA:
        return b.out
    if name == "T":
        return _t_all(b, obj)
    if name == "mT":
        return b.op("transpose", {"input": obj}, {"dim0": -2, "dim1": -1})
    raise b.refuse(f"the attribute .{name} of a tensor is not in the catalogue")


@lowers("method:T")
def _t_all(b: Builder, input):  # noqa: ANN001, ANN202
    if input.value.dim() < 2:
        return input
    return b.op("permute", {"input": input}, {"dims": list(range(input.value.dim()))[::-1]})


@lowers("method:mT")
def _mt(b: Builder, input):  # noqa: ANN001, ANN202
    return b.op("transpose", {"input": input}, {"dim0": -2, "dim1": -1})


@lowers("method:detach", torch.detach)
def _detach(b: Builder, input):  # noqa: ANN001, ANN202
    b.notes.append(f"{b.where}: detach() is a constant leaf holding its value (no gradient flows through it)")
    return b.const(input.value if isinstance(input, Ref) else input, what="detached")


@lowers("method:contiguous", "method:clone", torch.clone)
def _identity(b: Builder, input, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    return input


@lowers(nn.Identity)
def _m_identity(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    return input


@lowers("method:to", "method:float", "method:double", "method:type_as", "method:type")
def _to(b: Builder, input, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    if not isinstance(b.out, torch.Tensor) or b.out.dtype != input.value.dtype:
        raise b.refuse("a dtype conversion is not in the catalogue (tensors keep their dtype)")
    return input


# ---- random draws: the numbers the code drew, as a constant ----

DRAWS = (torch.randn, torch.rand, torch.randint, torch.randn_like, torch.rand_like, torch.randint_like, torch.randperm)


def _draw(fn: object) -> None:
    def lower(b: Builder, *_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        """eps = torch.randn_like(std): a leaf holding the numbers the code drew, titled by its line;
        torch gives a draw no gradient either."""
        line = re.search(r" line (\d+)", b.where)
        t, dtype = b.held(b.out.detach(), f"torch.{fn.__name__}")
        node = Node(b._new_id(b.name), TENSOR, **b.tensor_data(t), dtype=dtype,
                    label=f"{fn.__name__} ({f'line {line[1]}, ' if line else ''}drawn once)")
        b._add(node)
        b.node_notes[node.id] = (f"{b.where or node.label}: torch.{fn.__name__} draws once, as the code ran after "
                                 f"torch.manual_seed({IMPORT_SEED}): a constant leaf holding those numbers (the "
                                 "graph does not draw again; no gradient flows through it, as in torch)")
        return Ref(node.id, t)
    lowers(fn)(lower)


for _fn in DRAWS:
    _draw(_fn)


# ---- shape ----

@lowers(torch.reshape, "method:reshape", "method:view", "method:view_as", "method:reshape_as",
        "method:unflatten", torch.unflatten)
def _reshape(b: Builder, input, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    return b.op("reshape", {"input": input}, {"shape": list(b.out.shape)})


@lowers(torch.flatten, "method:flatten")
def _flatten(b: Builder, input, start_dim=0, end_dim=-1):  # noqa: ANN001, ANN202
    return b.op("flatten", {"input": input}, {"start_dim": int(start_dim), "end_dim": int(end_dim)})


@lowers(torch.permute, "method:permute")
def _permute(b: Builder, input, *dims, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    dims = kwargs.get("dims", dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims)
    return b.op("permute", {"input": input}, {"dims": _ints(dims)})


@lowers(torch.transpose, torch.swapaxes, "method:transpose", "method:swapaxes")
def _transpose(b: Builder, input, dim0, dim1):  # noqa: ANN001, ANN202
    return b.op("transpose", {"input": input}, {"dim0": int(dim0), "dim1": int(dim1)})


@lowers(torch.t, "method:t")
def _t(b: Builder, input):  # noqa: ANN001, ANN202
    return b.op("transpose", {"input": input}, {"dim0": 0, "dim1": 1}) if input.value.dim() == 2 else input


@lowers(torch.unsqueeze, "method:unsqueeze")
def _unsqueeze(b: Builder, input, dim):  # noqa: ANN001, ANN202
    return b.op("unsqueeze", {"input": input}, {"dim": int(dim)})


@lowers(torch.squeeze, "method:squeeze")
def _squeeze(b: Builder, input, dim=None):  # noqa: ANN001, ANN202
    return b.op("squeeze", {"input": input}, {"dim": _dims(dim)})


@lowers("method:expand", "method:expand_as", "method:broadcast_to", torch.broadcast_to)
def _expand(b: Builder, input, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    return b.op("expand", {"input": input}, {"size": list(b.out.shape)})


@lowers(torch.narrow, "method:narrow")
def _narrow(b: Builder, input, dim, start, length):  # noqa: ANN001, ANN202
    return b.op("narrow", {"input": input}, {"dim": int(dim), "start": int(start), "length": int(length)})


@lowers(torch.select, "method:select")
def _select(b: Builder, input, dim, index):  # noqa: ANN001, ANN202
    return b.op("select", {"input": input}, {"dim": int(dim), "index": int(index)})


def _pieces(b: Builder, op: str, input: Ref, attrs: dict[str, object]) -> tuple[Ref, ...]:
    """One split or chunk node per piece (`index`): the node reads as the call in the code, and
    the export writes it back so. A piece nothing uses is dropped with the other unused nodes."""
    port = OPS[op].inputs[0]
    return tuple(b.op(op, {port: input}, {**attrs, "index": i}, value=piece) for i, piece in enumerate(b.out))


def _split_dim(args: tuple, dim: object) -> int:
    return int(args[1] if len(args) > 1 else dim)


@lowers(torch.split, "method:split")
def _split(b: Builder, input, *args, dim=0, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    dim = _split_dim(args, dim)  # the sizes written out as a list: torch's one size, or its list
    return _pieces(b, "split", input, {"split_size_or_sections": [int(p.shape[dim]) for p in b.out], "dim": dim})


@lowers(torch.chunk, "method:chunk")
def _chunk(b: Builder, input, chunks, dim=0):  # noqa: ANN001, ANN202
    return _pieces(b, "chunk", input, {"chunks": int(chunks), "dim": int(dim)})


@lowers(torch.tensor_split, "method:tensor_split")
def _tensor_split(b: Builder, input, *args, dim=0, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    """Not in the catalogue: one narrow node per piece."""
    dim, pieces, start = _split_dim(args, dim), [], 0
    for piece in b.out:
        size = int(piece.shape[dim])
        pieces.append(b.op("narrow", {"input": input}, {"dim": dim, "start": start, "length": size}, value=piece))
        start += size
    return tuple(pieces)


@lowers(torch.cat, torch.concat, torch.concatenate)
def _cat(b: Builder, tensors, dim=0, *, axis=None, out=None):  # noqa: ANN001, ANN202
    return _joined(b, "cat", tensors, dim if axis is None else axis)


@lowers(torch.stack)
def _stack(b: Builder, tensors, dim=0, *, out=None):  # noqa: ANN001, ANN202
    return _joined(b, "stack", tensors, dim)


def _joined(b: Builder, op: str, tensors: object, dim: object) -> Ref:
    """cat or stack: a port per tensor of the sequence (tensors.0, tensors.1, …)."""
    tensors = list(tensors)
    if not 1 <= len(tensors) <= MAX_VARIADIC:
        raise b.refuse(f"{op} of {len(tensors)} tensors: a {op} node joins 1 to {MAX_VARIADIC}")
    return b.op(op, {f"tensors.{i}": t for i, t in enumerate(tensors)},
                {VARIADIC_COUNT: len(tensors), "dim": int(dim)})


@lowers("method:repeat")
def _repeat(b: Builder, input, *sizes):  # noqa: ANN001, ANN002, ANN202
    """x.repeat(2, 1): the tensor tiled, as a cat of copies along each repeated dimension (new
    leading dimensions first unsqueezed), so that each copy's gradient flows back to x."""
    reps = [int(r) for r in (sizes[0] if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes)]
    ref = input
    while ref.value.dim() < len(reps):
        ref = b.op("unsqueeze", {"input": ref}, {"dim": 0}, value=ref.value.unsqueeze(0))
    for d, r in enumerate(reps):
        if r == 1:
            continue
        if not 1 <= r <= MAX_VARIADIC:
            raise b.refuse(f"repeat of {r} copies: a cat node joins 1 to {MAX_VARIADIC}")
        ref = b.op("cat", {f"tensors.{i}": ref for i in range(r)}, {VARIADIC_COUNT: r, "dim": d},
                   value=torch.cat([ref.value] * r, d))
    return ref


@lowers(torch.unbind, "method:unbind")
def _unbind(b: Builder, input, dim=0):  # noqa: ANN001, ANN202
    dim = int(dim)
    return tuple(b.op("select", {"input": input}, {"dim": dim, "index": i}, value=input.value.select(dim, i))
                 for i in range(input.value.shape[dim]))


@lowers(operator.getitem, "method:__getitem__")
def _getitem(b: Builder, obj, index):  # noqa: ANN001, ANN202
    """Python indexing of a tuple or size; basic indexing of a tensor (ints, slices, None, ...)
    as select, narrow and unsqueeze nodes, a slice with a step as an index_select of the
    positions it takes (a constant int64 leaf)."""
    if not isinstance(obj, Ref):
        return obj[index]
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, Ref | torch.Tensor | list | bool) for i in items):
        raise b.refuse("indexing with a tensor, list or bool (advanced indexing) is not in the catalogue")
    consumes = sum(1 for i in items if i is not None and i is not Ellipsis)
    ref, d = obj, 0
    for item in items:
        v = ref.value
        if item is Ellipsis:
            d = v.dim() - (consumes - d_consumed(items, item))
        elif item is None:
            ref = b.op("unsqueeze", {"input": ref}, {"dim": d}, value=v.unsqueeze(d))
            d += 1
        elif isinstance(item, int):
            ref = b.op("select", {"input": ref}, {"dim": d, "index": item}, value=v.select(d, item))
        elif isinstance(item, slice):
            r = range(v.shape[d])[item]
            if r.step != 1:  # torch's slices step forward only
                positions = torch.tensor(list(r), dtype=torch.int64)
                ref = b.op("index_select", {"input": ref, "index": b.const(positions)}, {"dim": d},
                           value=v.index_select(d, positions))
            elif len(r) != v.shape[d]:
                start = r.start if len(r) else 0
                ref = b.op("narrow", {"input": ref}, {"dim": d, "start": start, "length": len(r)},
                           value=v.narrow(d, start, len(r)))
            d += 1
        else:
            raise b.refuse(f"indexing with {type(item).__name__} is not in the catalogue")
    return ref


def d_consumed(items: tuple, ellipsis: object) -> int:
    """How many input dims the items before the Ellipsis use."""
    before = items[:items.index(ellipsis)]
    return sum(1 for i in before if i is not None)


@lowers(torch.gather, "method:gather")
def _gather(b: Builder, input, dim, index, *, sparse_grad=False, out=None):  # noqa: ANN001, ANN202
    return b.op("gather", {"input": input, "index": index}, {"dim": int(dim)})


@lowers(torch.index_select, "method:index_select")
def _index_select(b: Builder, input, dim, index, *, out=None):  # noqa: ANN001, ANN202
    return b.op("index_select", {"input": input, "index": index}, {"dim": int(dim)})


# ---- layers ----

@lowers(F.linear)
def _linear(b: Builder, input, weight, bias=None):  # noqa: ANN001, ANN202
    return b.op("linear", {"input": input, "weight": weight, "bias": bias})


def _conv(op: str, n: int, key: object) -> None:
    def lower(b: Builder, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: ANN001, ANN202
        dilation = _pair(dilation, n)
        if isinstance(padding, str):
            kernel = _value(weight).shape[2:]
            total = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
            if padding == "same" and any(t % 2 for t in total):
                raise b.refuse("padding='same' with an even kernel pads unevenly: not in the catalogue")
            padding = [t // 2 for t in total] if padding == "same" else 0
        return b.op(op, {"input": input, "weight": weight, "bias": bias},
                    {"stride": _pair(stride, n), "padding": _pair(padding, n), "dilation": dilation,
                     "groups": int(groups)})
    lowers(key)(lower)


_conv("conv1d", 1, F.conv1d)
_conv("conv2d", 2, F.conv2d)


@lowers(F.max_pool2d, F.max_pool2d_with_indices)
def _max_pool2d(b: Builder, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: ANN001, ANN202
                return_indices=False):
    if return_indices:
        raise b.refuse("max_pool2d with return_indices: indices are not in the catalogue")
    return b.op("max_pool2d", {"input": input},
                {"kernel_size": _pair(kernel_size), "stride": _pair(stride) if stride else None,
                 "padding": _pair(padding), "dilation": _pair(dilation), "ceil_mode": bool(ceil_mode)})


@lowers(F.avg_pool2d)
def _avg_pool2d(b: Builder, input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: ANN001, ANN202
                count_include_pad=True, divisor_override=None):
    if divisor_override is not None:
        raise b.refuse("avg_pool2d with divisor_override is not in the catalogue")
    return b.op("avg_pool2d", {"input": input},
                {"kernel_size": _pair(kernel_size), "stride": _pair(stride) if stride else None,
                 "padding": _pair(padding), "ceil_mode": bool(ceil_mode),
                 "count_include_pad": bool(count_include_pad)})


@lowers(F.adaptive_avg_pool2d)
def _adaptive_avg_pool2d(b: Builder, input, output_size):  # noqa: ANN001, ANN202
    return b.op("adaptive_avg_pool2d", {"input": input}, {"output_size": list(b.out.shape[-2:])})


@lowers(F.batch_norm)
def _batch_norm(b: Builder, input, running_mean, running_var, weight=None, bias=None, training=False,  # noqa: ANN001, ANN202
                momentum=0.1, eps=1e-5):
    """Unfed weight, bias or running stats pass torch's None. Training mode normalises with the
    batch's statistics; the graph's running-stat leaves get copies (never updated)."""
    attrs = {"eps": float(eps)}
    if training:
        attrs.update(training=True, momentum=float(momentum if momentum is not None else 0.1))
    return b.op("batch_norm", {"input": input, "running_mean": running_mean, "running_var": running_var,
                               "weight": weight, "bias": bias}, attrs)


@lowers(F.layer_norm)
def _layer_norm(b: Builder, input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: ANN001, ANN202
    return b.op("layer_norm", {"input": input, "weight": weight, "bias": bias},
                {"normalized_shape": _ints(normalized_shape), "eps": float(eps)})


@lowers(F.normalize)
def _normalize(b: Builder, input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: ANN001, ANN202
    # As torch computes it, so its gradient too: input / vector_norm(input, p, dim, keepdim).clamp_min(eps)
    if out is not None:
        raise b.refuse("F.normalize with out= is not in the catalogue")
    norm = torch.linalg.vector_norm(input.value, p, dim, keepdim=True)
    n = b.op("vector_norm", {"input": input}, {"ord": float(p), "dim": dim, "keepdim": True}, value=norm)
    floor = b.op("clamp", {"input": n}, {"min": float(eps)}, value=norm.clamp_min(eps))
    return b.op("div", {"input": input, "other": floor})


@lowers(F.group_norm)
def _group_norm(b: Builder, input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: ANN001, ANN202
    return b.op("group_norm", {"input": input, "weight": weight, "bias": bias},
                {"num_groups": int(num_groups), "eps": float(eps)})


@lowers(F.scaled_dot_product_attention)
def _sdpa(b: Builder, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,  # noqa: ANN001, ANN202
          enable_gqa=False):
    if attn_mask is not None or dropout_p or enable_gqa:
        raise b.refuse("scaled_dot_product_attention with attn_mask, dropout_p or enable_gqa is not in "
                       "the catalogue (is_causal and scale are)")
    return b.op("scaled_dot_product_attention", {"query": query, "key": key, "value": value},
                {"is_causal": bool(is_causal), "scale": scale})


@lowers(F.dropout)
def _dropout(b: Builder, input, p=0.5, training=True, inplace=False):  # noqa: ANN001, ANN202
    """In training mode the dropout op, its mask drawn after torch.manual_seed(Graph.seed) (the
    import runs the code so seeded too); else the identity, as torch's."""
    if not training or not p:
        return input
    return b.op("dropout", {"input": input}, {"p": float(p), "training": True})


def _other_dropout(name: str, key: object, training_default: bool) -> None:
    def lower(b: Builder, input, p=0.5, training=training_default, inplace=False):  # noqa: ANN001, ANN202
        if training and p:
            raise b.refuse(f"{name} in training mode is not in the catalogue (dropout is): put the model in "
                           "eval mode (model.eval()), where it passes its input through")
        return input
    lowers(key)(lower)


_other_dropout("dropout1d", F.dropout1d, True)
_other_dropout("dropout2d", F.dropout2d, True)
_other_dropout("alpha_dropout", F.alpha_dropout, False)


@lowers(F.embedding)
def _embedding(b: Builder, input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: ANN001, ANN202
               scale_grad_by_freq=False, sparse=False):
    if padding_idx is not None or max_norm is not None or scale_grad_by_freq:
        raise b.refuse("embedding with padding_idx, max_norm or scale_grad_by_freq is not in the catalogue")
    return b.op("embedding", {"input": input, "weight": weight})


# ---- standard modules: their functional form, in the mode the module is in ----

def _param(b: Builder, path: str, module: nn.Module, name: str) -> Ref | None:
    t = getattr(module, name, None)
    if t is None:
        return None
    qualified = f"{path}.{name}" if path else name
    kind = "parameter" if isinstance(t, nn.Parameter) else "buffer"
    return b.leaf(qualified, t, t.requires_grad if kind == "parameter" else False, f"the {kind} {qualified}")


def _module(*classes: type):  # noqa: ANN202 - a decorator: fn(b, module, path, *args) -> value
    return lowers(*classes)


@_module(nn.Linear)
def _m_linear(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    return _linear(b, input, _param(b, path, m, "weight"), _param(b, path, m, "bias"))


@_module(nn.Conv1d, nn.Conv2d)
def _m_conv(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    if m.padding_mode != "zeros":
        raise b.refuse(f"nn.{type(m).__name__} with padding_mode={m.padding_mode!r} is not in the catalogue")
    fn = F.conv1d if isinstance(m, nn.Conv1d) else F.conv2d
    return LOWER[fn](b, input, _param(b, path, m, "weight"), _param(b, path, m, "bias"), m.stride, m.padding,
                     m.dilation, m.groups)


@_module(nn.BatchNorm1d, nn.BatchNorm2d)
def _m_batch_norm(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    batch_stats = m.training or m.running_mean is None
    return _batch_norm(b, input, _param(b, path, m, "running_mean"), _param(b, path, m, "running_var"),
                       _param(b, path, m, "weight"), _param(b, path, m, "bias"), batch_stats, m.momentum, m.eps)


@_module(nn.LayerNorm)
def _m_layer_norm(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    return _layer_norm(b, input, m.normalized_shape, _param(b, path, m, "weight"), _param(b, path, m, "bias"), m.eps)


@_module(nn.GroupNorm)
def _m_group_norm(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    return _group_norm(b, input, m.num_groups, _param(b, path, m, "weight"), _param(b, path, m, "bias"), m.eps)


@_module(nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)
def _m_dropout(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    kinds = {nn.Dropout1d: F.dropout1d, nn.Dropout2d: F.dropout2d, nn.AlphaDropout: F.alpha_dropout}
    fn = kinds.get(type(m), F.dropout)
    return LOWER[fn](b, input, m.p, m.training)


@_module(nn.MaxPool2d)
def _m_max_pool(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    return _max_pool2d(b, input, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, m.return_indices)


@_module(nn.AvgPool2d)
def _m_avg_pool(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    return _avg_pool2d(b, input, m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad,
                       m.divisor_override)


@_module(nn.AdaptiveAvgPool2d)
def _m_adaptive(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    return _adaptive_avg_pool2d(b, input, m.output_size)


@_module(nn.Embedding)
def _m_embedding(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    return _embedding(b, input, _param(b, path, m, "weight"), m.padding_idx, m.max_norm, m.norm_type,
                      m.scale_grad_by_freq)


@_module(nn.Flatten)
def _m_flatten(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    return _flatten(b, input, m.start_dim, m.end_dim)


@_module(nn.Unflatten)
def _m_unflatten(b: Builder, m, path, input):  # noqa: ANN001, ANN202
    return _reshape(b, input)


def _simple_module(cls: type, op: str, **attrs) -> None:  # noqa: ANN003 - attr name -> module field
    def lower(b: Builder, m, path, input):  # noqa: ANN001, ANN202
        return b.op(op, {"input": input}, {a: getattr(m, f) for a, f in attrs.items()})
    lowers(cls)(lower)


_simple_module(nn.ReLU, "relu")
_simple_module(nn.Tanh, "tanh")
_simple_module(nn.Sigmoid, "sigmoid")
_simple_module(nn.SiLU, "silu")
_simple_module(nn.GELU, "gelu", approximate="approximate")
_simple_module(nn.LeakyReLU, "leaky_relu", negative_slope="negative_slope")
_simple_module(nn.ELU, "elu", alpha="alpha")
_simple_module(nn.Softplus, "softplus", beta="beta", threshold="threshold")
_simple_module(nn.Hardtanh, "hardtanh", min_val="min_val", max_val="max_val")  # ReLU6 is a Hardtanh
_simple_module(nn.ReLU6, "hardtanh", min_val="min_val", max_val="max_val")
_simple_module(nn.Softmax, "softmax", dim="dim")
_simple_module(nn.LogSoftmax, "log_softmax", dim="dim")


def _loss_module(cls: type, fn: object, *fields: str) -> None:
    def lower(b: Builder, m, path, input, target):  # noqa: ANN001, ANN202
        if getattr(m, "weight", None) is not None or getattr(m, "pos_weight", None) is not None:
            raise b.refuse(f"nn.{cls.__name__} with weight= is not in the catalogue")
        return LOWER[fn](b, input, target, reduction=m.reduction, **{f: getattr(m, f) for f in fields})
    lowers(cls)(lower)


_loss_module(nn.MSELoss, F.mse_loss)
_loss_module(nn.L1Loss, F.l1_loss)
_loss_module(nn.SmoothL1Loss, F.smooth_l1_loss, "beta")
_loss_module(nn.HuberLoss, F.huber_loss, "delta")
_loss_module(nn.BCEWithLogitsLoss, F.binary_cross_entropy_with_logits)
_loss_module(nn.KLDivLoss, F.kl_div, "log_target")
_loss_module(nn.CrossEntropyLoss, F.cross_entropy, "label_smoothing", "ignore_index")
_loss_module(nn.NLLLoss, F.nll_loss, "ignore_index")
