"""Initial positions and counts of agents (no MPI here).

Global ids are assigned per placement in a fixed order, so they do not depend
on the rank count: uniform placements number their agents ``0 … count−1``,
lattices use the raveled site index, files the row number (each plus the
offset of the placements before it; files are read by
:mod:`hybridsim.io.agent_input`). A rank creates only a block of the ids (or,
for lattices, the sites in its own subdomain); the caller migrates agents to
their owners.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..config.agents import Placement
from ..errors import InputError
from ..geometry import region_mask
from .rng import STREAM_PLACEMENT, stream_key, uniform_pair


def block(n: int, rank: int, size: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of ``n`` that ``rank`` of ``size`` takes."""
    return n * rank // size, n * (rank + 1) // size


MAX_DRAWS = 1 << 20
"""Tries per agent of the rejection sampling of a ball before the region counts as
(almost) outside the domain."""


@njit(cache=True)
def _uniform_points(ids, lower, upper, center, radius, seed, max_draws):
    """One point per id, uniform in the box ``[lower, upper)`` intersected with the
    ball (``radius`` < 0: no ball), by rejection from the box; returns the points and
    whether every agent found one within ``max_draws`` tries."""
    k0, k1 = stream_key(seed, STREAM_PLACEMENT)
    dim = lower.shape[0]
    out = np.empty((ids.shape[0], dim))
    for i in range(ids.shape[0]):
        draw = 0
        while True:
            if draw >= max_draws:
                return out, False
            d2 = 0.0
            for a in range(0, dim, 2):
                u1, u2 = uniform_pair(k0, k1, ids[i], 0, draw)
                draw += 1
                out[i, a] = lower[a] + (upper[a] - lower[a]) * (1.0 - u1)
                if a + 1 < dim:
                    out[i, a + 1] = lower[a + 1] + (upper[a + 1] - lower[a + 1]) * (1.0 - u2)
            if radius < 0.0:
                break
            for a in range(dim):
                d2 += (out[i, a] - center[a]) ** 2
            if d2 <= radius * radius:
                break
    return out, True


def _box(region, size) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Bounding box of ``region`` within the domain ``[0, size)``, ball centre and radius."""
    size = np.asarray(size, dtype=float)
    if region is None:
        return np.zeros_like(size), size, np.zeros_like(size), -1.0
    if region.center is not None:
        c = np.asarray(region.center)
        lo, hi, radius = c - region.radius, c + region.radius, region.radius
    else:
        lo, hi, c, radius = np.asarray(region.lower), np.asarray(region.upper), np.zeros_like(size), -1.0
    return np.maximum(lo, 0.0), np.minimum(hi, size), c, radius


def count(placement: Placement, size) -> int:
    """Number of ids a uniform or lattice placement uses (agents, or lattice sites);
    :func:`hybridsim.io.agent_input.placement_count` counts any placement."""
    if placement.kind == "uniform":
        return placement.count
    if placement.kind == "lattice":
        lo, hi, _, _ = _box(placement.region, size)
        return math.prod(_sites_per_axis(placement, lo, hi))
    raise ValueError(f"placement.count: a {placement.kind!r} placement is counted by io.agent_input")


def _sites_per_axis(placement: Placement, lo, hi) -> tuple[int, ...]:
    """Lattice sites along each axis of the box ``[lo, hi)`` (counted, not listed)."""
    return tuple(max(0, math.floor((hi[a] - lo[a]) / placement.spacing[a] + 1e-9)) for a in range(len(lo)))


def _lattice_axes(placement: Placement, lo, hi):
    shape = _sites_per_axis(placement, lo, hi)
    axes = [lo[a] + placement.spacing[a] * (np.arange(n) + 0.5) for a, n in enumerate(shape)]
    return axes, shape


def initial_counts_of(own: tuple[str, ...], initial: tuple[int, ...], species: tuple[str, ...]) -> tuple[int, ...]:
    """A network's initial counts (of its species ``own``) on the columns ``species``
    (0 for the species it does not have)."""
    out = [0] * len(species)
    for name, n in zip(own, initial):
        out[species.index(name)] = n
    return tuple(out)


def initial_counts(placement: Placement, species: tuple[str, ...], base: tuple[int, ...]) -> np.ndarray:
    counts = np.array(base, dtype=np.int64)
    for name, value in placement.counts:
        counts[species.index(name)] = value
    return counts


def uniform(placement: Placement, size, first_id: int, rank: int, n_ranks: int, seed: int):
    """``(ids, positions)`` of this rank's block of a uniform placement."""
    lo, hi, center, radius = _box(placement.region, size)
    if np.any(hi <= lo):
        raise InputError("agents.initial.region lies outside the domain")
    start, stop = block(placement.count, rank, n_ranks)
    ids = np.arange(first_id + start, first_id + stop, dtype=np.int64)
    points, placed = _uniform_points(ids, lo, hi, center, radius, seed, MAX_DRAWS)
    if not placed:
        raise InputError(f"agents.initial.region: no point of the ball inside the domain was found in {MAX_DRAWS} "
                         "random tries: the ball overlaps the domain by a vanishing fraction")
    return ids, points


def lattice(placement: Placement, size, first_id: int, spacing, starts, counts):
    """``(ids, positions)`` of the lattice sites in the grid cells ``starts`` to
    ``starts + counts`` (per axis; cell ``i`` holds ``i·h ≤ x < (i+1)·h``)."""
    lo, hi, center, radius = _box(placement.region, size)
    axes, shape = _lattice_axes(placement, lo, hi)
    local = []
    for a, x in enumerate(axes):
        cell = np.floor(x / spacing[a]).astype(np.int64)
        keep = np.nonzero((cell >= starts[a]) & (cell < starts[a] + counts[a]))[0]
        local.append(keep)
    mesh = np.meshgrid(*local, indexing="ij")
    index = np.stack([m.ravel(order="F") for m in mesh])
    if index.size == 0:
        return np.empty(0, np.int64), np.empty((0, len(size)))
    pos = np.stack([axes[a][index[a]] for a in range(len(size))], axis=1)
    ids = first_id + np.ravel_multi_index(tuple(index), shape, order="F").astype(np.int64)
    if radius >= 0:
        inside = ((pos - center) ** 2).sum(axis=1) <= radius**2
        ids, pos = ids[inside], pos[inside]
    if placement.region is not None and placement.region.center is None:
        inside = region_mask(placement.region, pos)
        ids, pos = ids[inside], pos[inside]
    return ids, pos
