"""Ghost (aura) copies of cells for contact forces across subdomain boundaries.

Every rank sends each of its cells to every rank whose box, widened by the
interaction distance ``h``, contains the cell — or one of its periodic images,
shifted by a domain length. That covers faces, edges and corners, ranks farther
away than the next one when subdomains are thinner than ``h``, and, on one rank,
a periodic domain's own images. The copies (position, radius, id) travel packed as
8-byte words; images this rank owes itself are not sent.

Two transports give the same ghosts in the same order (grouped by source rank):
``"alltoallv"``, one ``Alltoall`` of counts and one ``Alltoallv`` over the whole
communicator, and ``"neighbor"``, ``Neighbor_alltoall``/``Neighbor_alltoallv`` on a
distributed-graph communicator of the ranks whose boxes lie within ``h`` of this
one (rebuilt only when ``h`` outgrows the distance it was built for). Which one a
run uses, and why, is in ``docs/bodies.md``.
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


TRANSPORTS = ("alltoallv", "neighbor")
GRAPH_MARGIN = 1.25
"""A neighbour graph is built for ``GRAPH_MARGIN·h`` so that cells growing a little
do not rebuild it every step."""


def _box_edges(grid: Grid) -> np.ndarray:
    """Per axis, the µm coordinates of the boundaries between the ranks' boxes."""
    layout = grid.layout
    procs = np.array(layout.proc_sizes, dtype=np.int64)
    edges = np.zeros((grid.dim, int(procs.max()) + 1))
    for a in range(grid.dim):
        edges[a, :len(layout.bounds[a])] = layout.bounds[a] * grid.spacing[a]
    return edges


def ranks_within(grid: Grid, h: float) -> list[int]:
    """The other ranks whose boxes come within ``h`` µm of this rank's box along every
    axis (across periodic faces too): the only ones that can send it ghosts, or get
    ghosts from it. Sorted, so neighbour order equals rank order."""
    edges = _box_edges(grid)
    size = grid.domain.size
    mine = [int(np.searchsorted(grid.layout.bounds[a], grid.starts[a], side="right")) - 1 for a in range(grid.dim)]
    near_per_axis = []
    for a, procs in enumerate(grid.layout.proc_sizes):
        lo, hi = edges[a, mine[a]], edges[a, mine[a] + 1]
        shifts = (0.0, size[a], -size[a]) if grid.domain.periodic[a] else (0.0,)
        near_per_axis.append([q for q in range(procs)
                              if any(edges[a, q] + s - h <= hi and lo <= edges[a, q + 1] + s + h for s in shifts)])
    strides = grid._proc_strides
    ranks = {sum(int(q) * int(st) for q, st in zip(combo, strides))
             for combo in np.array(np.meshgrid(*near_per_axis, indexing="ij")).reshape(grid.dim, -1).T}
    return sorted(ranks - {grid.comm.rank})


class GhostExchange:
    """Ghost copies on ``grid`` by ``transport`` (one of :data:`TRANSPORTS`)."""

    def __init__(self, grid: Grid, transport: str = "alltoallv"):
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}")
        self.grid = grid
        self.transport = transport
        self._graph = None  # (h it was built for, communicator, neighbour ranks)

    def _neighbours(self, h: float):
        if self._graph is None or h > self._graph[0]:
            self.free()
            reach = GRAPH_MARGIN * h
            near = ranks_within(self.grid, reach)
            comm = self.grid.comm.Create_dist_graph_adjacent(near, near, reorder=False)
            self._graph = (reach, comm, np.array(near, dtype=np.int64))
        return self._graph[1], self._graph[2]

    def free(self) -> None:
        if self._graph is not None:
            self._graph[1].Free()
            self._graph = None

    def __call__(self, position: np.ndarray, radius: np.ndarray, ids: np.ndarray, h: float, types=None):
        """Ghost copies for this rank of every rank's cells within ``h`` µm of its box
        (collective): ``(position (g, dim), radius (g,), ids (g,))``, images already
        shifted, and with ``types`` (the cells' type indices) their ``types (g,)``."""
        grid = self.grid
        comm = grid.comm
        dim = grid.dim
        typed = types is not None
        if comm.size == 1 and not any(grid.domain.periodic):
            empty = (np.empty((0, dim)), np.empty(0), np.empty(0, np.int64))
            return empty + ((np.empty(0, np.int64),) if typed else ())
        rows, dests = _ghost_rows(grid, position, radius, ids, h, types)
        width = rows.shape[1]
        mine = dests == comm.rank
        if comm.size > 1:
            if self.transport == "alltoallv":
                send_counts = np.bincount(dests[~mine], minlength=comm.size).astype(np.int64)
                received, _ = _alltoallv(comm, rows[~mine].view(np.uint64), send_counts, width)
            else:
                graph, near = self._neighbours(h)
                counts = np.bincount(dests[~mine], minlength=comm.size).astype(np.int64)
                if counts.sum() != counts[near].sum():
                    raise AssertionError("a ghost is bound for a rank outside the neighbour graph")
                received = _neighbor_alltoallv(graph, rows[~mine].view(np.uint64), counts[near], width)
            rows = np.concatenate([rows[mine], received.view(np.float64)])
        out = (np.ascontiguousarray(rows[:, :dim]), np.ascontiguousarray(rows[:, dim]),
               np.ascontiguousarray(rows[:, dim + 1]).view(np.int64))
        return out + ((np.ascontiguousarray(rows[:, dim + 2]).view(np.int64),) if typed else ())


