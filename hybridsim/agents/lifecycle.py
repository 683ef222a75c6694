"""Per-agent random decisions of the cell cycle (numba kernels on arrays).

Each decision draws from its own stream keyed by (seed, agent id, step), so
whether a cell divides or dies does not depend on its rank or on other cells.

* :func:`event_uniforms` — one uniform per agent; an event of rate ``r`` (1/min)
  happens within a step ``Δt`` when ``u < 1 − exp(−r Δt)``.
* :func:`split_counts` — at division each molecule goes to either daughter with
  probability ½: the daughter's share is Binomial(n, ½), drawn exactly as the
  number of set bits in ``n`` random bits (cost ``n/128`` Philox blocks).
* :func:`unit_vectors` — directions along which daughters separate.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .motility import _random_direction
from .rng import STREAM_SPLIT, random_bits, stream_key, uniform_pair

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, inline="always")
def popcount64(x):
    """Number of set bits of a uint64."""
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return np.int64((x * _H01) >> np.uint64(56))


@njit(cache=True)
def event_uniforms(ids, seed, stream, step):
    """One uniform in (0, 1] per agent from ``stream``."""
    k0, k1 = stream_key(seed, stream)
    out = np.empty(ids.shape[0])
    for i in range(ids.shape[0]):
        out[i], _ = uniform_pair(k0, k1, ids[i], step, 0)
    return out


@njit(cache=True, inline="always")
def _binomial_half(n, k0, k1, agent, step, draw):
    """Binomial(n, ½) from ``n`` random bits, starting at block ``draw``;
    returns the sample and the next free block."""
    total = 0
    remaining = n
    while remaining > 0:
        w1, w2 = random_bits(k0, k1, agent, step, draw)
        draw += 1
        for w in (w1, w2):
            if remaining >= 64:
                total += popcount64(w)
                remaining -= 64
            elif remaining > 0:
                total += popcount64(w & (_ALL >> np.uint64(64 - remaining)))
                remaining = 0
    return total, draw


@njit(cache=True)
def split_counts(counts, ids, seed, step):
    """Daughter counts (Binomial(n, ½) per species) of the mothers ``counts``
    (int64 ``(k, S)``), which keep the rest (updated in place)."""
    k0, k1 = stream_key(seed, STREAM_SPLIT)
    daughter = np.empty_like(counts)
    for i in range(counts.shape[0]):
        draw = 0
        for s in range(counts.shape[1]):
            share, draw = _binomial_half(counts[i, s], k0, k1, ids[i], step, draw)
            daughter[i, s] = share
            counts[i, s] -= share
    return daughter


@njit(cache=True)
def unit_vectors(ids, dim, seed, stream, step):
    """One uniformly distributed unit vector per agent (blocks 1 and 2 of ``stream``)."""
    k0, k1 = stream_key(seed, stream)
    out = np.zeros((ids.shape[0], dim))
    for i in range(ids.shape[0]):
        _random_direction(k0, k1, ids[i], step, 1, out, i)
    return out
