"""Geometric multigrid for cell-centred fields on the DMDA.

PETSc's DMDA transfer operators assume vertex-centred grids (``(m−1)/(M−1)``
must be an integer), so the hierarchy is built here: each coarser level halves
every axis, and the prolongation is the tensor product of the 1D cell-centred
linear interpolation — a fine cell takes ¾ of its parent and ¼ of the parent's
neighbour on its side (the parent alone next to a wall; across a periodic
boundary the neighbour wraps). Coarse operators are Galerkin products
``Pᵀ A P``, so the hierarchy is valid for any coefficients the fine operator
holds. Linear prolongation with its transpose as restriction keeps multigrid's
convergence rate independent of the grid size for diffusion (piecewise-constant
transfer does not).
"""

from __future__ import annotations

import itertools

import numpy as np

from ..errors import InputError
from ..parallel.grid import Grid
from ..parallel.layout import BoxLayout
from ..parallel.petsc import get_petsc

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


def _prolongation(fine: BoxLayout, coarse: BoxLayout, periodic, rank: int, comm):
    PETSc = get_petsc()
    dim = fine.dim
    starts, counts = fine.box(rank)
    n = int(np.prod(counts))
    index = np.indices(counts).reshape(dim, -1, order="F") + np.array(starts)[:, None]
    # per axis: (parent, weight), (neighbour parent, weight)
    pairs = []
    for a in range(dim):
        parent = index[a] // 2
        other = np.where(index[a] % 2 == 0, parent - 1, parent + 1)
        n_c = coarse.cells[a]
        w_parent = np.full(n, 0.75)
        w_other = np.full(n, 0.25)
        if periodic[a]:
            other %= n_c
        else:
            wall = (other < 0) | (other >= n_c)
            other[wall] = parent[wall]
            w_parent[wall] = 1.0
            w_other[wall] = 0.0
        pairs.append(((parent, w_parent), (other, w_other)))
    cols, vals = [], []
    for choice in itertools.product((0, 1), repeat=dim):
        cidx = np.stack([pairs[a][choice[a]][0] for a in range(dim)])
        weight = np.prod([pairs[a][choice[a]][1] for a in range(dim)], axis=0)
        cols.append(coarse.petsc_index(cidx))
        vals.append(weight)
    cols = np.stack(cols, axis=1).astype(PETSc.IntType)
    vals = np.stack(vals, axis=1)
    rows = (fine.box_offsets[rank] + np.arange(n)).astype(PETSc.IntType)
    n_coarse_local = coarse.n_owned(rank)
    P = PETSc.Mat().createAIJ(
        size=((n, fine.box_offsets[-1]), (n_coarse_local, coarse.box_offsets[-1])),
        nnz=(2**dim, 2**dim),
        comm=comm,
    )
    P.setValuesRCV(rows[:, None], cols, vals, addv=PETSc.InsertMode.ADD_VALUES)
    P.assemble()
    return P


class MultigridHierarchy:
    """Prolongation matrices of one grid, built on first use and shared by every
    solver on that grid."""

    def __init__(self, grid: Grid):
        self.grid = grid
        self._layouts = [grid.layout]
        self._prolongations = []

    def max_levels(self) -> int:
        return multigrid_levels(self.grid.domain.cells, self.grid.proc_sizes)

    def prolongation(self, k: int):
        """Interpolation from the grid coarsened ``k`` times to ``k − 1`` times."""
        while len(self._prolongations) < k:
            fine = self._layouts[-1]
            coarse = fine.coarsened()
            self._layouts.append(coarse)
            PETSc = get_petsc()
            self._prolongations.append(
                _prolongation(fine, coarse, self.grid.domain.periodic, self.grid.comm.rank,
                              PETSc.Comm(self.grid.comm))
            )
        return self._prolongations[k - 1]

    def attach(self, pc, prefix: str) -> None:
        """Give a PCMG ``pc`` (levels already set) its interpolation operators."""
        levels = pc.getMGLevels()
        if levels > self.max_levels():
            raise InputError(
                f"PETSc option -{prefix}pc_mg_levels {levels}: domain.cells = "
                f"{list(self.grid.domain.cells)} on {self.grid.comm.size} ranks supports at most "
                f"{self.max_levels()} levels (each level halves every axis)"
            )
        for level in range(1, levels):
            pc.setMGInterpolation(level, self.prolongation(levels - level))

    def destroy(self) -> None:
        for P in self._prolongations:
            P.destroy()
        self._prolongations.clear()
