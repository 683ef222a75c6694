"""Which rank owns which grid cell, and where the cell sits in PETSc's numbering.

A DMDA splits the cells of each axis into contiguous ranges, one per process
coordinate, so the ranks own a ``Px × Py × Pz`` array of boxes. Ranks are
numbered with x fastest; PETSc numbers the cells rank by rank, and inside a
rank's box with x fastest. :class:`BoxLayout` answers both questions for any
array of cells from the per-axis range boundaries alone — a few integers per
axis that every rank holds — so no rank ever needs a global map.
"""

from __future__ import annotations

import math

import numpy as np

MIN_COARSE_CELLS = 4
"""Multigrid stops coarsening when an axis would have fewer cells per rank."""


def multigrid_levels(cells, proc_sizes) -> int:
    """Levels of geometric multigrid a grid of ``cells`` split over ``proc_sizes``
    ranks per axis supports: each coarsening halves every axis, which must stay a
    whole number of cells with at least :data:`MIN_COARSE_CELLS` per rank."""
    levels = 1
    cells = list(cells)
    while all(n % 2 == 0 and n // 2 >= MIN_COARSE_CELLS * p for n, p in zip(cells, proc_sizes)):
        cells = [n // 2 for n in cells]
        levels += 1
    return levels


def _largest_divisor_from(guess: int, size: int, rest: int = 1) -> tuple[int, int]:
    """The largest ``m ≤ max(guess, 1)`` with ``m · k · rest == size`` for a whole ``k``; ``(m, k)``."""
    m = max(guess, 1)
    while m > 1 and size % (m * rest):
        m -= 1
    return m, size // (m * rest)


def default_proc_sizes(cells, ranks: int) -> tuple[int, ...]:
    """Ranks per axis that a DMDA of ``cells`` chooses on ``ranks`` ranks when it is
    left to decide (PETSc's "squarish" split: as many ranks along an axis as its
    share of the cells asks for, then whole numbers), so ``hybridsim check --ranks``
    can predict what a run will do. Checked against PETSc's own DMDA in the tests."""
    if len(cells) == 1:
        return (ranks,)
    if len(cells) == 2:
        M, N = cells
        m, n = _largest_divisor_from(int(0.5 + math.sqrt(M * ranks / N)), ranks)
        if M > N and m < n:
            m, n = n, m
        return m, n
    M, N, P = cells
    n, _ = _largest_divisor_from(int(0.5 + (N * N * ranks / (P * M)) ** (1.0 / 3.0)), ranks)
    m, p = _largest_divisor_from(int(0.5 + math.sqrt(M * ranks / (P * n))), ranks, n)
    if M > P and m < p:
        m, p = p, m
    return m, n, p


class BoxLayout:
    """Ownership of a structured grid split into boxes.

    Parameters
    ----------
    bounds:
        Per axis, the increasing boundaries ``[0, b1, …, n]`` of the ranges owned by
        the process coordinates along that axis (length ``P_axis + 1``).
    """

    def __init__(self, bounds):
        self.bounds = [np.asarray(b, dtype=np.int64) for b in bounds]
        self.dim = len(self.bounds)
        self.cells = tuple(int(b[-1]) for b in self.bounds)
        self.proc_sizes = tuple(len(b) - 1 for b in self.bounds)
        widths = [np.diff(b) for b in self.bounds]
        # cells in each rank's box, ranks in x-fastest order
        mesh = np.meshgrid(*widths, indexing="ij")
        box_sizes = np.prod(np.stack([m.ravel(order="F") for m in mesh]), axis=0)
        self.box_offsets = np.concatenate([[0], np.cumsum(box_sizes)])

    @classmethod
    def from_ownership_ranges(cls, counts_per_axis) -> BoxLayout:
        """From PETSc's ``getOwnershipRanges()`` (cells per process, per axis)."""
        return cls([np.concatenate([[0], np.cumsum(c)]) for c in counts_per_axis])

    def coarsened(self) -> BoxLayout:
        """Layout of the grid with every axis halved (cells must be even): coarse cell
        ``I`` is owned by the rank that owns fine cell ``2I``."""
        return BoxLayout([(b + 1) // 2 for b in self.bounds])

    def proc_coords(self, index: np.ndarray) -> np.ndarray:
        """Process coordinates (shape ``(dim, n)``) of cells ``index`` (``(dim, n)``)."""
        return np.stack(
            [np.searchsorted(self.bounds[a], index[a], side="right") - 1 for a in range(self.dim)]
        )

    def rank_of(self, index: np.ndarray) -> np.ndarray:
        """Rank owning each of the cells ``index`` (shape ``(dim, n)``)."""
        coords = self.proc_coords(index)
        return np.ravel_multi_index(coords, self.proc_sizes, order="F")

    def petsc_index(self, index: np.ndarray) -> np.ndarray:
        """PETSc global index of each of the cells ``index`` (shape ``(dim, n)``)."""
        coords = self.proc_coords(index)
        ranks = np.ravel_multi_index(coords, self.proc_sizes, order="F")
        start = np.stack([self.bounds[a][coords[a]] for a in range(self.dim)])
        width = np.stack([self.bounds[a][coords[a] + 1] - self.bounds[a][coords[a]] for a in range(self.dim)])
        local = np.zeros(index.shape[1], dtype=np.int64)
        for a in reversed(range(self.dim)):
            local = local * width[a] + (index[a] - start[a])
        return self.box_offsets[ranks] + local

    def box(self, rank: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(starts, counts)`` of the box of ``rank``."""
        coords = np.unravel_index(rank, self.proc_sizes, order="F")
        starts = tuple(int(self.bounds[a][c]) for a, c in enumerate(coords))
        counts = tuple(int(self.bounds[a][c + 1] - self.bounds[a][c]) for a, c in enumerate(coords))
        return starts, counts

    def n_owned(self, rank: int) -> int:
        return math.prod(self.box(rank)[1])
