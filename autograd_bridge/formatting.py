"""Tensors as short text: numbers with 4 significant digits, small tensors inline,
larger ones as shape and norm. Shared by the CLI table and the canvas overlays."""

from __future__ import annotations

import torch

INLINE_MAX = 8  # tensors with at most this many elements are written out in full


def number(v: float) -> str:
    return f"{v:.4g}"


def nested(v: object) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(nested(x) for x in v) + "]"
    return number(v)


def tensor_text(t: torch.Tensor | None, none_text: str = "None") -> str:
    if t is None:
        return none_text
    t = t.detach()
    if t.numel() <= INLINE_MAX:
        return nested(t.cpu().tolist())
    norm = torch.linalg.vector_norm(t.double()).item()
    return f"{list(t.shape)} tensor, norm {number(norm)}"