def _neighbor_alltoallv(graph, send: np.ndarray, send_counts: np.ndarray, width: int) -> np.ndarray:
    """:func:`_alltoallv` among the neighbours of a distributed-graph communicator."""
    from mpi4py import MPI

    recv_counts = np.empty_like(send_counts)
    graph.Neighbor_alltoall([send_counts, MPI.INT64_T], [recv_counts, MPI.INT64_T])
    send_displ = np.concatenate([[0], np.cumsum(send_counts)[:-1]]).astype(np.int64) * width
    recv_displ = np.concatenate([[0], np.cumsum(recv_counts)[:-1]]).astype(np.int64) * width
    recv = np.empty((int(recv_counts.sum()), width), dtype=np.uint64)
    graph.Neighbor_alltoallv([np.ascontiguousarray(send), (send_counts * width, send_displ), MPI.UINT64_T],
                             [recv, (recv_counts * width, recv_displ), MPI.UINT64_T])
    return recv


def _ghost_rows(grid: Grid, position, radius, ids, h, types=None):
    """The packed rows ``(position + shift, radius, id bits[, type bits])`` of this
    rank's ghost copies and their destinations, sorted by destination."""
    dim = grid.dim
    layout = grid.layout
    procs = np.array(layout.proc_sizes, dtype=np.int64)
    edges = _box_edges(grid)
    size = np.asarray(grid.domain.size, dtype=float)
    periodic = np.asarray(grid.domain.periodic, dtype=np.bool_)
    strides = np.asarray(grid._proc_strides, dtype=np.int64)
    position = np.ascontiguousarray(position, dtype=float)
    spacing = np.asarray(grid.spacing, dtype=float)
    lo = np.asarray(grid.starts, dtype=float) * spacing
    hi = (np.asarray(grid.starts) + np.asarray(grid.counts)) * spacing
    near = _near_faces(position, lo, hi, size, periodic, float(h))
    position = position[near]
    args = (position, edges, procs, strides, size, periodic, float(h), grid.comm.rank)
    empty_i, empty_s = np.empty(0, np.int64), np.empty((0, dim))
    n = _targets(*args, True, empty_i, empty_i, empty_s)
    cells, dests, shifts = np.empty(n, np.int64), np.empty(n, np.int64), np.empty((n, dim))
    _targets(*args, False, cells, dests, shifts)
    order = np.argsort(dests, kind="stable")
    cells, dests, shifts = cells[order], dests[order], shifts[order]
    rows = np.empty((n, dim + 2 + (types is not None)), dtype=np.float64)
    rows[:, :dim] = position[cells] + shifts
    rows[:, dim] = radius[near[cells]]
    rows[:, dim + 1] = ids[near[cells]].view(np.float64)  # the id's bits, not its value
    if types is not None:
        rows[:, dim + 2] = np.ascontiguousarray(types[near[cells]], dtype=np.int64).view(np.float64)
    return rows, dests


def exchange_ghosts(grid: Grid, position: np.ndarray, radius: np.ndarray, ids: np.ndarray, h: float):
    """Ghost copies for this rank of every rank's cells within ``h`` µm of its box by
    ``Alltoallv`` (collective); see :class:`GhostExchange`."""
    return GhostExchange(grid)(position, radius, ids, h)
