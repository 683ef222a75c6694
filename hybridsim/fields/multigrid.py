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

import numpy as np
from numba import njit

from ..errors import InputError
from ..parallel.grid import Grid
from ..parallel.layout import BoxLayout, multigrid_levels
from ..parallel.petsc import get_petsc


@njit(cache=True)
def _prolongation_entries(starts, counts, coarse_bounds, coarse_procs, coarse_offsets, periodic):
    """For each owned fine cell (x fastest): the PETSc indices of its 2^dim coarse
    contributors and their weights (per axis ¾ parent, ¼ the parent's neighbour on
    its side; the parent alone at a wall; wrapped across a periodic boundary)."""
    dim = starts.shape[0]
    n = 1
    for a in range(dim):
        n *= counts[a]
    corners = 1 << dim
    cols = np.empty((n, corners), dtype=np.int64)
    vals = np.empty((n, corners))
    index = np.zeros(dim, dtype=np.int64)
    choice_cell = np.zeros((dim, 2), dtype=np.int64)
    choice_weight = np.zeros((dim, 2))
    coarse = np.zeros(dim, dtype=np.int64)
    for p in range(n):
        rest = p
        for a in range(dim):
            index[a] = starts[a] + rest % counts[a]
            rest //= counts[a]
        for a in range(dim):
            n_c = coarse_bounds[a, coarse_procs[a]]
            parent = index[a] // 2
            other = parent - 1 if index[a] % 2 == 0 else parent + 1
            w_parent, w_other = 0.75, 0.25
            if periodic[a]:
                other %= n_c
            elif other < 0 or other >= n_c:
                other, w_parent, w_other = parent, 1.0, 0.0
            choice_cell[a, 0], choice_cell[a, 1] = parent, other
            choice_weight[a, 0], choice_weight[a, 1] = w_parent, w_other
        for k in range(corners):
            weight = 1.0
            for a in range(dim):
                bit = (k >> a) & 1
                coarse[a] = choice_cell[a, bit]
                weight *= choice_weight[a, bit]
            # PETSc index: offset of the owning rank's box, then x-fastest inside it
            rank = 0
            stride = 1
            local = 0
            box_stride = 1
            for a in range(dim):
                q = 0
                while coarse_bounds[a, q + 1] <= coarse[a]:
                    q += 1
                rank += q * stride
                stride *= coarse_procs[a]
                local += (coarse[a] - coarse_bounds[a, q]) * box_stride
                box_stride *= coarse_bounds[a, q + 1] - coarse_bounds[a, q]
            cols[p, k] = coarse_offsets[rank] + local
            vals[p, k] = weight
    return cols, vals


def _prolongation(fine: BoxLayout, coarse: BoxLayout, periodic, rank: int, comm):
    PETSc = get_petsc()
    dim = fine.dim
    starts, counts = fine.box(rank)
    n = int(np.prod(counts))
    bounds = np.zeros((dim, max(len(b) for b in coarse.bounds)), dtype=np.int64)
    for a, b in enumerate(coarse.bounds):
        bounds[a, :len(b)] = b
    cols, vals = _prolongation_entries(np.array(starts, dtype=np.int64), np.array(counts, dtype=np.int64), bounds,
                                       np.array(coarse.proc_sizes, dtype=np.int64),
                                       np.asarray(coarse.box_offsets, dtype=np.int64),
                                       np.array(periodic, dtype=np.bool_))
    cols = cols.astype(PETSc.IntType)
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
