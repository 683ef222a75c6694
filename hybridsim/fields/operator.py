"""The spatial operator of one species on the grid: cell-centred finite volumes.

``L c = −∇·(D∇c) + k c`` with the flux through the face between two cells taken
with the harmonic mean of their diffusivities (exact for layered media: the series
resistance of the two half cells). A Dirichlet face value ``c_b`` drives the flux
``D (c_b − c)/(h/2)``; a Neumann face adds its inward flux ``q``
(concentration·µm/min) as the source ``q/h`` of the cell behind it. With closed
walls and no decay the columns of ``L`` sum to zero: the operator conserves mass.
Rows are built by a numba kernel and inserted in one call; ``L`` is assembled once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import Schedule, Source, Species
from ..geometry import evaluate
from ..parallel.grid import Grid
from ..parallel.petsc import create_matrix, get_petsc


@njit(cache=True)
def _operator_rows(counts, starts, ghost_starts, ghost_counts, cells, periodic, D_ghost, decay, h2, spacing,
                   factors, kinds, values):
    """Rows of ``L`` for the owned cells (x fastest): local row index, columns
    (own, then low/high neighbour per axis; −1 where a wall is), values, and the
    boundary data ``b``. ``D_ghost`` is D on the ghosted box (x fastest)."""
    dim = counts.shape[0]
    n = 1
    for a in range(dim):
        n *= counts[a]
    rows = np.empty(n, dtype=np.int64)
    cols = np.full((n, 2 * dim + 1), -1, dtype=np.int64)
    vals = np.zeros((n, 2 * dim + 1))
    rhs = np.zeros(n)
    gstride = np.ones(dim, dtype=np.int64)
    for a in range(1, dim):
        gstride[a] = gstride[a - 1] * ghost_counts[a - 1]
    index = np.zeros(dim, dtype=np.int64)
    for p in range(n):
        rest = p
        row = 0
        for a in range(dim):
            index[a] = rest % counts[a]
            rest //= counts[a]
            row += (starts[a] + index[a] - ghost_starts[a]) * gstride[a]
        rows[p] = row
        cols[p, 0] = row
        D_cell = D_ghost[row]
        diag = decay[p]
        for a in range(dim):
            for side in range(2):
                step = 2 * side - 1
                neighbour = starts[a] + index[a] + step
                if periodic[a] or (neighbour >= 0 and neighbour < cells[a]):
                    nb_row = row + step * gstride[a]
                    D_nb = D_ghost[nb_row]
                    coef = 2.0 * D_cell * D_nb / (D_cell + D_nb) / h2[a] * factors[a]
                    cols[p, 1 + 2 * a + side] = nb_row
                    vals[p, 1 + 2 * a + side] = -coef
                    diag += coef
                elif kinds[a, side] == 1:  # Dirichlet: flux D (c_b − c)/(h/2)
                    coef = 2.0 * D_cell / h2[a] * factors[a]
                    diag += coef
                    rhs[p] += coef * values[a, side]
                elif values[a, side] != 0.0:  # Neumann inward flux q: source q/h
                    rhs[p] += values[a, side] / spacing[a]
        vals[p, 0] = diag
    return rows, cols, vals, rhs


def source_rate(source: Source, t: float) -> float:
    """Production rate of ``source`` at time ``t`` (concentration/min): its number, or
    its schedule interpolated linearly (held constant outside its times)."""
    if isinstance(source.rate, Schedule):
        return float(np.interp(t, source.rate.times, source.rate.values))
    return float(source.rate)


def assemble_operator(grid: Grid, species: Species):
    """Assemble the spatial operator ``L`` and the boundary vector ``b``.

    ``L c`` is ``−∇·(D∇c) + k c`` with the Dirichlet faces' share on the diagonal;
    ``b`` holds the Dirichlet and Neumann data, so that the semi-discrete model
    is ``dc/dt = −L c + b + s``. Units: L in 1/min, b in concentration/min.

    Returns ``(L, b, faces)``: a PETSc matrix, a global vector and the face
    coefficients of ``L`` per axis (see :func:`_face_coefficients`), which the
    matrix-free solver (:mod:`.chebyshev`) reads.
    """
    PETSc = get_petsc()
    dim = grid.dim
    h2 = grid.spacing**2

    # diffusivity on owned and ghost cells (ghosts across rank boundaries)
    D_global = grid.global_vec()
    grid.view(D_global)[...] = evaluate(species.D, grid.cell_centers()).reshape(
        grid.counts, order="F"
    )
    D_ghost = grid.ghost_view(grid.to_ghosted(D_global), readonly=True).ravel(order="F")
    D_global.destroy()

    decay = evaluate(species.decay, grid.cell_centers())
    factors = species.axis_factors or (1.0,) * dim  # a diagonal tensor: D along axis a is D·factors[a]
    kinds = np.array([[1 if species.boundary[a][side].kind == "dirichlet" else 0 for side in (0, 1)]
                      for a in range(dim)], dtype=np.int64)
    values = np.array([[species.boundary[a][side].value for side in (0, 1)] for a in range(dim)])
    rows, cols, vals, rhs = _operator_rows(
        np.array(grid.counts, dtype=np.int64), np.array(grid.starts, dtype=np.int64),
        np.array(grid.ghost_starts, dtype=np.int64), np.array(grid.ghost_counts, dtype=np.int64),
        np.array(grid.domain.cells, dtype=np.int64), np.array(grid.domain.periodic, dtype=np.bool_),
        D_ghost, decay, h2, np.asarray(grid.spacing, dtype=float), np.asarray(factors, dtype=float), kinds, values)
    cols = cols.astype(PETSc.IntType)

    faces = _face_coefficients(grid, rows, cols, vals)
    L = create_matrix(grid.da)
    L.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)
    L.setValuesLocalRCV(rows[:, None].astype(PETSc.IntType), cols, vals, addv=PETSc.InsertMode.ADD_VALUES)
    L.assemble()
    b = grid.global_vec()
    grid.view(b)[...] = rhs.reshape(grid.counts, order="F")
    return L, b, faces


def _face_coefficients(grid: Grid, rows, cols, vals) -> list:
    """Per axis, the coefficient of ``L`` between each cell and its upper neighbour
    (1/min) on the owned box padded by one cell on every side (arrays of shape
    ``counts + 2``, Fortran order; 0 where no face is), or one float when every face
    this rank touches has the same (uniform D)."""
    counts = np.array(grid.counts)
    padded = tuple(counts + 2)
    owned = np.unravel_index(np.arange(grid.n_local), grid.counts, order="F")
    from mpi4py import MPI

    faces = []
    for a in range(grid.dim):
        present = [cols[:, 1 + 2 * a + side] >= 0 for side in (0, 1)]
        existing = np.concatenate([-vals[present[side], 1 + 2 * a + side] for side in (0, 1)])
        # one number only if every rank sees the same one (the same arithmetic everywhere,
        # so the solution does not depend on the rank count)
        low = float(existing.min()) if existing.size else np.inf
        high = float(existing.max()) if existing.size else -np.inf
        low, high = grid.comm.allreduce(low, op=MPI.MIN), grid.comm.allreduce(high, op=MPI.MAX)
        if low == high or low > high:
            faces.append(low if low == high else 0.0)
            continue
        w = np.zeros(padded, order="F")
        for side, shift in ((1, 1), (0, 0)):  # the upper face of cell i is at i + 1, the lower at i (padded)
            index = tuple(owned[b][present[side]] + (shift if b == a else 1) for b in range(grid.dim))
            w[index] = -vals[present[side], 1 + 2 * a + side]
        faces.append(w)
    return faces
