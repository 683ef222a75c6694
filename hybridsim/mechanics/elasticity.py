"""Mechanical equilibrium of the tissue: Q1 finite elements on the field grid.

    ∇·(σ_el(u) + σ_act) + f = 0,   σ_el = λ tr(ε) I + 2μ ε,   ε = ½(∇u + ∇uᵀ)

Why Q1 elements on the grid's cells: every grid cell of the fields is one
element, so the active stress ``α c`` (c is cell-centred) is constant on each
element and its load is exact; materials given per cell map one-to-one; and the
displacement lives on the cell corners, a DMDA with ``cells + 1`` points and
``dof = dim`` whose ownership follows the field grid's (a rank's elements only
touch its own and its ghost vertices, so assembly and loads need no extra
communication). Linear elements are second-order accurate in the displacement
and do not lock in bending-free problems like these; as ν → ½ full
integration locks, and ``mechanics.integration = "selective"`` (the volumetric
part at one point per element, :class:`~.element.ReferenceElement`) does not.

Boundary conditions: clamped (u = 0) and roller (u·n = 0) rows and columns are
removed symmetrically (``zeroRowsColumns``), so the operator stays SPD for CG;
traction and free faces are natural. The operator is assembled once (it does
not depend on the field). CG is preconditioned by geometric multigrid on the
vertex DMDA (its Q1 interpolation, Galerkin coarse operators, Chebyshev/Jacobi
smoothing) when the grid halves at least twice, else by smoothed-aggregation
AMG (GAMG) given the rigid-body modes. PETSc options use the prefix ``mech_``.

Units: µm for lengths and displacements; E, stresses and tractions in one
pressure unit (Pa); α in Pa per concentration unit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..config.mechanics import Mechanics
from ..config.space import Domain
from ..errors import InputError
from ..geometry import evaluate
from ..parallel.grid import Grid
from ..parallel.krylov import check_converged, setup_krylov
from ..parallel.layout import MIN_COARSE_CELLS, multigrid_levels
from ..parallel.petsc import get_petsc, local_array, use_dm_geometry_only
from .assembly import fixed_rows, stiffness_matrix
from .element import face_load_weights, node_offsets, reference_element
from .hierarchy import ElasticityHierarchy, lame

PREFIX = "mech_"


def _span(values) -> str:
    lo, hi = float(np.min(values)), float(np.max(values))
    return f"{lo:.4g}" if lo == hi else f"{lo:.4g}–{hi:.4g}"


def describe_mechanics(m: Mechanics, d: Domain, ranks: int) -> list[str]:
    """What ``hybridsim check`` says of the mechanics: Lamé parameters, faces, the free
    contraction the active stress causes, unknowns and memory on ``ranks`` ranks."""
    E = np.array(m.E.all_values())
    nu = np.array(m.nu.all_values()) if d.dim > 1 else np.zeros(1)
    E_grid, nu_grid = np.meshgrid(E, nu)
    lam, mu = lame(E_grid, nu_grid, m.model)
    # isotropic free contraction per unit concentration: ε = −α c / (dim·K), K the model's bulk modulus
    bulk = E_grid if d.dim == 1 else (d.dim * lam + 2 * mu) / d.dim
    lines = [f"mechanics: {m.model.replace('_', ' ')}, E = {_span(E)} Pa" + (f", ν = {_span(nu)}" if d.dim > 1 else "")
             + f"; λ = {_span(lam)} Pa, μ = {_span(mu)} Pa; {m.integration} integration"]
    if m.locking_warning():
        lines.append(f"  warning: {m.locking_warning()}")
    faces = ", ".join(f"{ax}: {lo.kind}/{hi.kind}" for ax, (lo, hi) in zip("xyz", m.boundary))
    lines.append(f"  boundaries (low/high face): {faces}")
    if m.active is not None:
        a = m.active
        kind = "isotropic" if a.fibre is None else f"along fibre {tuple(round(v, 4) for v in a.fibre)}"
        lines.append(f"  active stress {a.alpha:g}·{a.field} Pa ({kind}); a free, uniform tissue strains by "
                     f"{_span(-a.alpha / (d.dim * bulk))} per unit of {a.field} (isotropic case)")
    unknowns = mechanics_unknowns(d)
    lines.append(f"  {unknowns} unknowns (~{math.ceil(unknowns / ranks)} per rank), solved every {m.interval} "
                 f"step(s); memory ~{memory_per_unknown(d.dim) * unknowns / 2**20:.1f} MiB in total")
    return lines


def mechanics_unknowns(d: Domain) -> int:
    """Displacement unknowns: ``dim`` per vertex of the grid."""
    return math.prod(n + 1 for n in d.cells) * d.dim


def memory_per_unknown(dim: int) -> float:
    """Estimated bytes per displacement unknown: an AIJ row of ``3^dim·dim`` entries
    (12 bytes each), about twice that again for the multigrid hierarchy, six vectors."""
    return (3**dim * dim * 12 + 8) * 3 + 6 * 8


@njit(cache=True)
def _sample_nodal(u, geometry, spacing, points, out):
    """Multilinear interpolation of the nodal field ``u`` (ghosted, shape
    ``(n_nodes, dim)``, x fastest; ``geometry`` = ghost starts, then ghost counts) at ``points``."""
    dim = points.shape[1]
    for p in range(points.shape[0]):
        base = np.zeros(3, np.int64)
        frac = np.zeros(3)
        for a in range(dim):
            s = points[p, a] / spacing[a]
            k = np.int64(math.floor(s))
            base[a] = k
            frac[a] = s - k
        for c in range(dim):
            out[p, c] = 0.0
        for n in range(1 << dim):
            w = 1.0
            index = 0
            stride = 1
            for a in range(dim):
                bit = (n >> a) & 1
                w *= frac[a] if bit else 1.0 - frac[a]
                index += (base[a] + bit - geometry[a]) * stride
                stride *= geometry[3 + a]
            for c in range(dim):
                out[p, c] += w * u[index, c]


class Elasticity:
    """The tissue's mechanical equilibrium on ``grid`` (collective).

    Attributes
    ----------
    u:
        Displacement (µm), a global vector of the vertex DMDA ``da`` (``dof = dim``).
    iterations:
        Krylov iterations of the last solve; ``setup_seconds`` the assembly and
        preconditioner set-up time of the constructor.
    """

    def __init__(self, grid: Grid, mechanics: Mechanics):
        import time

        start = time.perf_counter()
        PETSc = get_petsc()
        self.grid = grid
        self.mechanics = mechanics
        self.dim = dim = grid.dim
        self.da = grid.vertex_da(dof=dim)
        self.starts = tuple(int(r[0]) for r in self.da.getRanges())
        self.counts = tuple(int(r[1] - r[0]) for r in self.da.getRanges())
        self.ghost_starts = tuple(int(r[0]) for r in self.da.getGhostRanges())
        self.ghost_counts = tuple(int(r[1] - r[0]) for r in self.da.getGhostRanges())
        self.element = reference_element(grid.spacing)
        self._element_dofs = self._dof_map()
        centres = grid.cell_centers()
        E = evaluate(mechanics.E, centres)
        nu = evaluate(mechanics.nu, centres)
        self.lam, self.mu = lame(E, nu, mechanics.model)

        self.A = self._assemble()
        self.fixed = self._fixed_rows()
        self.A.zeroRowsColumns(self.fixed, 1.0)
        self.near_null = PETSc.NullSpace().createRigidBody(self.da.getCoordinates())
        self.A.setNearNullSpace(self.near_null)

        self.u = self.da.createGlobalVec()
        self.u.set(0.0)
        self._b = self.da.createGlobalVec()
        self._local = self.da.createLocalVec()
        self._constant_load = self._fixed_load()
        self.ksp = PETSc.KSP().create(comm=self.da.getComm())
        self._setup_solver()
        self.iterations = 0
        self._size = None  # size change of the current displacement, computed on first request
        self.setup_seconds = time.perf_counter() - start

    # ------------------------------------------------------------------ assembly

    def _dof_map(self) -> np.ndarray:
        """Local (ghosted) dof indices of every owned element, ``(n_elements, n_dof)``,
        elements in the grid's memory order (x fastest)."""
        dim = self.dim
        g = self.grid
        axes = [np.arange(g.starts[a], g.starts[a] + g.counts[a]) - self.ghost_starts[a] for a in range(dim)]
        mesh = np.meshgrid(*axes, indexing="ij")
        lower = np.stack([m.ravel(order="F") for m in mesh], axis=1)  # (n_el, dim) ghosted vertex index
        strides = np.cumprod((1,) + self.ghost_counts[:-1])
        nodes = (lower[:, None, :] + node_offsets(dim)[None]) @ strides  # (n_el, 2^dim)
        dofs = nodes[:, :, None] * dim + np.arange(dim)
        return dofs.reshape(len(lower), -1).astype(get_petsc().IntType)

    def _assemble(self):
        K_lambda = self.element.K_lambda_reduced if self.mechanics.integration == "selective" else self.element.K_lambda
        return stiffness_matrix(self.grid, self.da, self.lam, self.mu, K_lambda, self.element.K_mu)

    def _fixed_rows(self) -> np.ndarray:
        """Global rows of the displacement components held by clamped and roller
        faces on this rank's vertices."""
        return fixed_rows(self.da, self.grid.domain.cells, self.mechanics.boundary)

    def _scatter_add(self, contributions: np.ndarray, out) -> None:
        """Add element contributions ``(n_elements, n_dof)`` into the global vector ``out``."""
        PETSc = get_petsc()
        local = np.bincount(self._element_dofs.ravel(), weights=contributions.ravel(),
                            minlength=self._local.getLocalSize())
        self._local.setArray(local)
        self.da.localToGlobal(self._local, out, addv=PETSc.InsertMode.ADD_VALUES)

    def _fixed_load(self):
        """Load of the uniform body force and the prescribed tractions (constant in time)."""
        el = self.element
        dim = self.dim
        n_el = len(self._element_dofs)
        contributions = np.zeros((n_el, el.n_nodes, dim))
        f = np.asarray(self.mechanics.body_force, dtype=float)
        if np.any(f):
            share = el.mass.sum(axis=0) * el.gauss_weight  # ∫ N_n dV, µm^dim
            contributions += share[None, :, None] * f
        g = self.grid
        index = [m.ravel(order="F") for m in np.meshgrid(
            *[np.arange(g.starts[a], g.starts[a] + g.counts[a]) for a in range(dim)], indexing="ij")]
        for axis, faces in enumerate(self.mechanics.boundary):
            for side, face in enumerate(faces):
                if face.kind != "traction":
                    continue
                at_face = index[axis] == (0 if side == 0 else g.domain.cells[axis] - 1)
                weights = face_load_weights(dim, g.spacing, axis, side)
                contributions[at_face] += weights[None, :, None] * np.asarray(face.traction)
        load = self.da.createGlobalVec()
        load.set(0.0)
        self._scatter_add(contributions.reshape(n_el, -1), load)
        return load

    def body_force_load(self, force) -> object:
        """Load vector (global) of a body force ``force(points) → (n, dim)`` (Pa/µm at
        points in µm), integrated by Gauss quadrature on every element."""
        el = self.element
        g = self.grid
        lower = g.cell_centers() - 0.5 * g.spacing  # element corners (µm)
        points = (lower[:, None, :] + el.gauss_points[None]).reshape(-1, self.dim)
        f = np.asarray(force(points), dtype=float).reshape(len(lower), len(el.gauss_points), self.dim)
        contributions = np.einsum("gn,egi->eni", el.mass * el.gauss_weight, f)
        load = self.da.createGlobalVec()
        load.set(0.0)
        self._scatter_add(contributions.reshape(len(lower), -1), load)
        return load

    def active_load(self, concentration: np.ndarray, out) -> None:
        """Add the load of ``σ_act = α c I`` (or ``α c f⊗f``) to ``out``;
        ``concentration`` is per owned grid cell (memory order)."""
        active = self.mechanics.active
        el = self.element
        S = el.stress_load  # (nodes, dim)
        if active.fibre is not None:
            f = np.asarray(active.fibre)
            S = np.outer(S @ f, f)  # Σ_b f_i f_b ∂_b N_n
        c = np.asarray(concentration, dtype=float).ravel(order="F")
        contributions = -active.alpha * c[:, None, None] * S[None]
        self._scatter_add(contributions.reshape(len(c), -1), out)

    # ------------------------------------------------------------------ solving

    def _setup_solver(self) -> None:
        PETSc = get_petsc()
        m = self.mechanics
        levels = multigrid_levels(self.grid.domain.cells, self.grid.proc_sizes)
        method = m.solver if m.solver != "auto" else ("multigrid" if levels >= 3 else "gamg")
        options = PETSc.Options()
        if options.hasName(PREFIX + "pc_type"):  # -mech_pc_type wins over the config
            chosen = options.getString(PREFIX + "pc_type")
            method = {"mg": "multigrid", "gamg": "gamg"}.get(chosen.lower(), chosen.lower())
        if method == "multigrid" and levels < 2:
            raise InputError(
                f"mechanics.solver = 'multigrid' needs domain.cells divisible by 2 with at least "
                f"{2 * MIN_COARSE_CELLS} cells per rank on every axis (got cells = {list(self.grid.domain.cells)} "
                f"on a {'×'.join(map(str, self.grid.proc_sizes))} rank grid); use 'auto' or 'gamg'")
        self.method = method
        defaults = {
            "ksp_type": "cg", "ksp_rtol": repr(m.rtol), "ksp_atol": "1e-50",
            "ksp_max_it": str(m.max_iterations),
            # the test uses the true residual, so rtol means what it says
            "ksp_norm_type": "unpreconditioned",
        }
        if method == "multigrid":
            defaults.update({"pc_type": "mg", "pc_mg_levels": str(levels), "pc_mg_galerkin": "none",
                             "mg_levels_ksp_type": "chebyshev", "mg_levels_pc_type": "jacobi"})
        elif method == "gamg":
            defaults["pc_type"] = "gamg"
        self.ksp.setInitialGuessNonzero(True)
        # multigrid, chosen here or by -mech_pc_type mg, coarsens the vertex DMDA (Q1 interpolation)
        # with rediscretised coarse operators; -mech_pc_mg_galerkin asks PETSc for PᵀAP instead
        galerkin = options.hasName(PREFIX + "pc_mg_galerkin")
        own_smoothers = any(key.startswith((PREFIX + "mg_levels", PREFIX + "mg_coarse")) for key in options.getAll())
        self.hierarchy = ElasticityHierarchy(self.grid, self.da, self.A, m)

        def on_multigrid(ksp):
            if galerkin:
                use_dm_geometry_only(ksp, self.da)
            else:
                self.hierarchy.attach(ksp.getPC(), fine_bounds=not own_smoothers)

        setup_krylov(self.ksp, self.A, prefix=PREFIX, defaults=defaults, on_multigrid=on_multigrid)

    def solve(self, concentration: np.ndarray | None = None, extra_load=None):
        """Solve for the displacement under the active stress of ``concentration``
        (per owned grid cell; None: no active stress) plus the constant loads and
        ``extra_load`` (a global vector); the previous displacement is the initial
        guess. Returns :attr:`u`."""
        b = self._b
        self._constant_load.copy(b)
        if concentration is not None and self.mechanics.active is not None:
            self.active_load(concentration, b)
        if extra_load is not None:
            b.axpy(1.0, extra_load)
        b.setValues(self.fixed, np.zeros(len(self.fixed)))
        b.assemble()
        self.ksp.solve(b, self.u)
        self._size = None
        self.iterations = check_converged(self.ksp, "the mechanics solve",
                                          f"try -{PREFIX}ksp_max_it or check the boundary conditions")
        return self.u

    # ------------------------------------------------------------------ results

    def nodal(self, vec=None, *, ghosted: bool = False) -> np.ndarray:
        """Displacement (µm) on this rank's (or its ghosted) vertices, shape
        ``(n_vertices, dim)`` with x fastest."""
        vec = self.u if vec is None else vec
        if not ghosted:
            return vec.getArray(readonly=True).reshape(-1, self.dim)
        self.da.globalToLocal(vec, self._local)
        return self._local.getArray(readonly=True).reshape(-1, self.dim)

    def gradients(self, vec=None) -> np.ndarray:
        """Mean displacement gradient ``∂u_i/∂x_b`` of every owned element, ``(n, dim, dim)``."""
        U = self.nodal(vec, ghosted=True).ravel()[self._element_dofs]
        U = U.reshape(len(U), self.element.n_nodes, self.dim)
        return np.einsum("eni,nb->eib", U, self.element.centre_gradient)

    def strain(self, vec=None) -> np.ndarray:
        """Mean small strain of every owned element, ``(n, dim, dim)`` (dimensionless)."""
        G = self.gradients(vec)
        return 0.5 * (G + np.swapaxes(G, 1, 2))

    def stress(self, strain: np.ndarray) -> np.ndarray:
        """Elastic (passive) stress ``λ tr(ε) I + 2μ ε`` (Pa) of every owned element."""
        trace = np.trace(strain, axis1=1, axis2=2)
        return (self.lam * trace)[:, None, None] * np.eye(self.dim) + 2.0 * self.mu[:, None, None] * strain

    def set_displacement(self, values: np.ndarray) -> None:
        """Replace the displacement by ``values`` (this rank's vertices, x fastest,
        components last; e.g. from a checkpoint)."""
        self.u.getArray()[...] = np.asarray(values).ravel()
        self._size = None

    def size_change(self, vec=None) -> tuple[float, float]:
        """Change of the tissue's length (1D, µm), area (2D, µm²) or volume (3D, µm³),
        ``∫ ∇·u dV``, and that change relative to the undeformed size (collective).
        For the current displacement it is computed once per solve, however often asked
        (every step's summary row, every output)."""
        if vec is None and self._size is not None:
            return self._size
        local = float(np.trace(self.strain(vec), axis1=1, axis2=2).sum()) * self.grid.cell_volume
        total = self.grid.comm.allreduce(local)
        result = total, total / float(np.prod(self.grid.domain.size))
        if vec is None:
            self._size = result
        return result

    def sample(self, points: np.ndarray, vec=None) -> np.ndarray:
        """Displacement (µm) at ``points`` ``(n, dim)`` inside this rank's cells,
        interpolated multilinearly from the vertices."""
        u = np.ascontiguousarray(self.nodal(vec, ghosted=True))
        out = np.empty((len(points), self.dim))
        geometry = np.zeros(6, dtype=np.int64)
        geometry[:self.dim] = self.ghost_starts
        geometry[3:3 + self.dim] = self.ghost_counts
        pts = np.ascontiguousarray(points, dtype=float).reshape(-1, self.dim)
        # points on the domain's upper face interpolate in the last element
        pts = np.minimum(pts, np.asarray(self.grid.domain.size) * (1 - 1e-15))
        _sample_nodal(u, geometry, np.asarray(self.grid.spacing, dtype=float), pts, out)
        return out

    def natural_array(self, vec=None) -> np.ndarray:
        """Owned displacement as ``(…, z, y, x, dim)`` in natural order (for output)."""
        counts = self.counts
        return local_array(self.u if vec is None else vec, (self.dim, *counts), readonly=True).transpose(
            *range(self.dim, 0, -1), 0)

    def destroy(self) -> None:
        self.hierarchy.destroy()
        for obj in (self.ksp, self.A, self.near_null, self.u, self._b, self._local, self._constant_load, self.da):
            obj.destroy()
