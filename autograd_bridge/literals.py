"""A tensor's values as a node's literal (the document's numbers): nested lists of Python numbers,
each float32 entry as the shortest decimal that gives back the same float32 (1.2, not
1.2000000476837158, float32(1.2)'s exact value as a double), as numpy prints it. The literal reads
back bit for bit: torch.tensor(literal_of(t), dtype=torch.float32) equals t, -0.0 included.

numpy's text of each entry costs ~0.4 µs (0.4 s for a 1000 x 1000 Linear layer, tolist() 0.03 s);
a few numpy passes find the same decimals in ~0.05 s more than tolist(). The nearest decimal of
k significant digits is d / 10**q (or d * 10**-q), and with d < 2**53 and 10**|q| ≤ 10**22
(exact doubles) that one division is the double nearest that decimal, as float() of its text
gives. The fewest digits whose nearest decimal rounds back to the same float32 are the answer:
once k digits fail, fewer fail too."""

from __future__ import annotations

import numpy as np
import torch

_POWERS = 10.0 ** np.arange(23)  # 10**22 is the largest power of ten a double holds exactly
_MOST_DIGITS = 9  # every float32 has a decimal of 9 significant digits that reads back as itself
_FIRST_TRY = 7  # random float32s mostly need 7 or 8 digits: try 7, then go down or up
_FEW = 64  # up to this many entries, numpy's text of each costs less than the passes' ~50 µs


def literal_of(t: torch.Tensor) -> object:
    """The tensor's values as a number or nested lists; float32 entries as shortest decimals."""
    t = t.detach().cpu()
    if t.dtype != torch.float32:
        return t.tolist()
    return shortest_doubles(t.numpy()).tolist()


def shortest_doubles(x: np.ndarray) -> np.ndarray:
    """float32 array -> float64 array of the same shape: each entry the double nearest the
    shortest decimal that rounds back to the float32 (zeros, NaN and infinities as they are)."""
    flat = x.reshape(-1)
    if flat.size <= _FEW:
        return np.array([float(str(v)) for v in flat]).reshape(x.shape)
    with np.errstate(divide="ignore", invalid="ignore"):  # zeros, NaN, infinities: not taken below
        out = flat.astype(np.float64)
        exponent = np.floor(np.log10(np.abs(out)))  # exact: no float32 is that near a power of ten
    # Digits 1 to 9 of these need 10**|q| with |q| ≤ 21 (exact). A power of two has a narrower
    # interval below it than above, where the other decimal may read back. The rest, and zeros,
    # NaN and infinities: numpy's own text (rare in weights).
    fast = (exponent >= -13) & (exponent <= 20) & (flat.view(np.uint32) & 0x7FFFFF != 0)
    if fast.all():  # the usual case: no gather, no scatter
        found, doubt = _shortest_in_range(out, flat, exponent.astype(np.int64))
        out = found
        slow = np.flatnonzero(doubt)
    else:
        at = np.flatnonzero(fast)
        found, doubt = _shortest_in_range(out[at], flat[at], exponent[at].astype(np.int64))
        out[at] = found
        slow = np.concatenate([np.flatnonzero(~fast & (out != 0)), at[doubt]])
    out[slow] = [float(str(v)) for v in flat[slow]]
    return out.reshape(x.shape)


def _shortest_in_range(v: np.ndarray, want: np.ndarray, exponent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(doubles, doubt) for float32 values `want` (as doubles `v`) of these decimal exponents:
    _FIRST_TRY digits, then fewer while they read back, or more until they do. `doubt` marks
    entries that a rounding error may have decided (within 1e-6 of halfway between two decimals)."""
    found = v.copy()  # 9 digits not reading back (double rounding; never seen) keep the exact value
    doubt = np.zeros(len(v), dtype=bool)
    ok, cand, near_half = _try(v, want, exponent, _FIRST_TRY)
    found[ok] = cand[ok]
    doubt |= near_half
    down, up = np.flatnonzero(ok), np.flatnonzero(~ok)
    for digits in range(_FIRST_TRY - 1, 0, -1):  # fewer, while they read back
        if not len(down):
            break
        ok, cand, near_half = _try(v[down], want[down], exponent[down], digits)
        doubt[down[near_half]] = True
        down = down[ok]
        found[down] = cand[ok]
    for digits in range(_FIRST_TRY + 1, _MOST_DIGITS + 1):  # more, until they do
        if not len(up):
            break
        ok, cand, near_half = _try(v[up], want[up], exponent[up], digits)
        doubt[up[near_half]] = True
        found[up[ok]] = cand[ok]
        up = up[~ok]
    return found, doubt


def _try(v: np.ndarray, want: np.ndarray, exponent: np.ndarray, digits: int) -> tuple[np.ndarray, ...]:
    """(reads back, the decimal as a double, near halfway) for the decimal of `digits`
    significant digits nearest v."""
    q = digits - 1 - exponent
    up, down = _POWERS[np.maximum(q, 0)], _POWERS[np.maximum(-q, 0)]
    scaled = v * up / down  # one of up, down is 1: one rounding, off by at most 1e-7 (< 1e9 * 2**-53)
    nearest = np.rint(scaled)
    cand = nearest * down / up  # the double nearest the decimal
    return cand.astype(np.float32) == want, cand, np.abs(scaled - nearest) > 0.5 - 1e-6
