"""Geometric multigrid for cell-centred fields on the DMDA.

PETSc's DMDA transfer operators assume vertex-centred grids (``(m−1)/(M−1)``
must be an integer), so the hierarchy is built here: each coarser level halves
every axis, and the prolongation is the tensor product of the 1D cell-centred
linear interpolation (:mod:`.prolongation`; matrix-free, a numba pass per
application). Linear prolongation with its transpose as restriction keeps
multigrid's convergence rate independent of the grid size for diffusion
(piecewise-constant transfer does not).

Coarse operators are rediscretised (:class:`LevelOperators`): the species'
finite-volume operator on the coarse cells at the scale of the Galerkin product
``PᵀAP``, 2·dim + 1 entries per row instead of PᵀAP's 3^dim, built from the
config's coefficients without a triple product (which took most of the set-up:
9 s of 15 for 3D 128³). CG then needs at most two iterations more per step than
with PᵀAP and each is cheaper; ``-rd_pc_mg_galerkin both`` asks PETSc for PᵀAP
(with the prolongation assembled). The Chebyshev–Jacobi smoothers take their
eigenvalue interval from Gershgorin's bound instead of PETSc's estimate (10 GMRES
iterations per level).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import InputError
from ..geometry import evaluate
from ..parallel.grid import Grid
from ..parallel.krylov import set_chebyshev_eigenvalues
from ..parallel.layout import BoxLayout, multigrid_levels
from ..parallel.petsc import get_petsc
from ..parallel.sparse import aij_from_rows, box_petsc_index
from .prolongation import assembled_prolongation, box_arrays, matrix_free_prolongation


class MultigridHierarchy:
    """Prolongation matrices of one grid, built on first use and shared by every
    solver on that grid."""

    def __init__(self, grid: Grid):
        self.grid = grid
        self._layouts = [grid.layout]
        self._prolongations = []  # assembled, for Galerkin products
        self._transfers = []  # matrix-free, with the coarse DMDAs they read through

    def max_levels(self) -> int:
        return multigrid_levels(self.grid.domain.cells, self.grid.proc_sizes)

    def prolongation(self, k: int):
        """Interpolation from the grid coarsened ``k`` times to ``k − 1`` times, as an
        AIJ matrix."""
        while len(self._prolongations) < k:
            j = len(self._prolongations)
            self._prolongations.append(
                assembled_prolongation(self.layout(j), self.layout(j + 1), self.grid.domain.periodic,
                                       self.grid.comm.rank, get_petsc().Comm(self.grid.comm))
            )
        return self._prolongations[k - 1]

    def transfer(self, k: int):
        """The same interpolation as a matrix-free shell matrix."""
        while len(self._transfers) < k:
            j = len(self._transfers)
            self._transfers.append(
                matrix_free_prolongation(self.layout(j), self.layout(j + 1), self.grid.domain.periodic,
                                         self.grid.comm.rank, get_petsc().Comm(self.grid.comm))
            )
        return self._transfers[k - 1][0]

    def layout(self, k: int) -> BoxLayout:
        """The layout of the grid coarsened ``k`` times."""
        while len(self._layouts) <= k:
            self._layouts.append(self._layouts[-1].coarsened())
        return self._layouts[k]

    def attach(self, pc, prefix: str, operators=None) -> None:
        """Give a PCMG ``pc`` (levels already set) its interpolation operators and,
        unless PETSc forms Galerkin products, ``operators`` (a
        :class:`LevelOperators`) the operators of its coarse levels."""
        levels = pc.getMGLevels()
        if levels > self.max_levels():
            raise InputError(
                f"PETSc option -{prefix}pc_mg_levels {levels}: domain.cells = "
                f"{list(self.grid.domain.cells)} on {self.grid.comm.size} ranks supports at most "
                f"{self.max_levels()} levels (each level halves every axis)"
            )
        for level in range(1, levels):
            k = levels - level
            pc.setMGInterpolation(level, self.prolongation(k) if operators is None else self.transfer(k))
        if operators is not None and levels > 1:
            systems = operators.systems(levels - 1)
            for level in range(1, levels - 1):
                pc.getMGSmoother(level).setOperators(systems[levels - 1 - level - 1])
            pc.getMGCoarseSolve().setOperators(systems[-1])

    def destroy(self) -> None:
        for P in self._prolongations:
            P.destroy()
        for P, da in self._transfers:
            P.destroy()
            da.destroy()
        self._prolongations.clear()
        self._transfers.clear()


def set_gershgorin_intervals(pc, fine, low: float = 0.2, high: float = 1.1) -> None:
    """Give the Chebyshev–Jacobi smoothers of PCMG ``pc`` (whose finest operator is
    ``fine``) eigenvalue intervals from Gershgorin's theorem instead of PETSc's
    estimate (10 GMRES iterations per level): for a matrix with positive diagonal
    and non-positive off-diagonals, every eigenvalue of ``D⁻¹A`` lies below
    ``λ_G = maxᵢ Σⱼ|aᵢⱼ|/aᵢᵢ``, and the smoother targets ``[low·λ_G, high·λ_G]``
    (PETSc's factors around its estimate are 0.1 and 1.1; with the bound, which is
    close to the largest eigenvalue, 0.2 measured one or two iterations fewer)."""
    levels = pc.getMGLevels()
    for level in range(1, levels):
        smoother = pc.getMGSmoother(level)
        bound = gershgorin_bound(fine if level == levels - 1 else smoother.getOperators()[0])
        set_chebyshev_eigenvalues(smoother, low * bound, high * bound)


def gershgorin_bound(A) -> float:
    """``maxᵢ Σⱼ|aᵢⱼ| / aᵢᵢ`` for ``A`` with positive diagonal and non-positive
    off-diagonal entries (an M-matrix, as every operator here is): an upper bound on
    the eigenvalues of ``D⁻¹A``."""
    from mpi4py import MPI

    diagonal, sums = A.getDiagonal(), A.getRowSum()
    d, s = diagonal.getArray(readonly=True), sums.getArray(readonly=True)
    local = float(np.max((2.0 * d - s) / d)) if d.size else 0.0
    diagonal.destroy()
    sums.destroy()
    return A.getComm().tompi4py().allreduce(local, op=MPI.MAX)


@njit(cache=True)
def _level_rows(starts, counts, cells, periodic, faces, diagonal, bounds, procs, offsets):
    """Rows of a coarse level's operator for the owned cells (x fastest): global
    columns (own, then low/high neighbour per axis; −1 where no face is) and values.
    ``faces[a]`` holds, on the owned box padded by one cell per axis (shape
    ``counts + 1``, x fastest), the coefficient of the face below each cell along
    ``a`` (0 at a wall); ``diagonal`` the walls' and decay's share of each row."""
    dim = counts.shape[0]
    n = 1
    for a in range(dim):
        n *= counts[a]
    stride = np.ones(dim, dtype=np.int64)
    for a in range(1, dim):
        stride[a] = stride[a - 1] * (counts[a - 1] + 1)
    cols = np.full((n, 2 * dim + 1), -1, dtype=np.int64)
    vals = np.zeros((n, 2 * dim + 1))
    index = np.zeros(dim, dtype=np.int64)
    coord = np.zeros(dim, dtype=np.int64)
    for p in range(n):
        rest = p
        face = 0
        for a in range(dim):
            index[a] = rest % counts[a]
            rest //= counts[a]
            face += index[a] * stride[a]
            coord[a] = starts[a] + index[a]
        cols[p, 0] = box_petsc_index(coord, bounds, procs, offsets)
        diag = diagonal[p]
        for a in range(dim):
            for side in range(2):
                w = faces[a, face + side * stride[a]]
                if w == 0.0:
                    continue
                own = coord[a]
                coord[a] = (own + 2 * side - 1) % cells[a] if periodic[a] else own + 2 * side - 1
                cols[p, 1 + 2 * a + side] = box_petsc_index(coord, bounds, procs, offsets)
                coord[a] = own
                vals[p, 1 + 2 * a + side] = -w
                diag += w
        vals[p, 0] = diag
    return cols, vals


def _fine_values(spatial, spacing, indices) -> np.ndarray:
    """``spatial`` at the centres of the fine cells ``indices`` (one index array per
    axis; the result has their outer product's shape)."""
    shape = tuple(len(ix) for ix in indices)
    if spatial.is_uniform:
        return np.full(shape, float(spatial.value))
    axes = [(np.asarray(ix) + 0.5) * spacing[a] for a, ix in enumerate(indices)]
    points = np.stack([m.ravel(order="F") for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    return evaluate(spatial, points).reshape(shape, order="F")


def _block_sums(values: np.ndarray, r: int, axes) -> np.ndarray:
    """Sums of ``values`` over blocks of ``r`` consecutive entries along ``axes``."""
    split = []
    for a, n in enumerate(values.shape):
        split += [r, n // r] if a in axes else [1, n]
    summed = values.reshape(split, order="F").sum(axis=tuple(2 * a for a in axes))
    return summed.reshape([n // r if a in axes else n for a, n in enumerate(values.shape)], order="F")


class LevelOperators:
    """One species' operator rediscretised on the coarse levels of its grid.

    The level coarsened ``k`` times (cells ``r = 2^k`` times as wide) gets the
    finite-volume operator of :mod:`.operator` scaled to the Galerkin product's
    size (``PᵀP`` has row sums ``r^dim``): each coarse face's coefficient is the sum
    of the fine face coefficients (harmonic means of D, 1/min) it covers divided by
    ``r``, a Dirichlet wall likewise, and the decay is summed over the cell's
    ``r^dim`` fine cells. For uniform coefficients this is exactly ``r^dim`` times
    the operator of the coarse grid; the system of a step is ``θ L_k + r^dim/Δt``.
    The coefficients come from the species' definitions at the fine cell centres
    each level needs, so no data travels between ranks. This replaces Galerkin's
    ``PᵀAP``, which took most of the set-up time.
    """

    def __init__(self, hierarchy: MultigridHierarchy, species):
        self.hierarchy = hierarchy
        self.species = species
        self._operators = []  # L_k, k = 1, 2, …
        self._systems = []
        self.theta, self.inverse_dt = 1.0, 0.0

    def _coefficients(self, k: int):
        """Face coefficients (per axis, on the box padded by one) and the walls' and
        decay's share of each row, on this rank's box of level ``k``."""
        grid, species = self.hierarchy.grid, self.species
        dim, r = grid.dim, 2**k
        layout = self.hierarchy.layout(k)
        starts, counts = layout.box(grid.comm.rank)
        cells = np.array(grid.domain.cells) // r
        fine_cells = np.array(grid.domain.cells)
        h = np.asarray(grid.spacing, dtype=float)
        factors = species.axis_factors or (1.0,) * dim
        fine = [np.arange(r * s, r * (s + n)) for s, n in zip(starts, counts)]
        diagonal = np.zeros(tuple(counts))
        faces = []
        for a in range(dim):
            positions = np.arange(starts[a], starts[a] + counts[a] + 1)  # coarse faces, global
            below, above = r * positions - 1, r * positions
            if grid.domain.periodic[a]:
                below, above = below % fine_cells[a], above % fine_cells[a]
            else:
                below, above = np.clip(below, 0, fine_cells[a] - 1), np.clip(above, 0, fine_cells[a] - 1)
            D_below = _fine_values(species.D, h, [below if b == a else fine[b] for b in range(dim)])
            D_above = _fine_values(species.D, h, [above if b == a else fine[b] for b in range(dim)])
            scale = factors[a] / h[a] ** 2
            total = D_below + D_above
            w = np.divide(2.0 * D_below * D_above, total, out=np.zeros_like(total), where=total > 0) * scale
            others = [b for b in range(dim) if b != a]
            w = _block_sums(w, r, others) / r
            if not grid.domain.periodic[a]:
                for side, plane, D_wall in ((0, 0, D_above), (1, counts[a], D_below)):
                    on_wall = positions[plane] == (0 if side == 0 else cells[a])
                    if not on_wall:
                        continue
                    cut = [slice(None)] * dim
                    cut[a] = slice(plane, plane + 1)
                    cut = tuple(cut)
                    w[cut] = 0.0
                    if species.boundary[a][side].kind == "dirichlet":
                        wall = _block_sums(2.0 * D_wall[cut] * scale, r, others) / r
                        cell = list(cut)
                        cell[a] = slice(0, 1) if side == 0 else slice(counts[a] - 1, counts[a])
                        diagonal[tuple(cell)] += wall
            padded = np.zeros(tuple(n + 1 for n in counts), order="F")
            padded[tuple(slice(0, n) if b != a else slice(0, n + 1) for b, n in enumerate(counts))] = w
            faces.append(padded.ravel(order="F"))
        if species.decay.is_uniform:
            diagonal += float(species.decay.value) * r**dim
        else:
            diagonal += _block_sums(_fine_values(species.decay, h, fine), r, range(dim))
        return layout, starts, counts, cells, np.stack(faces), diagonal.ravel(order="F")

    def operator(self, k: int):
        """``L_k``: the operator of the level coarsened ``k`` times (1/min, at the
        Galerkin product's scale)."""
        while len(self._operators) < k:
            level = len(self._operators) + 1
            layout, starts, counts, cells, faces, diagonal = self._coefficients(level)
            grid = self.hierarchy.grid
            cols, vals = _level_rows(np.array(starts, dtype=np.int64), np.array(counts, dtype=np.int64),
                                     cells.astype(np.int64), np.array(grid.domain.periodic, dtype=np.bool_),
                                     faces, diagonal, *box_arrays(layout))
            self._operators.append(aij_from_rows(get_petsc().Comm(grid.comm), cols, vals))
        return self._operators[k - 1]

    def systems(self, levels: int) -> list:
        """The step's matrices ``θ L_k + r^dim/Δt`` of levels ``k = 1 … levels``."""
        while len(self._systems) < levels:
            k = len(self._systems) + 1
            self._systems.append(self.operator(k).duplicate(copy=True))
            self._fill(k)
        return self._systems[:levels]

    def _fill(self, k: int) -> None:
        A = self._systems[k - 1]
        self.operator(k).copy(A)
        A.scale(self.theta)
        A.shift(self.inverse_dt * 2 ** (k * self.hierarchy.grid.dim))

    def set_system(self, theta: float, inverse_dt: float) -> None:
        """Make the level matrices those of ``θ L + I/Δt`` (in place)."""
        self.theta, self.inverse_dt = theta, inverse_dt
        for k in range(1, len(self._systems) + 1):
            self._fill(k)

    def destroy(self) -> None:
        for M in self._systems + self._operators:
            M.destroy()
        self._systems, self._operators = [], []
