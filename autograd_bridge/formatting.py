"""Tensors as short text: numbers with 4 significant digits, small tensors inline,
larger ones as shape and (Euclidean) norm, e.g. "[2000, 2000] norm 7.356e4". Shared by the CLI
table and the canvas overlays, where a line holds about 30 characters: keep it short."""

from __future__ import annotations

import functools
import math

import torch

from graph.values import INLINE_MAX  # tensors with at most this many elements are written out in full


def number(v: float) -> str:
    return f"{v:.4g}"


def short_number(v: float) -> str:
    """4 significant digits with a short exponent: 7.356e4, 1.2e-5 (not 7.356e+04)."""
    text = number(v)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


def nested(v: object) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(nested(x) for x in v) + "]"
    if isinstance(v, bool | int):  # int64 and bool tensors: exact, as torch prints them
        return repr(v)
    return number(v)


def tensor_text(t: torch.Tensor | None, none_text: str = "None") -> str:
    return tensor_texts([t], none_text)[0]


def tensor_texts(tensors: list[torch.Tensor | None], none_text: str = "None") -> list[str]:
    """tensor_text of each, with the norms of large tensors taken a few at a time: those of one
    shape and dtype are stacked (in chunks under torch's grain size of 32,768 elements, so each
    kernel runs on the calling thread without waking torch's pool) and reduced together: a
    table of 20,000 small tensors costs a few hundred kernels, not 60,000."""
    texts: list[str | None] = [None] * len(tensors)
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(tensors):
        if t is None:
            texts[i] = none_text
        elif t.numel() <= INLINE_MAX:
            texts[i] = nested(t.detach().cpu().tolist())
        elif t.numel() <= ROW and t.dtype != torch.float64 and t.is_floating_point():
            groups.setdefault((t.device, t.dtype, t.shape), []).append(i)
        else:
            texts[i] = _norm_text(t, norm(t))
    for g in groups.values():
        step = max(1, ((1 << 15) - 1) // tensors[g[0]].numel())
        for k in range(0, len(g), step):
            chunk = g[k:k + step]
            with torch.no_grad():
                stacked = torch.stack([tensors[i] for i in chunk]).reshape(len(chunk), -1)
                # Scaled by each row's largest entry, so squares neither overflow nor underflow.
                peak = stacked.abs().amax(dim=1)
                top = peak.clamp_min(_TINY)
                norms = (torch.linalg.vector_norm(stacked / top[:, None], dim=1) * top).tolist()
            for i, n, largest in zip(chunk, norms, peak.tolist(), strict=True):
                # NaN or Inf entries, and norms near float32's smallest numbers: the exact way.
                exact = 0.0 if largest == 0 else n if 1e-30 < n < math.inf else norm(tensors[i])
                texts[i] = _norm_text(tensors[i], exact)
    return texts


_TINY = torch.finfo(torch.float32).tiny


@functools.lru_cache(maxsize=256)
def _shape_text(shape: torch.Size) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _norm_text(t: torch.Tensor, n: float) -> str:
    return f"{_shape_text(t.shape)} norm {short_number(n)}"


ROW = 4096  # float32 norms over at most this many elements are accurate to ~1e-7 relative


def _trusted(n: float) -> bool:
    """Whether a float32 norm can be shown: squares neither overflowed (inf) nor underflowed
    (a tiny result; 0 is checked again too: the entries may be tiny, not zero)."""
    return 1e-15 < n < math.inf


def norm(t: torch.Tensor) -> float:
    """The Euclidean norm, to far more than the 4 digits shown, without a float64 copy (40 ms
    for 3000 x 3000, against ~2 ms here). float32 norms of whole large tensors drift (0.7% off
    for 9.6M equal entries), so the norms of rows of ROW elements are combined in float64;
    out of float32's range the norm is taken in float64."""
    t = t.detach()
    if t.dtype == torch.float64:
        return torch.linalg.vector_norm(t).item()
    if not t.is_floating_point():  # int64, bool (true counts 1): torch norms only floats
        return torch.linalg.vector_norm(t.double()).item()
    with torch.no_grad():
        flat = t.reshape(-1)
        m = flat.numel() // ROW
        rows = [torch.linalg.vector_norm(flat[: m * ROW].view(m, ROW), dim=1)] if m else []
        if flat.numel() > m * ROW:
            rows.append(torch.linalg.vector_norm(flat[m * ROW:]).reshape(1))
        n = torch.linalg.vector_norm(torch.cat(rows), dtype=torch.float64).item()
        if _trusted(n) or (n == 0.0 and not t.any()):
            return n
        return torch.linalg.vector_norm(t, dtype=torch.float64).item()
