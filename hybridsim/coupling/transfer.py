"""Field ↔ agent transfer on the DMDA: sampling at agent positions and deposition
of agents' amounts, with the same multilinear stencil (see :mod:`.interpolation`).

Deposited amounts are molecules; they become concentration increments
``molecules / V_cell`` (V_cell in µm³, or µm²/µm in 2D/1D: the grid's cell
volume). Contributions that land in ghost cells are added to the rank that owns
the cell (``localToGlobal`` with ``ADD_VALUES``), so the total deposited equals
the total given, to round-off, on any number of ranks.
"""

from __future__ import annotations

import numpy as np

from ..parallel.grid import Grid
from ..parallel.petsc import get_petsc
from .interpolation import build_stencil, gather, gather_gradient, scatter


class AgentStencil:
    """The interpolation stencil of a set of owned positions (µm, ``(n, dim)``)."""

    def __init__(self, grid: Grid, points: np.ndarray):
        self.grid = grid
        points = np.ascontiguousarray(points, dtype=float).reshape(-1, grid.dim)
        self.n = points.shape[0]
        self.index, self.weight, self.dweight = build_stencil(
            points, grid.spacing, np.asarray(grid.domain.cells, dtype=np.int64),
            np.asarray(grid.domain.periodic), np.asarray(grid.ghost_starts, dtype=np.int64),
            np.asarray(grid.ghost_counts, dtype=np.int64))


class FieldTransfer:
    """Sampling and deposition on one grid; holds work vectors (collective to create)."""

    def __init__(self, grid: Grid):
        self.grid = grid
        # the box-stencil twin of the grid's DMDA fills diagonal ghosts too
        self._local = grid.box_da.createLocalVec()
        self._deposit_local = grid.box_da.createLocalVec()

    def _ghosted(self, vec) -> np.ndarray:
        PETSc = get_petsc()
        self.grid.box_da.globalToLocal(vec, self._local, addv=PETSc.InsertMode.INSERT_VALUES)
        return self._local.getArray(readonly=True)

    def sample(self, vec, stencil: AgentStencil, gradient: bool = False):
        """Values of the global vector ``vec`` at the stencil's points, and with
        ``gradient`` also their gradients ``(n, dim)`` (per µm). Collective."""
        values = self._ghosted(vec)
        v = gather(values, stencil.index, stencil.weight)
        if not gradient:
            return v
        return v, gather_gradient(values, stencil.index, stencil.dweight)

    def deposit(self, target, stencil: AgentStencil, amounts: np.ndarray, scale: float = 1.0) -> None:
        """``target += Σ_agents w · amounts · scale / V_cell`` (collective); ``amounts``
        per agent (molecules, or molecules/min with ``scale`` = a time)."""
        PETSc = get_petsc()
        self._deposit_local.set(0.0)
        local = self._deposit_local.getArray()
        scatter(local, stencil.index, stencil.weight, np.ascontiguousarray(amounts, dtype=float),
                scale / self.grid.cell_volume)
        del local
        self.grid.box_da.localToGlobal(self._deposit_local, target, addv=PETSc.InsertMode.ADD_VALUES)

    def destroy(self) -> None:
        self._local.destroy()
        self._deposit_local.destroy()
