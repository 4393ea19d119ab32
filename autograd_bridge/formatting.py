"""Tensors as short text: numbers with 4 significant digits, small tensors inline,
larger ones as shape and (Euclidean) norm, e.g. "[2000, 2000] norm 7.356e4". Shared by the CLI
table and the canvas overlays, where a line holds about 30 characters: keep it short."""

from __future__ import annotations

import re

import torch

from graph.values import INLINE_MAX  # tensors with at most this many elements are written out in full


def number(v: float) -> str:
    return f"{v:.4g}"


def short_number(v: float) -> str:
    """4 significant digits with a short exponent: 7.356e4, 1.2e-5 (not 7.356e+04)."""
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m[1] == "-" else "") + m[2], number(v))


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
    shape = "[" + ", ".join(str(d) for d in t.shape) + "]"
    return f"{shape} norm {short_number(norm)}"
