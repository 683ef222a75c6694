"""The tissue grid: cells of a structured 1D/2D/3D mesh split across ranks.

Cell ``(i, j, k)`` spans ``[i·hx, (i+1)·hx) × …`` (µm); its centre is at
``(i + ½)·hx``. A PETSc DMDA (dof 1, star stencil of width 1) owns the
decomposition: each rank owns one box of cells, and the vectors it creates hold
one value per cell. Local arrays use axis 0 = x (Fortran order), which is the
memory order of PETSc's vectors, so they are views, not copies.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..config import Domain
from ..errors import InputError
from .layout import BoxLayout
from .petsc import get_petsc, local_array


@njit(cache=True)
def _owners(points, spacing, cells, cell_proc, strides, out):
    for i in range(points.shape[0]):
        rank = 0
        for a in range(points.shape[1]):
            k = np.int64(math.floor(points[i, a] / spacing[a]))
            k = min(max(k, 0), cells[a] - 1)
            rank += cell_proc[a, k] * strides[a]
        out[i] = rank


class Grid:
    """Cell-centred structured grid partitioned by a PETSc DMDA.

    Parameters
    ----------
    domain:
        Extent (µm), cells per axis and periodic axes.
    comm:
        mpi4py communicator of the ranks that share the grid (default
        ``COMM_WORLD``). It is duplicated, so hybridsim's messages never collide
        with the caller's.
    """

    def __init__(self, domain: Domain, comm=None):
        from mpi4py import MPI

        PETSc = get_petsc()
        self.domain = domain
        self.comm = (comm if comm is not None else MPI.COMM_WORLD).Dup()
        self.dim = domain.dim
        self.spacing = np.array(domain.spacing)
        self.cell_volume = float(np.prod(self.spacing))  # µm^dim
        bt = PETSc.DMDA.BoundaryType
        boundary = tuple(bt.PERIODIC if p else bt.NONE for p in domain.periodic)
        self._check_partition(domain, self.comm.size)
        self.da = PETSc.DMDA().create(
            dim=self.dim,
            dof=1,
            sizes=domain.cells,
            boundary_type=boundary,
            stencil_type=PETSc.DMDA.StencilType.STAR,
            stencil_width=1,
            comm=PETSc.Comm(self.comm),
        )
        ranges = self.da.getRanges()
        ghost = self.da.getGhostRanges()
        self.starts = tuple(int(r[0]) for r in ranges)
        self.counts = tuple(int(r[1] - r[0]) for r in ranges)
        self.ghost_starts = tuple(int(r[0]) for r in ghost)
        self.ghost_counts = tuple(int(r[1] - r[0]) for r in ghost)
        self.n_local = math.prod(self.counts)
        self.proc_sizes = tuple(int(p) for p in self.da.getProcSizes())
        self.layout = BoxLayout.from_ownership_ranges(self.da.getOwnershipRanges())
        self._box_da = None
        # process coordinate of every cell index, per axis, and rank strides (x fastest)
        self._cell_proc = np.zeros((self.dim, max(domain.cells)), dtype=np.int64)
        for a, bounds in enumerate(self.layout.bounds):
            for p in range(len(bounds) - 1):
                self._cell_proc[a, bounds[p]:bounds[p + 1]] = p
        self._proc_strides = np.cumprod((1,) + self.proc_sizes[:-1]).astype(np.int64)

    @staticmethod
    def _check_partition(domain: Domain, size: int) -> None:
        """PETSc needs at least one cell per rank along every axis; say so in
        config terms before PETSc says it in its own."""
        if domain.n_cells < size:
            raise InputError(
                f"domain.cells = {list(domain.cells)} has {domain.n_cells} cells, "
                f"fewer than the {size} MPI ranks: use more cells or fewer ranks"
            )

    # ------------------------------------------------------------ vectors
    @property
    def box_da(self):
        """A DMDA with the same decomposition and a *box* stencil of width 1, whose
        ghosted vectors also hold the diagonal neighbours (multilinear interpolation
        at agent positions needs them; the field operators only need the star)."""
        if self._box_da is None:
            PETSc = get_petsc()
            self._box_da = self.da.duplicate(stencil_type=PETSc.DMDA.StencilType.BOX)
        return self._box_da

    def vertex_da(self, dof: int):
        """A new DMDA on the cell corners (``cells + 1`` points per axis, ``dof`` values
        each, box stencil of width 1, coordinates in µm) whose ownership follows this
        grid's: a rank owns the lower corners of its cells, and the last rank along an
        axis also the far ones, so a rank's cells touch only its own and its ghost
        corners. The caller destroys it."""
        PETSc = get_petsc()
        ranges = [np.array(r, dtype=PETSc.IntType) for r in self.da.getOwnershipRanges()]
        for r in ranges:
            r[-1] += 1  # the last rank along an axis also owns the far vertices
        da = PETSc.DMDA().create(
            dim=self.dim, dof=dof, sizes=[n + 1 for n in self.domain.cells], proc_sizes=self.proc_sizes,
            ownership_ranges=ranges, stencil_type=PETSc.DMDA.StencilType.BOX, stencil_width=1,
            comm=self.da.getComm(),
        )
        bounds = []
        for L in self.domain.size:
            bounds += [0.0, L]
        da.setUniformCoordinates(*bounds)
        return da

    def global_vec(self):
        """A new vector with one value per owned cell, zeroed."""
        v = self.da.createGlobalVec()
        v.set(0.0)
        return v

    def local_vec(self):
        """A new ghosted local vector (owned cells plus one layer of ghosts)."""
        return self.da.createLocalVec()

    def view(self, vec, *, readonly: bool = False) -> np.ndarray:
        """Owned values of a global vector as an array of shape ``counts``."""
        return local_array(vec, self.counts, readonly=readonly)

    def ghost_view(self, lvec, *, readonly: bool = False) -> np.ndarray:
        """Values of a ghosted local vector as an array of shape ``ghost_counts``."""
        return local_array(lvec, self.ghost_counts, readonly=readonly)

    def to_ghosted(self, vec, lvec=None):
        """Copy a global vector into a ghosted local vector (halo exchange)."""
        PETSc = get_petsc()
        if lvec is None:
            lvec = self.local_vec()
        self.da.globalToLocal(vec, lvec, addv=PETSc.InsertMode.INSERT_VALUES)
        return lvec

    # ------------------------------------------------------------ geometry
    def axis_centers(self, axis: int, ghosted: bool = False) -> np.ndarray:
        """Centres (µm) of the owned (or ghosted) cells along ``axis``. Ghost
        cells across a periodic boundary get the coordinate of the cell they copy."""
        start = (self.ghost_starts if ghosted else self.starts)[axis]
        count = (self.ghost_counts if ghosted else self.counts)[axis]
        n = self.domain.cells[axis]
        index = np.arange(start, start + count) % n
        return (index + 0.5) * self.spacing[axis]

    def cell_centers(self, ghosted: bool = False) -> np.ndarray:
        """Centres of the owned (or ghosted) cells, shape ``(n, dim)`` in µm, in
        the memory order of the vectors (x fastest)."""
        axes = [self.axis_centers(a, ghosted) for a in range(self.dim)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel(order="F") for m in mesh], axis=1)

    def cell_index(self, points: np.ndarray) -> np.ndarray:
        """Index ``(dim, n)`` of the grid cell holding each point (``(n, dim)``, µm).

        Cell ``i`` holds ``i·h ≤ x < (i+1)·h``; points on the domain's upper face
        belong to the last cell. This rule defines which rank owns an agent."""
        points = np.asarray(points, dtype=float).reshape(-1, self.dim)
        index = np.floor(points / self.spacing).astype(np.int64)
        np.clip(index, 0, np.asarray(self.domain.cells) - 1, out=index)
        return index.T

    def owner_of(self, points: np.ndarray) -> np.ndarray:
        """Rank owning each point (``(n, dim)``, µm): the owner of its grid cell
        (same rule as :meth:`cell_index`, in one pass over the points)."""
        points = np.ascontiguousarray(points, dtype=float).reshape(-1, self.dim)
        out = np.empty(points.shape[0], dtype=np.int64)
        _owners(points, self.spacing, np.asarray(self.domain.cells, dtype=np.int64), self._cell_proc,
                self._proc_strides, out)
        return out

    def integrate(self, vec) -> float:
        """∫ c dV over the whole domain (concentration·µm^dim); collective."""
        return float(vec.sum()) * self.cell_volume

    def natural_slices(self) -> tuple[slice, ...]:
        """Where the owned box sits in an on-disk array of shape
        ``reversed(cells)`` (z, y, x — the order ParaView's XDMF reader expects)."""
        return tuple(slice(s, s + c) for s, c in zip(self.starts, self.counts))[::-1]

    def destroy(self) -> None:
        if self._box_da is not None:
            self._box_da.destroy()
        self.da.destroy()
        self.comm.Free()
