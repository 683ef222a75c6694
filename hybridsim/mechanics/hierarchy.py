"""Geometric multigrid levels of the elasticity operator, rediscretised.

Each coarser level halves the vertex DMDA (``DMCoarsen``; PETSc's Q1
interpolation between levels) and assembles its own stiffness matrix with the
row-by-row kernel of :mod:`.assembly`, on elements twice as large, with λ and μ
of each coarse element the mean of those of the fine cells it covers (computed
from the config's spatial definitions at the fine cell centres, so no data
travels between ranks). Clamped and roller faces hold the same components on
every level, and the interpolation neither reads nor writes them (the correction
vanishes there, as the error does). This replaces Galerkin's triple product ``PᵀAP``, which took most of
the set-up time (65M nonzeros on 3D 64³).
"""

from __future__ import annotations

import numpy as np

from ..config.mechanics import Mechanics
from ..geometry import evaluate
from ..parallel.grid import Grid
from ..parallel.krylov import largest_jacobi_eigenvalue, set_chebyshev_eigenvalues
from .assembly import assemble_rows, fixed_rows
from .element import reference_element


def lame(E: np.ndarray, nu: np.ndarray, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Lamé parameters (λ, μ) (Pa) for the model: a 1D strip has σ = E ε (λ = 0,
    μ = E/2); plane stress uses λ* = 2λμ/(λ + 2μ)."""
    if model == "strip":
        return np.zeros_like(E), E / 2.0
    lam = E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
    mu = E / (2.0 * (1.0 + nu))
    if model == "plane_stress":
        lam = 2.0 * lam * mu / (lam + 2.0 * mu)
    return lam, mu


class ElasticityHierarchy:
    """The levels below the fine one: DMDAs, interpolations and operators, built on
    first use.

    Parameters
    ----------
    grid:
        The cell grid (spacing and cells of the fine elements).
    da, A:
        The fine vertex DMDA and its stiffness matrix (boundary rows eliminated).
    mechanics:
        Materials, model, integration and faces.
    """

    def __init__(self, grid: Grid, da, A, mechanics: Mechanics):
        self.grid = grid
        self.mechanics = mechanics
        self.das = [da]
        self.operators = [A]
        self.interpolations = []  # interpolations[i]: from das[i + 1] to das[i]

    def _coarsen(self) -> None:
        level = len(self.das)
        coarse = self.das[-1].coarsen()
        P, scale = coarse.createInterpolation(self.das[-1])
        if scale is not None:
            scale.destroy()
        P.convert("aij")  # in place: the DMDA's interpolation acts on each component (MAIJ); scaled below
        cells = tuple(int(c) >> level for c in self.grid.domain.cells)
        starts = [max(int(r[0]) - 1, 0) for r in coarse.getRanges()]
        ends = [min(int(r[1]), c) for r, c in zip(coarse.getRanges(), cells)]
        counts = [e - s for s, e in zip(starts, ends)]
        lam, mu = self._moduli(starts, counts, level)
        element = reference_element(np.asarray(self.grid.spacing) * 2**level)
        K_lambda = element.K_lambda_reduced if self.mechanics.integration == "selective" else element.K_lambda
        A = assemble_rows(coarse, cells, (starts, counts), lam, mu, K_lambda, element.K_mu)
        held = fixed_rows(coarse, cells, self.mechanics.boundary)
        A.zeroRowsColumns(held, 1.0)
        # the correction must vanish where the faces hold the displacement: no
        # interpolation from or into those components
        fine_cells = tuple(int(c) >> (level - 1) for c in self.grid.domain.cells)
        masks = []
        for da, rows in ((self.das[-1], fixed_rows(self.das[-1], fine_cells, self.mechanics.boundary)),
                         (coarse, held)):
            mask = da.createGlobalVec()
            mask.set(1.0)
            mask.setValues(rows, np.zeros(len(rows)))
            mask.assemble()
            masks.append(mask)
        P.diagonalScale(masks[0], masks[1])
        for mask in masks:
            mask.destroy()
        self.das.append(coarse)
        self.interpolations.append(P)
        self.operators.append(A)

    def _moduli(self, starts, counts, level: int):
        """λ and μ of the coarse cells ``[starts, starts + counts)`` (x fastest): the
        means over the 2^(level·dim) fine cells each covers."""
        r = 2**level
        h = np.asarray(self.grid.spacing)
        axes = [(np.arange(r * s, r * (s + n)) + 0.5) * h[a] for a, (s, n) in enumerate(zip(starts, counts))]
        points = np.stack([m.ravel(order="F") for m in np.meshgrid(*axes, indexing="ij")], axis=1)
        m = self.mechanics
        lam, mu = lame(evaluate(m.E, points), evaluate(m.nu, points), m.model)
        shape = [k for n in counts for k in (r, n)]
        blocks = tuple(range(0, 2 * len(counts), 2))
        return tuple(v.reshape(shape, order="F").mean(axis=blocks).ravel(order="F") for v in (lam, mu))

    def attach(self, pc, fine_bounds: bool = True) -> None:
        """Give a PCMG ``pc`` (levels set, Galerkin off) its interpolations and the
        operators of its levels. With ``fine_bounds``, the finest smoother's Chebyshev
        interval comes from the level below it instead of PETSc's estimate on the fine
        operator (10 GMRES iterations on the largest matrix, most of the
        preconditioner's set-up): ``diag(A)⁻¹A`` of a rediscretised level has the
        same largest eigenvalue as the finer one up to the boundary and the averaged
        moduli (the elements differ only in size, to which it is blind), so 12
        Lanczos steps on the level below, times PETSc's own factors ``[0.1, 1.1]``,
        give the interval PETSc would have estimated."""
        levels = pc.getMGLevels()
        while len(self.das) < levels:
            self._coarsen()
        for k in range(1, levels):
            pc.setMGInterpolation(k, self.interpolations[levels - 1 - k])
            pc.getMGSmoother(k).setOperators(self.operators[levels - 1 - k])
        pc.getMGCoarseSolve().setOperators(self.operators[levels - 1])
        if fine_bounds and levels > 2:
            largest = largest_jacobi_eigenvalue(self.operators[1])
            set_chebyshev_eigenvalues(pc.getMGSmoother(levels - 1), 0.1 * largest, 1.1 * largest)

    def destroy(self) -> None:
        for obj in self.interpolations + self.operators[1:] + self.das[1:]:
            obj.destroy()
        self.interpolations, self.operators, self.das = [], self.operators[:1], self.das[:1]
