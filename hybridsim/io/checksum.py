"""Checksums of distributed datasets that do not depend on how they are split.

Each row (an agent, or a grid cell) is hashed together with a key that
identifies it — the agent id, or the cell's natural index — and the row hashes
are *added* modulo 2⁶⁴. The sum is the same whatever the order of the rows and
however they are spread over ranks, so the writer (any rank count) and a reader
(any other rank count) compare one number per dataset after an allreduce.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _C1
    z = (z ^ (z >> np.uint64(27))) * _C2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def keyed_sum(words, keys):
    """Σ_rows mix(key, row words) mod 2⁶⁴ for ``words`` uint64 ``(n, w)`` and ``keys`` uint64 ``(n,)``:
    each word is folded in with one odd multiply, each row finished with the full mixer."""
    total = np.uint64(0)
    for i in range(words.shape[0]):
        h = keys[i] * _GOLDEN
        for j in range(words.shape[1]):
            h = (h ^ words[i, j]) * _C1
        total += _mix(h)
    return total


def checksum(data: np.ndarray, keys: np.ndarray, comm) -> int:
    """The decomposition-independent checksum of the rows of ``data`` (8-byte
    elements, first axis = rows) on all ranks of ``comm`` (collective)."""
    from mpi4py import MPI

    data = np.ascontiguousarray(data)
    # the row width from the shape, not from the size: a rank may hold no rows
    rows = data.reshape(len(data), math.prod(data.shape[1:])).view(np.uint64)
    local = np.array([keyed_sum(rows, np.ascontiguousarray(keys, dtype=np.int64).view(np.uint64))],
                     dtype=np.uint64)
    total = np.zeros(1, dtype=np.uint64)
    comm.Allreduce(local, total, op=MPI.SUM)
    return int(total[0])
