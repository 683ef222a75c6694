"""The spatial operator of one species on the grid: cell-centred finite volumes.

``L c = −∇·(D∇c) + k c`` with the flux through the face between two cells taken
with the harmonic mean of their diffusivities (exact for layered media: the series
resistance of the two half cells). A Dirichlet face value ``c_b`` drives the flux
``D (c_b − c)/(h/2)``; a Neumann face adds its inward flux ``q``
(concentration·µm/min) as the source ``q/h`` of the cell behind it. With closed
walls and no decay the columns of ``L`` sum to zero: the operator conserves mass.
Rows are built by a numba kernel and handed to PETSc as one CSR array
(:mod:`..parallel.sparse`); ``L`` is assembled once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import Schedule, Source, Species
from ..geometry import evaluate_at_cells
from ..parallel.grid import Grid
from ..parallel.petsc import get_petsc
from ..parallel.sparse import aij_from_csr, insert_entry


@njit(cache=True)
def _operator_rows(counts, starts, ghost_starts, ghost_counts, cells, periodic, D_ghost, decay, h2, spacing,
                   factors, kinds, values, to_global, index_type, want_faces):
    """Rows of ``L`` for the owned cells (x fastest) as CSR arrays with global
    columns, the boundary data ``b``, and per axis the face coefficients on the
    owned box padded by one cell (``faces[a]``, x fastest: the face between padded
    cells ``q`` and ``q + e_a`` at ``q``; 0 where no face is). ``D_ghost`` is D on
    the ghosted box (x fastest), ``to_global`` the PETSc index of each ghosted cell."""
    dim = counts.shape[0]
    n = 1
    n_padded = 1
    for a in range(dim):
        n *= counts[a]
        n_padded *= counts[a] + 2
    width = 2 * dim + 1
    indptr = np.zeros(n + 1, dtype=index_type)
    indices = np.empty(n * width, dtype=index_type)
    entries = np.empty(n * width)
    faces = np.zeros((dim, n_padded if want_faces else 1))
    rhs = np.zeros(n)
    gstride = np.ones(dim, dtype=np.int64)
    pstride = np.ones(dim, dtype=np.int64)
    for a in range(1, dim):
        gstride[a] = gstride[a - 1] * ghost_counts[a - 1]
        pstride[a] = pstride[a - 1] * (counts[a - 1] + 2)
    index = np.zeros(dim, dtype=np.int64)
    row_cols = np.empty(width, dtype=np.int64)
    row_vals = np.empty(width)
    nnz = 0
    for p in range(n):
        rest = p
        row = 0
        padded = 0
        for a in range(dim):
            index[a] = rest % counts[a]
            rest //= counts[a]
            row += (starts[a] + index[a] - ghost_starts[a]) * gstride[a]
            padded += (index[a] + 1) * pstride[a]
        D_cell = D_ghost[row]
        diag = decay[p]
        m = 0
        for a in range(dim):
            for side in range(2):
                step = 2 * side - 1
                neighbour = starts[a] + index[a] + step
                if periodic[a] or (neighbour >= 0 and neighbour < cells[a]):
                    nb_row = row + step * gstride[a]
                    D_nb = D_ghost[nb_row]
                    coef = 2.0 * D_cell * D_nb / (D_cell + D_nb) / h2[a] * factors[a]
                    m = insert_entry(row_cols, row_vals, m, to_global[nb_row], -coef)
                    if want_faces:
                        faces[a, padded - pstride[a] * (1 - side)] = coef
                    diag += coef
                elif kinds[a, side] == 1:  # Dirichlet: flux D (c_b − c)/(h/2)
                    coef = 2.0 * D_cell / h2[a] * factors[a]
                    diag += coef
                    rhs[p] += coef * values[a, side]
                elif values[a, side] != 0.0:  # Neumann inward flux q: source q/h
                    rhs[p] += values[a, side] / spacing[a]
        m = insert_entry(row_cols, row_vals, m, to_global[row], diag)
        for j in range(m):
            indices[nnz + j] = row_cols[j]
            entries[nnz + j] = row_vals[j]
        nnz += m
        indptr[p + 1] = nnz
    return (indptr, indices[:nnz], entries[:nnz]), rhs, faces


def source_rate(source: Source, t: float) -> float:
    """Production rate of ``source`` at time ``t`` (concentration/min): its number, or
    its schedule interpolated linearly (held constant outside its times)."""
    if isinstance(source.rate, Schedule):
        return float(np.interp(t, source.rate.times, source.rate.values))
    return float(source.rate)


def assemble_operator(grid: Grid, species: Species, faces: bool = True):
    """Assemble the spatial operator ``L`` and the boundary vector ``b``.

    ``L c`` is ``−∇·(D∇c) + k c`` with the Dirichlet faces' share on the diagonal;
    ``b`` holds the Dirichlet and Neumann data, so that the semi-discrete model
    is ``dc/dt = −L c + b + s``. Units: L in 1/min, b in concentration/min.

    Returns ``(L, b, faces)``: a PETSc matrix, a global vector and the face
    coefficients of ``L`` per axis (see :func:`_face_coefficients`), which the
    matrix-free solver (:mod:`.chebyshev`) reads (None unless ``faces``).
    """
    dim = grid.dim
    h2 = grid.spacing**2

    # diffusivity on owned and ghost cells (ghosts across rank boundaries)
    D_global = grid.global_vec()
    D = evaluate_at_cells(species.D, grid.n_local, grid.cell_centers)
    grid.view(D_global)[...] = D.reshape(grid.counts, order="F")
    D_ghost = grid.ghost_view(grid.to_ghosted(D_global), readonly=True).ravel(order="F")
    D_global.destroy()

    decay = evaluate_at_cells(species.decay, grid.n_local, grid.cell_centers)
    factors = species.axis_factors or (1.0,) * dim  # a diagonal tensor: D along axis a is D·factors[a]
    kinds = np.array([[1 if species.boundary[a][side].kind == "dirichlet" else 0 for side in (0, 1)]
                      for a in range(dim)], dtype=np.int64)
    values = np.array([[species.boundary[a][side].value for side in (0, 1)] for a in range(dim)])
    lgmap = grid.da.getLGMap()
    csr, rhs, face_values = _operator_rows(
        np.array(grid.counts, dtype=np.int64), np.array(grid.starts, dtype=np.int64),
        np.array(grid.ghost_starts, dtype=np.int64), np.array(grid.ghost_counts, dtype=np.int64),
        np.array(grid.domain.cells, dtype=np.int64), np.array(grid.domain.periodic, dtype=np.bool_),
        D_ghost, decay, h2, np.asarray(grid.spacing, dtype=float), np.asarray(factors, dtype=float), kinds, values,
        np.asarray(lgmap.getIndices(), dtype=np.int64), np.dtype(get_petsc().IntType), faces)
    L = aij_from_csr(grid.da.getComm(), csr)
    L.setLGMap(lgmap, lgmap)
    coefficients = _face_coefficients(grid, face_values) if faces else None
    b = grid.global_vec()
    grid.view(b)[...] = rhs.reshape(grid.counts, order="F")
    return L, b, coefficients


def _face_coefficients(grid: Grid, faces: np.ndarray) -> list:
    """Per axis, the coefficient of ``L`` between each cell and its upper neighbour
    (1/min) on the owned box padded by one cell on every side (arrays of shape
    ``counts + 2``, Fortran order; 0 where no face is), or one float when every face
    of the whole grid has the same (uniform D); ``faces`` is what
    :func:`_operator_rows` wrote."""
    from mpi4py import MPI

    shape = tuple(np.array(grid.counts) + 2)
    out = []
    for a in range(grid.dim):
        present = faces[a][faces[a] > 0.0]
        # one number only if every rank sees the same one (the same arithmetic everywhere,
        # so the solution does not depend on the rank count)
        low = float(present.min()) if present.size else np.inf
        high = float(present.max()) if present.size else -np.inf
        low, high = grid.comm.allreduce(low, op=MPI.MIN), grid.comm.allreduce(high, op=MPI.MAX)
        if low == high or low > high:
            out.append(low if low == high else 0.0)
        else:
            out.append(faces[a].reshape(shape, order="F"))
    return out
