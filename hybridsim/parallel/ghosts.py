"""Ghost (aura) copies of cells for contact forces across subdomain boundaries.

Every rank sends each of its cells to every rank whose box, widened by the
interaction distance ``h``, contains the cell — or one of its periodic images,
shifted by a domain length. That covers faces, edges and corners, ranks farther
away than the next one when subdomains are thinner than ``h``, and, on one rank,
a periodic domain's own images. The copies (position, radius, id) travel packed as
8-byte words in one ``Alltoallv``; images this rank owes itself are not sent.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .agents import _alltoallv
from .grid import Grid


@njit(cache=True)
def _near_faces(position, lo, hi, size, periodic, h):
    """Indices of the cells within ``h`` of a face of this rank's box ``[lo, hi]`` (or,
    on a periodic axis, of the domain's faces): only they can be another rank's ghosts
    or this rank's own periodic images."""
    n, dim = position.shape
    near = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        for a in range(dim):
            x = position[i, a]
            if x - lo[a] <= h or hi[a] - x <= h or (periodic[a] and (x <= h or size[a] - x <= h)):
                near[k] = i
                k += 1
                break
    return near[:k]


@njit(cache=True)
def _targets(position, edges, procs, strides, size, periodic, h, rank, count_only, cells, dests, shifts):
    """Count (``count_only``) or list the ghost copies ``(cell, destination, shift)``."""
    dim = position.shape[1]
    max_per_axis = 3 * edges.shape[1]
    cand_q = np.empty((dim, max_per_axis), np.int64)
    cand_s = np.empty((dim, max_per_axis))
    n_cand = np.zeros(dim, np.int64)
    n = 0
    for i in range(position.shape[0]):
        total = 1
        for a in range(dim):
            n_cand[a] = 0
            for image in range(3):
                shift = 0.0 if image == 0 else (size[a] if image == 1 else -size[a])
                if image > 0 and not periodic[a]:
                    break
                x = position[i, a] + shift
                for q in range(procs[a]):
                    if edges[a, q] - h <= x <= edges[a, q + 1] + h:
                        cand_q[a, n_cand[a]] = q
                        cand_s[a, n_cand[a]] = shift
                        n_cand[a] += 1
            total *= n_cand[a]
        for combo in range(total):
            rest = combo
            dest = 0
            moved = False
            for a in range(dim):
                k = rest % n_cand[a]
                rest //= n_cand[a]
                dest += cand_q[a, k] * strides[a]
                if cand_s[a, k] != 0.0:
                    moved = True
            if dest == rank and not moved:
                continue
            if not count_only:
                rest = combo
                cells[n] = i
                dests[n] = dest
                for a in range(dim):
                    k = rest % n_cand[a]
                    rest //= n_cand[a]
                    shifts[n, a] = cand_s[a, k]
            n += 1
    return n


def exchange_ghosts(grid: Grid, position: np.ndarray, radius: np.ndarray, ids: np.ndarray, h: float):
    """Ghost copies for this rank of every rank's cells within ``h`` µm of its box
    (collective): ``(position (g, dim), radius (g,), ids (g,))``, images already shifted."""
    comm = grid.comm
    dim = grid.dim
    if comm.size == 1 and not any(grid.domain.periodic):
        return np.empty((0, dim)), np.empty(0), np.empty(0, np.int64)
    layout = grid.layout
    procs = np.array(layout.proc_sizes, dtype=np.int64)
    edges = np.zeros((dim, int(procs.max()) + 1))
    for a in range(dim):
        edges[a, :len(layout.bounds[a])] = layout.bounds[a] * grid.spacing[a]
    size = np.asarray(grid.domain.size, dtype=float)
    periodic = np.asarray(grid.domain.periodic, dtype=np.bool_)
    strides = np.asarray(grid._proc_strides, dtype=np.int64)
    position = np.ascontiguousarray(position, dtype=float)
    spacing = np.asarray(grid.spacing, dtype=float)
    lo = np.asarray(grid.starts, dtype=float) * spacing
    hi = (np.asarray(grid.starts) + np.asarray(grid.counts)) * spacing
    near = _near_faces(position, lo, hi, size, periodic, float(h))
    position = position[near]
    args = (position, edges, procs, strides, size, periodic, float(h), comm.rank)
    empty_i, empty_s = np.empty(0, np.int64), np.empty((0, dim))
    n = _targets(*args, True, empty_i, empty_i, empty_s)
    cells, dests, shifts = np.empty(n, np.int64), np.empty(n, np.int64), np.empty((n, dim))
    _targets(*args, False, cells, dests, shifts)
    order = np.argsort(dests, kind="stable")
    cells, dests, shifts = cells[order], dests[order], shifts[order]
    rows = np.empty((n, dim + 2), dtype=np.float64)
    rows[:, :dim] = position[cells] + shifts
    rows[:, dim] = radius[near[cells]]
    rows[:, dim + 1] = ids[near[cells]].view(np.float64)  # the id's bits, not its value
    mine = dests == comm.rank
    if comm.size > 1:
        send_counts = np.bincount(dests[~mine], minlength=comm.size).astype(np.int64)
        received, _ = _alltoallv(comm, rows[~mine].view(np.uint64), send_counts, dim + 2)
        rows = np.concatenate([rows[mine], received.view(np.float64)])
    return (np.ascontiguousarray(rows[:, :dim]), np.ascontiguousarray(rows[:, dim]),
            np.ascontiguousarray(rows[:, dim + 1]).view(np.int64))
