"""Sparse PETSc matrices from stencil rows, handed over in one call.

A stencil kernel writes, for each owned row, at most ``k`` (column, value)
pairs into ``(n, k)`` arrays, with column ``−1`` where a neighbour is absent
(a wall). :func:`stencil_csr` turns them into compressed sparse rows — columns
sorted, repeated columns summed — and :func:`aij_from_rows` gives PETSc the
arrays in one ``MatCreateAIJWithArrays`` call: no per-entry insertion, no
preallocation pass, no hash of the pattern (``DMCreateMatrix`` and
``MatSetValues`` took most of a field's assembly time).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .petsc import get_petsc


@njit(cache=True, inline="always")
def insert_entry(row_cols, row_vals, m, c, v):
    """Put column ``c`` with value ``v`` into the ``m`` sorted entries of a row
    (summed with an equal column); returns the new count."""
    q = m
    while q > 0 and row_cols[q - 1] > c:
        q -= 1
    if q > 0 and row_cols[q - 1] == c:
        row_vals[q - 1] += v
        return m
    for r in range(m, q, -1):
        row_cols[r] = row_cols[r - 1]
        row_vals[r] = row_vals[r - 1]
    row_cols[q] = c
    row_vals[q] = v
    return m + 1


@njit(cache=True)
def stencil_csr(cols, vals, index_type):
    """CSR arrays ``(indptr, indices, values)`` of the rows ``cols``/``vals``
    (shape ``(n, k)``; columns ``< 0`` are left out, repeated columns are summed),
    indices of dtype ``index_type``. The arrays returned are views of buffers
    sized for ``n·k`` entries (no copy of the matrix)."""
    n, k = cols.shape
    indptr = np.zeros(n + 1, dtype=index_type)
    indices = np.empty(n * k, dtype=index_type)
    values = np.empty(n * k)
    row_cols = np.empty(k, dtype=np.int64)
    row_vals = np.empty(k)
    nnz = 0
    for p in range(n):
        m = 0
        for j in range(k):
            if cols[p, j] >= 0:
                m = insert_entry(row_cols, row_vals, m, cols[p, j], vals[p, j])
        for j in range(m):
            indices[nnz + j] = row_cols[j]
            values[nnz + j] = row_vals[j]
        nnz += m
        indptr[p + 1] = nnz
    return indptr, indices[:nnz], values[:nnz]


@njit(cache=True)
def box_petsc_index(coord, bounds, procs, offsets):
    """PETSc global index of the cell at global coordinates ``coord`` on a grid split
    into boxes: ``bounds[a, q]`` is where rank row ``q`` of axis ``a`` starts
    (``procs[a]`` rows), ``offsets[r]`` the first index of rank ``r``'s box, and
    inside a box x runs fastest."""
    rank = 0
    stride = 1
    local = 0
    box_stride = 1
    for a in range(coord.shape[0]):
        q = 0
        while bounds[a, q + 1] <= coord[a]:
            q += 1
        rank += q * stride
        stride *= procs[a]
        local += (coord[a] - bounds[a, q]) * box_stride
        box_stride *= bounds[a, q + 1] - bounds[a, q]
    return offsets[rank] + local


def aij_from_rows(comm, cols: np.ndarray, vals: np.ndarray, n_columns_local: int | None = None):
    """A parallel AIJ matrix whose owned rows are ``cols``/``vals`` (global
    column indices, ``−1`` where absent; one row per owned row, in PETSc order).
    ``n_columns_local``: owned columns (default: square, as many as rows)."""
    PETSc = get_petsc()
    csr = stencil_csr(np.ascontiguousarray(cols, dtype=np.int64), np.ascontiguousarray(vals, dtype=float),
                      np.dtype(PETSc.IntType))
    return aij_from_csr(comm, csr, n_columns_local)


def aij_from_csr(comm, csr, n_columns_local: int | None = None):
    """A parallel AIJ matrix of the owned rows ``csr = (indptr, indices, values)``
    (global columns sorted in each row, indices of PETSc's integer type).
    ``n_columns_local``: owned columns (default: square, as many as rows). On one
    rank PETSc keeps the arrays themselves."""
    PETSc = get_petsc()
    n_rows = len(csr[0]) - 1
    n_cols = n_rows if n_columns_local is None else n_columns_local
    mpi = comm.tompi4py()
    n_rows_global, n_cols_global = (mpi.allreduce(n_rows), mpi.allreduce(n_cols))
    return PETSc.Mat().createAIJWithArrays(((n_rows, n_rows_global), (n_cols, n_cols_global)), csr, comm=comm)
