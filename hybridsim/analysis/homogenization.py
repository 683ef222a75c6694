"""Homogenization: the effective diffusion tensor of a periodic micro-structure.

A periodic cell Y carries local diffusivities D(y) (an array, e.g. from an
image). On scales much larger than Y, transport is diffusion with the constant
tensor

    D_eff,ij = ⟨ D (δ_ij + ∂_i χ_j) ⟩_Y,

where the corrector χ_j solves the periodic cell problem
``∇·(D (∇χ_j + e_j)) = 0`` (mean zero). It is discretised exactly like the
fields — cell-centred finite volumes, the harmonic mean of D across faces — on
a periodic DMDA, and solved with PETSc (CG + GAMG, the constants as null space;
options prefix ``-homog_``). Consequences that the tests check: layers in series
give the harmonic mean of the cell values and layers side by side the arithmetic
mean, exactly; a 2D checkerboard approaches √(D₁D₂) as it is refined.

Units: D in µm²/min (any unit: D_eff has the unit of D); the cell's size does
not matter, only its shape (the spacing per axis).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

PREFIX = "homog_"


@dataclass(frozen=True)
class EffectiveDiffusion:
    tensor: np.ndarray  # (dim, dim), unit of D
    iterations: tuple[int, ...]  # Krylov iterations per direction
    arithmetic: float  # bounds (Voigt) …
    harmonic: float  # … and (Reuss): harmonic ≤ eigenvalues of D_eff ≤ arithmetic

    def describe(self) -> list[str]:
        dim = len(self.tensor)
        scale = np.abs(self.tensor).max()
        shown = np.where(np.abs(self.tensor) <= 1e-9 * scale, 0.0, self.tensor)
        rows = ["  [" + ", ".join(f"{v:.6g}" for v in row) + "]" for row in shown]
        values, vectors = np.linalg.eigh(self.tensor)
        if values[-1] - values[0] <= 1e-9 * scale:
            principal = f"isotropic: D_eff = {values[0]:.6g} in every direction"
        else:
            principal = ("principal values " + ", ".join(f"{v:.6g}" for v in values) + " along "
                         + "; ".join("(" + ", ".join(f"{c:.3g}" for c in vectors[:, k]) + ")" for k in range(dim)))
        lines = ["effective diffusion tensor D_eff (unit of D):", *rows, principal,
                 f"bounds: harmonic mean {self.harmonic:.6g} ≤ D_eff ≤ arithmetic mean {self.arithmetic:.6g}"]
        off = np.abs(self.tensor - np.diag(np.diag(self.tensor))).max()
        if off <= 1e-9 * np.abs(self.tensor).max():
            lines.append("for a run config: D = { tensor = [" + ", ".join(f"{v:.6g}" for v in np.diag(self.tensor))
                         + "] }")
        else:
            lines.append("the tensor is not diagonal on the grid axes: a run config takes diagonal tensors only, "
                         "so align the grid with the principal directions above")
        return lines


def effective_diffusion(D: np.ndarray, spacing=None, *, comm=None, rtol: float = 1e-10) -> EffectiveDiffusion:
    """``D_eff`` of the periodic cell whose local diffusivities are ``D`` (shape
    ``(nx[, ny[, nz]])``, axis 0 = x; every rank passes the whole array, which is
    the size of one periodic cell). ``spacing``: cell sides per axis (default 1)."""
    from mpi4py import MPI

    from ..config import Domain
    from ..parallel.grid import Grid
    from ..parallel.krylov import check_converged, setup_krylov
    from ..parallel.petsc import create_matrix, get_petsc

    D = np.asarray(D, dtype=float)
    dim = D.ndim
    if not 1 <= dim <= 3:
        raise InputError(f"the micro-structure must be a 1D, 2D or 3D array (got {dim} dimensions)")
    if not np.all(np.isfinite(D)) or D.min() <= 0:
        raise InputError(f"every local diffusivity must be > 0 and finite (smallest: {np.nanmin(D):g})")
    h = np.ones(dim) if spacing is None else np.asarray(spacing, dtype=float)
    PETSc = get_petsc()
    comm = comm or MPI.COMM_WORLD
    domain = Domain(tuple(h * np.array(D.shape)), tuple(D.shape), (True,) * dim)
    grid = Grid(domain, comm)
    try:
        box = tuple(slice(s, s + c) for s, c in zip(grid.starts, grid.counts))
        Dg = grid.global_vec()
        grid.view(Dg)[...] = D[box]
        Dl = grid.ghost_view(grid.to_ghosted(Dg), readonly=True).ravel(order="F")
        idx = np.indices(grid.counts).reshape(dim, -1, order="F")
        local = idx + (np.array(grid.starts) - np.array(grid.ghost_starts))[:, None]
        gshape = grid.ghost_counts
        rows = np.ravel_multi_index(local, gshape, order="F")
        D_cell = Dl[rows]
        n = rows.size
        cols = np.empty((n, 2 * dim + 1), dtype=PETSc.IntType)
        vals = np.zeros((n, 2 * dim + 1))
        cols[:, 0] = rows
        face = []  # per axis: harmonic face D towards the +neighbour, per owned cell
        rhs = np.zeros((dim, n))  # per direction j
        for a in range(dim):
            for side, step in ((0, -1), (1, 1)):
                nb = local.copy()
                nb[a] += step
                nb_rows = np.ravel_multi_index(nb, gshape, order="F")
                Df = 2.0 * D_cell * Dl[nb_rows] / (D_cell + Dl[nb_rows])
                cols[:, 1 + 2 * a + side] = nb_rows
                vals[:, 1 + 2 * a + side] = -Df / h[a] ** 2
                vals[:, 0] += Df / h[a] ** 2
                # ∇·(D e_a) by faces: (D_f,+ − D_f,−)/h, the right-hand side of −∇·(D∇χ_a) = ∇·(D e_a)
                rhs[a] += (Df if side == 1 else -Df) / h[a]
                if side == 1:
                    face.append(Df)
        A = create_matrix(grid.da)
        A.setValuesLocalRCV(rows[:, None].astype(PETSc.IntType), cols, vals, addv=PETSc.InsertMode.ADD_VALUES)
        A.assemble()
        constants = PETSc.NullSpace().create(constant=True, comm=A.getComm())
        A.setNullSpace(constants)
        A.setNearNullSpace(constants)
        ksp = PETSc.KSP().create(comm=A.getComm())
        setup_krylov(ksp, A, prefix=PREFIX, defaults={"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": repr(rtol),
                                                      "ksp_norm_type": "unpreconditioned"})
        b, chi = grid.global_vec(), grid.global_vec()
        chi_ghost = grid.local_vec()
        tensor = np.zeros((dim, dim))
        iterations = []
        for j in range(dim):
            grid.view(b)[...] = rhs[j].reshape(grid.counts, order="F")
            constants.remove(b)
            chi.set(0.0)
            ksp.solve(b, chi)
            iterations.append(check_converged(ksp, f"the cell problem along {'xyz'[j]}",
                                              f"loosen the tolerance or choose another -{PREFIX}pc_type"))
            grid.to_ghosted(chi, chi_ghost)
            c = grid.ghost_view(chi_ghost, readonly=True).ravel(order="F")
            for i in range(dim):
                nb = local.copy()
                nb[i] += 1
                grad = (c[np.ravel_multi_index(nb, gshape, order="F")] - c[rows]) / h[i]
                tensor[i, j] = np.sum(face[i] * (grad + (1.0 if i == j else 0.0)))
        tensor = comm.allreduce(tensor) / D.size
        for obj in (A, constants, ksp, b, chi, chi_ghost, Dg):
            obj.destroy()
    finally:
        grid.destroy()
    return EffectiveDiffusion(0.5 * (tensor + tensor.T), tuple(iterations), float(D.mean()),
                              float(1.0 / np.mean(1.0 / D)))


def read_structure(path: str, phases: tuple[float, ...] | None = None, dataset: str = "D") -> np.ndarray:
    """Local diffusivities from a file: ``.npy``; ``.txt``/``.csv`` (2D: rows are y,
    columns x); ``.h5`` (dataset ``dataset``, axes (z, y, x) as written by hybridsim);
    ``.png`` (grey levels; ``phases`` maps dark/light to two D values, or gives one D
    per distinct grey level from dark to light). Returns an array with axis 0 = x."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"micro-structure file {str(p)!r} does not exist")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            D = np.load(p)
        elif suffix in (".txt", ".csv"):
            D = np.loadtxt(p, delimiter="," if suffix == ".csv" else None).T
        elif suffix in (".h5", ".hdf5"):
            from ..io.hdf5 import h5py_module

            with h5py_module().File(p, "r") as f:
                if dataset not in f:
                    raise InputError(f"{str(p)!r} has no dataset {dataset!r} (has: {', '.join(f)})")
                D = f[dataset][...].T
        elif suffix == ".png":
            import matplotlib.image

            grey = np.asarray(matplotlib.image.imread(p), dtype=float)
            if grey.ndim == 3:
                grey = grey[..., :3].mean(axis=2)
            grey = grey[::-1].T  # image rows run downwards; axis 0 = x
            levels = np.unique(np.round(grey, 6))
            if phases is None:
                raise InputError("an image needs --phases D1,D2[,…]: the diffusivity of each grey level, dark to light")
            if len(phases) == 2 and len(levels) > 2:
                D = np.where(grey < 0.5 * (levels[0] + levels[-1]), phases[0], phases[1])
            elif len(phases) == len(levels):
                D = np.asarray(phases)[np.searchsorted(levels, np.round(grey, 6))]
            else:
                raise InputError(f"the image has {len(levels)} grey levels: give 2 phases (threshold at mid-grey) "
                                 f"or {len(levels)} (one per level)")
        else:
            raise InputError(f"micro-structure file {str(p)!r}: use .npy, .txt, .csv, .h5 or .png")
    except (OSError, ValueError) as exc:
        raise InputError(f"micro-structure file {str(p)!r} cannot be read: {exc}") from None
    return np.asarray(D, dtype=float)
