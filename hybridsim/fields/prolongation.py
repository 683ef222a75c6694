"""The prolongation between two levels of the cell-centred grid hierarchy.

A fine cell takes, per axis, ¾ of its parent and ¼ of the parent's neighbour on its
side (the parent alone next to a wall; across a periodic boundary the neighbour
wraps); in 2D and 3D the weights are the products over the axes. The restriction
is its transpose.

Two forms: :class:`MatrixFreeProlongation`, a PETSc shell matrix whose products
are numba passes over the fine box reading the coarse level through a DMDA with
one ghost layer (what multigrid uses: no matrix to build, a few bytes per fine
cell and application), and :func:`assembled_prolongation`, the same operator as
an AIJ matrix with ``2^dim`` entries per fine row (what Galerkin's ``PᵀAP``
needs).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..parallel.layout import BoxLayout
from ..parallel.petsc import get_petsc
from ..parallel.sparse import aij_from_csr, insert_entry


@njit(cache=True)
def _axis_weights(start, count, n_coarse, ghost_start, periodic):
    """For the fine cells ``start … start + count − 1`` of one axis: the index of
    their two coarse contributors less ``ghost_start`` (not wrapped across a periodic
    boundary) and the weights (0 for the second next to a wall)."""
    index = np.zeros((count, 2), dtype=np.int64)
    weight = np.zeros((count, 2))
    for i in range(count):
        fine = start + i
        parent = fine // 2
        other = parent - 1 if fine % 2 == 0 else parent + 1
        w_parent, w_other = 0.75, 0.25
        if not periodic and (other < 0 or other >= n_coarse):
            other, w_parent, w_other = parent, 1.0, 0.0
        index[i, 0], index[i, 1] = parent - ghost_start, other - ghost_start
        weight[i, 0], weight[i, 1] = w_parent, w_other
    return index, weight


@njit(cache=True)
def _interpolate(counts, ghost_counts, index, weight, coarse, fine, add):
    """``fine (+)= P coarse``: ``coarse`` on the ghosted coarse box, ``fine`` on the
    owned fine box (both x fastest; three axes, a missing one of size 1)."""
    sy = ghost_counts[0]
    sz = ghost_counts[0] * ghost_counts[1]
    p = 0
    for k in range(counts[2]):
        z0, z1 = index[2, k, 0] * sz, index[2, k, 1] * sz
        for j in range(counts[1]):
            y0, y1 = index[1, j, 0] * sy, index[1, j, 1] * sy
            b00, b01, b10, b11 = z0 + y0, z0 + y1, z1 + y0, z1 + y1
            w00 = weight[2, k, 0] * weight[1, j, 0]
            w01 = weight[2, k, 0] * weight[1, j, 1]
            w10 = weight[2, k, 1] * weight[1, j, 0]
            w11 = weight[2, k, 1] * weight[1, j, 1]
            for i in range(counts[0]):
                x0, x1 = index[0, i, 0], index[0, i, 1]
                value = (weight[0, i, 0] * (w00 * coarse[b00 + x0] + w01 * coarse[b01 + x0]
                                            + w10 * coarse[b10 + x0] + w11 * coarse[b11 + x0])
                         + weight[0, i, 1] * (w00 * coarse[b00 + x1] + w01 * coarse[b01 + x1]
                                              + w10 * coarse[b10 + x1] + w11 * coarse[b11 + x1]))
                fine[p] = fine[p] + value if add else value
                p += 1


@njit(cache=True)
def _restrict(counts, ghost_counts, index, weight, fine, coarse):
    """``coarse += Pᵀ fine`` on the ghosted coarse box (zeroed by the caller)."""
    sy = ghost_counts[0]
    sz = ghost_counts[0] * ghost_counts[1]
    p = 0
    for k in range(counts[2]):
        z0, z1 = index[2, k, 0] * sz, index[2, k, 1] * sz
        for j in range(counts[1]):
            y0, y1 = index[1, j, 0] * sy, index[1, j, 1] * sy
            b00, b01, b10, b11 = z0 + y0, z0 + y1, z1 + y0, z1 + y1
            w00 = weight[2, k, 0] * weight[1, j, 0]
            w01 = weight[2, k, 0] * weight[1, j, 1]
            w10 = weight[2, k, 1] * weight[1, j, 0]
            w11 = weight[2, k, 1] * weight[1, j, 1]
            for i in range(counts[0]):
                x0, x1 = index[0, i, 0], index[0, i, 1]
                v0, v1 = weight[0, i, 0] * fine[p], weight[0, i, 1] * fine[p]
                coarse[b00 + x0] += w00 * v0
                coarse[b01 + x0] += w01 * v0
                coarse[b10 + x0] += w10 * v0
                coarse[b11 + x0] += w11 * v0
                coarse[b00 + x1] += w00 * v1
                coarse[b01 + x1] += w01 * v1
                coarse[b10 + x1] += w10 * v1
                coarse[b11 + x1] += w11 * v1
                p += 1


class MatrixFreeProlongation:
    """The prolongation as a PETSc shell matrix (the context of a ``MATPYTHON``).

    Parameters
    ----------
    fine:
        The fine level's layout; this rank's fine box is ``fine.box(rank)``.
    coarse_da:
        A DMDA of the coarse level with this rank's coarse box (box stencil, one ghost
        layer, periodic where the domain is).
    periodic:
        Periodic axes.
    """

    def __init__(self, fine: BoxLayout, coarse_da, periodic, rank: int):
        starts, counts = fine.box(rank)
        self.da = coarse_da
        ghost = coarse_da.getGhostRanges()
        sizes = coarse_da.getSizes()
        # three axes always: a missing one has one cell taking all of its one parent
        self.counts = np.ones(3, dtype=np.int64)
        self.ghost_counts = np.ones(3, dtype=np.int64)
        width = max(int(n) for n in counts)
        self.index = np.zeros((3, width, 2), dtype=np.int64)
        self.weight = np.zeros((3, width, 2))
        self.weight[:, 0, 0] = 1.0
        for a, (s, n) in enumerate(zip(starts, counts)):
            index, weight = _axis_weights(s, n, int(sizes[a]), int(ghost[a][0]), bool(periodic[a]))
            self.counts[a], self.ghost_counts[a] = n, ghost[a][1] - ghost[a][0]
            self.index[a, :n], self.weight[a, :n] = index, weight
        self.local = coarse_da.createLocalVec()

    def _product(self, x, y, add: bool) -> None:
        PETSc = get_petsc()
        self.da.globalToLocal(x, self.local, addv=PETSc.InsertMode.INSERT_VALUES)
        _interpolate(self.counts, self.ghost_counts, self.index, self.weight, self.local.getArray(readonly=True),
                     y.getArray(), add)

    def _transpose(self, x, y, add: bool) -> None:
        PETSc = get_petsc()
        self.local.set(0.0)
        _restrict(self.counts, self.ghost_counts, self.index, self.weight, x.getArray(readonly=True),
                  self.local.getArray())
        if not add:
            y.set(0.0)
        self.da.localToGlobal(self.local, y, addv=PETSc.InsertMode.ADD_VALUES)

    # the MATPYTHON interface
    def mult(self, mat, x, y):
        self._product(x, y, False)

    def multAdd(self, mat, x, y, z):  # noqa: N802 (petsc4py's names)
        if z.handle != y.handle:
            y.copy(z)
        self._product(x, z, True)

    def multTranspose(self, mat, x, y):  # noqa: N802
        self._transpose(x, y, False)

    def multTransposeAdd(self, mat, x, y, z):  # noqa: N802
        if z.handle != y.handle:
            y.copy(z)
        self._transpose(x, z, True)

    def destroy(self, mat=None):
        if self.local is not None:
            self.local.destroy()
            self.local = None


def matrix_free_prolongation(fine: BoxLayout, coarse: BoxLayout, periodic, rank: int, comm):
    """The prolongation from ``coarse`` to ``fine`` as a shell matrix, and the
    coarse DMDA it reads through (the caller destroys both)."""
    PETSc = get_petsc()
    bt = PETSc.DMDA.BoundaryType
    widths = [tuple(int(b[q + 1] - b[q]) for q in range(len(b) - 1)) for b in coarse.bounds]
    da = PETSc.DMDA().create(dim=coarse.dim, dof=1, sizes=[int(b[-1]) for b in coarse.bounds],
                             proc_sizes=coarse.proc_sizes, ownership_ranges=widths,
                             boundary_type=tuple(bt.PERIODIC if p else bt.NONE for p in periodic),
                             stencil_type=PETSc.DMDA.StencilType.BOX, stencil_width=1, comm=comm)
    context = MatrixFreeProlongation(fine, da, periodic, rank)
    n_fine, n_coarse = fine.n_owned(rank), coarse.n_owned(rank)
    P = PETSc.Mat().createPython(((n_fine, int(fine.box_offsets[-1])), (n_coarse, int(coarse.box_offsets[-1]))),
                                 context=context, comm=comm)
    P.setUp()
    return P, da


@njit(cache=True)
def _prolongation_csr(starts, counts, coarse_bounds, coarse_procs, coarse_offsets, periodic, index_type):
    """The rows of the prolongation as CSR arrays: for each owned fine cell (x
    fastest) the PETSc indices of its 2^dim coarse contributors, sorted, and their
    weights (per axis ¾ parent, ¼ the parent's neighbour on its side; the parent
    alone at a wall; wrapped across a periodic boundary)."""
    dim = starts.shape[0]
    n = 1
    width = 0
    for a in range(dim):
        n *= counts[a]
        width = max(width, counts[a])
    # per axis and owned fine coordinate: the two coarse cells, their weights, and for
    # each the rank row owning it and its place in that row's box
    cell_row = np.zeros((dim, width, 2), dtype=np.int64)
    cell_local = np.zeros((dim, width, 2), dtype=np.int64)
    cell_weight = np.zeros((dim, width, 2))
    for a in range(dim):
        n_c = coarse_bounds[a, coarse_procs[a]]
        pairs, weights = _axis_weights(starts[a], counts[a], n_c, 0, periodic[a])
        for i in range(counts[a]):
            parent, other = pairs[i, 0], pairs[i, 1] % n_c  # across a periodic boundary it wraps
            w_parent, w_other = weights[i, 0], weights[i, 1]
            if other < parent:  # the lower coordinate first: the row's columns come out nearly sorted
                parent, other, w_parent, w_other = other, parent, w_other, w_parent
            for choice, cell, w in ((0, parent, w_parent), (1, other, w_other)):
                q = 0
                while coarse_bounds[a, q + 1] <= cell:
                    q += 1
                cell_row[a, i, choice] = q
                cell_local[a, i, choice] = cell - coarse_bounds[a, q]
                cell_weight[a, i, choice] = w
    corners = 1 << dim
    indptr = np.zeros(n + 1, dtype=index_type)
    indices = np.empty(n * corners, dtype=index_type)
    values = np.empty(n * corners)
    row_cols = np.empty(corners, dtype=np.int64)
    row_vals = np.empty(corners)
    index = np.zeros(dim, dtype=np.int64)
    nnz = 0
    for p in range(n):
        rest = p
        for a in range(dim):
            index[a] = rest % counts[a]
            rest //= counts[a]
        m = 0
        for k in range(corners):
            weight = 1.0
            rank = 0
            stride = 1
            local = 0
            box_stride = 1
            for a in range(dim):
                bit = (k >> a) & 1
                q = cell_row[a, index[a], bit]
                weight *= cell_weight[a, index[a], bit]
                rank += q * stride
                stride *= coarse_procs[a]
                local += cell_local[a, index[a], bit] * box_stride
                box_stride *= coarse_bounds[a, q + 1] - coarse_bounds[a, q]
            m = insert_entry(row_cols, row_vals, m, coarse_offsets[rank] + local, weight)
        for j in range(m):
            indices[nnz + j] = row_cols[j]
            values[nnz + j] = row_vals[j]
        nnz += m
        indptr[p + 1] = nnz
    return indptr, indices[:nnz], values[:nnz]


def box_arrays(layout: BoxLayout):
    """``(bounds, procs, offsets)`` of ``layout`` as the int64 arrays
    :func:`~..parallel.sparse.box_petsc_index` reads."""
    bounds = np.zeros((layout.dim, max(len(b) for b in layout.bounds)), dtype=np.int64)
    for a, b in enumerate(layout.bounds):
        bounds[a, :len(b)] = b
    return bounds, np.array(layout.proc_sizes, dtype=np.int64), np.asarray(layout.box_offsets, dtype=np.int64)


def assembled_prolongation(fine: BoxLayout, coarse: BoxLayout, periodic, rank: int, comm):
    """The prolongation from ``coarse`` to ``fine`` as an AIJ matrix (what Galerkin's
    ``PᵀAP`` needs)."""
    starts, counts = fine.box(rank)
    csr = _prolongation_csr(np.array(starts, dtype=np.int64), np.array(counts, dtype=np.int64),
                            *box_arrays(coarse), np.array(periodic, dtype=np.bool_), np.dtype(get_petsc().IntType))
    return aij_from_csr(comm, csr, n_columns_local=coarse.n_owned(rank))
