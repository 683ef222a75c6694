"""Implicit reaction–diffusion of one chemical species on the grid.

The model, for concentration ``c`` (molecules/µm³ or nM) at position x (µm) and
time t (min)::

    ∂c/∂t = ∇·(D(x) ∇c) − k(x) c − vmax c / (km + c) + s(x, t)

Space: cell-centred finite volumes. The flux through the face between two cells
uses the harmonic mean of their diffusivities (exact for layered media: the
series resistance of the two half cells). A Dirichlet face value ``c_b`` drives
the flux ``D (c_b − c)/(h/2)``; a Neumann face adds its inward flux ``q``
(concentration·µm/min) as the source ``q/h`` of the cell behind it. Mass is
conserved exactly by the discrete operator: with closed walls and no decay its
columns sum to zero.

Time: the θ-method, backward Euler (θ = 1, first order, L-stable, default) or
Crank–Nicolson (θ = ½, second order)::

    (I/Δt + θ L + U(cⁿ)) cⁿ⁺¹ = (I/Δt − (1−θ) L) cⁿ + b + θ s(tⁿ⁺¹) + (1−θ) s(tⁿ)

where ``L`` holds diffusion, decay and Dirichlet terms and ``b`` the boundary
data. Michaelis–Menten uptake is linearised semi-implicitly: ``U(cⁿ) =
diag(vmax/(km + cⁿ))`` multiplies ``cⁿ⁺¹``. That keeps each step one linear solve
(no Newton iteration), keeps ``c ≥ 0`` (the matrix stays an M-matrix) and is
unconditionally stable; its error is first order in Δt in either scheme, which
is below the splitting error of the coupled hybrid model anyway. Only the
diagonal changes from step to step, so the preconditioner is built once and
reused.

Global balance: the exact solution of each step's system ``A c = rhs`` satisfies
``1ᵀ A c = 1ᵀ rhs`` — mass after the step equals mass before plus sources minus
decay, uptake and boundary outflow. An iterative solve leaves a residual
``r = rhs − A c`` whose sum is the step's mass defect. It is corrected where the
residual is: ``c += α |r|`` with ``α = Σr / (wᵀ|r|)`` (``w`` the column sums of
``A``, all positive), so the balance holds to round-off and no cell moves by more
than ``|r_i| / min w`` — the size of the solve's own error, not a rescaling of the
field. (Where a removal would make a cell negative, that cell is left out.) The
defect before the correction, relative to ``Σ|rhs|``, is :attr:`balance_defect`;
the run reports it per step (``<field>_balance`` in ``summary.csv``) and warns
when it exceeds :data:`BALANCE_WARNING`, i.e. when the solver tolerance, not the
scheme, limits the field's accuracy.

``L`` and the system matrix are assembled once; a new Δt rebuilds only the
system matrix.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import Schedule, Solver, Source, Species
from ..errors import RunError
from ..geometry import evaluate, region_mask
from ..parallel.grid import Grid
from ..parallel.krylov import check_converged
from ..parallel.petsc import create_matrix, get_petsc
from .multigrid import MultigridHierarchy
from .solvers import configure_ksp, diffusion_number

BALANCE_WARNING = 1e-6
"""Relative mass defect of a solve (before its correction) above which a run warns:
the field is then only as accurate as that (lower ``solver.rtol``)."""


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

    Returns ``(L, b)`` as a PETSc matrix and a global vector.
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

    L = create_matrix(grid.da)
    L.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)
    L.setValuesLocalRCV(rows[:, None].astype(PETSc.IntType), cols, vals, addv=PETSc.InsertMode.ADD_VALUES)
    L.assemble()
    b = grid.global_vec()
    grid.view(b)[...] = rhs.reshape(grid.counts, order="F")
    return L, b


class ReactionDiffusion:
    """Advances one species' concentration by implicit time steps.

    Parameters
    ----------
    grid:
        The shared grid.
    species:
        Coefficients, sources and boundary conditions of the species.
    dt:
        Time step, min.
    scheme:
        ``"backward_euler"`` or ``"crank_nicolson"``.
    solver:
        Default Krylov settings; PETSc options with prefix ``rd_`` (all species)
        or ``rd_<name>_`` (this one) override them.
    hierarchy:
        Multigrid transfer operators of ``grid``, shared between species.
    agent_uptake:
        Whether cells take this species up (a per-step rate on the diagonal, see
        :meth:`step`).
    """

    def __init__(self, grid: Grid, species: Species, *, dt: float, scheme: str, solver: Solver,
                 hierarchy: MultigridHierarchy | None = None, agent_uptake: bool = False):
        PETSc = get_petsc()
        self.grid = grid
        self.species = species
        self.theta = 1.0 if scheme == "backward_euler" else 0.5
        self.L, self.boundary = assemble_operator(grid, species)
        self.prefix = f"rd_{species.name}_"
        points = grid.cell_centers()
        self._sources = []
        for source in species.sources:
            mask = None
            if source.region is not None:
                mask = grid.global_vec()
                grid.view(mask)[...] = region_mask(source.region, points).reshape(grid.counts, order="F")
            self._sources.append((source, mask))
        self._rhs = grid.global_vec()
        self._work = grid.global_vec()
        self._residual = grid.global_vec()
        self._spread = grid.global_vec()
        self.balance_defect = 0.0  # relative mass defect of the last solve, before its correction
        self.A = None
        self.dt = None
        self._column_sums = None
        self._diagonal = None
        self._uptake_diag = grid.global_vec() if species.uptake else None
        self._variable_diagonal = species.uptake is not None or agent_uptake
        self._extra = grid.global_vec() if self._variable_diagonal else None
        self.hierarchy = hierarchy if hierarchy is not None else MultigridHierarchy(grid)
        self._build_system(dt)
        self.ksp = PETSc.KSP().create(comm=self.L.getComm())
        self.method = configure_ksp(
            self.ksp, self.A, self.hierarchy, solver, prefix=self.prefix, parent_prefix="rd_",
            diffusion_number=diffusion_number(dt, max(species.D.all_values()), grid.spacing),
        )
        if self._variable_diagonal and self.ksp.getPC().getType() not in ("jacobi", "none"):
            # only the diagonal changes between steps: keep the expensive preconditioners
            # (Jacobi is rebuilt: it costs nothing and a stale one can stall CG when cells
            # with strong uptake move)
            self.ksp.getPC().setReusePreconditioner(True)
        self.iterations = 0  # Krylov iterations of the last step
        self.total_iterations = 0

    def _build_system(self, dt: float) -> None:
        """``A = I/Δt + θL`` (pattern of ``L``) and its column sums."""
        self.dt = dt
        if self.A is None:
            self.A = self.L.duplicate(copy=True)
            self._column_sums = self.grid.global_vec()
        else:
            self.L.copy(self.A)
        self.A.scale(self.theta)
        self.A.shift(1.0 / dt)
        ones = self._work
        ones.set(1.0)
        self.A.multTranspose(ones, self._column_sums)
        self._diagonal_modified = False  # A was rebuilt from L
        if self._variable_diagonal:
            if self._diagonal is not None:
                self._diagonal.destroy()
            self._diagonal = self.A.getDiagonal()

    def _set_dt(self, dt: float) -> None:
        if dt != self.dt:
            self._build_system(dt)
            self.ksp.setOperators(self.A)

    def add_sources(self, rhs, t: float, weight: float) -> None:
        """``rhs += weight · s(t)`` (concentration/min)."""
        for source, mask in self._sources:
            rate = weight * source_rate(source, t)
            if rate == 0.0:
                continue
            if mask is None:
                rhs.shift(rate)
            else:
                rhs.axpy(rate, mask)

    def step(self, c, t: float, dt: float, agent_rate=None) -> None:
        """Advance ``c`` (global vector, updated in place) from ``t`` to ``t + dt`` (min).

        ``agent_rate`` (global vector, 1/min) is first-order uptake by cells, treated
        implicitly like Michaelis–Menten uptake: the step removes exactly
        ``Δt·∫ agent_rate·cⁿ⁺¹ dV`` molecules, and ``c`` stays non-negative."""
        self._set_dt(dt)
        rhs = self._rhs
        c.copy(rhs)
        rhs.scale(1.0 / dt)
        if self.theta < 1.0:
            self.L.mult(c, self._work)
            rhs.axpy(-(1.0 - self.theta), self._work)
        rhs.axpy(1.0, self.boundary)
        self.add_sources(rhs, t + dt, self.theta)
        if self.theta < 1.0:
            self.add_sources(rhs, t, 1.0 - self.theta)
        extra = None
        if self.species.uptake is not None:
            self._michaelis_menten_rate(c, self._uptake_diag)
            extra = self._uptake_diag
        if agent_rate is not None:
            if extra is None:
                agent_rate.copy(self._extra)
            else:
                self._extra.waxpy(1.0, extra, agent_rate)
            extra = self._extra
        if extra is not None:
            self._work.waxpy(1.0, self._diagonal, extra)
            self.A.setDiagonal(self._work)
            self._diagonal_modified = True
        elif self._diagonal_modified:
            self.A.setDiagonal(self._diagonal)
            self._diagonal_modified = False
        self.ksp.setInitialGuessNonzero(True)
        self.ksp.solve(rhs, c)
        self._check_converged(t + dt)
        self._conserve(c, rhs, extra)

    def _michaelis_menten_rate(self, c, rate) -> None:
        """``rate = vmax/(km + c)`` (1/min)."""
        uptake = self.species.uptake
        c.copy(rate)
        rate.shift(uptake.km)
        rate.reciprocal()
        rate.scale(uptake.vmax)

    def _set_uptake_diagonal(self, matrix, base, c, rate, scratch) -> None:
        """``rate = vmax/(km + c)`` (1/min) and ``diag(matrix) = base + rate``."""
        self._michaelis_menten_rate(c, rate)
        rate.copy(scratch)
        scratch.axpy(1.0, base)
        matrix.setDiagonal(scratch)

    def _conserve(self, c, rhs, extra=None) -> None:
        """Correct ``c`` where the residual of ``A c = rhs`` is, so that the step's
        global balance holds to round-off (see the module doc); ``extra`` is the
        uptake rate on the diagonal of ``A``, if any."""
        r, spread = self._residual, self._spread
        self.A.mult(c, r)
        r.aypx(-1.0, rhs)  # r = rhs − A c
        defect = r.sum()
        scale = rhs.norm(get_petsc().NormType.NORM_1)
        self.balance_defect = abs(defect) / scale if scale > 0 else 0.0
        if defect == 0.0:
            return
        r.copy(spread)
        spread.abs()
        for _ in range(4):
            weight = self._column_sums.dot(spread) + (extra.dot(spread) if extra is not None else 0.0)
            if not weight > 0.0:
                return
            alpha = defect / weight
            if alpha > 0.0:
                break
            # a removal: leave out the cells it would make negative, and spread it over the rest
            local, cell, amount = self.grid.view(spread), self.grid.view(c, readonly=True), -alpha
            negative = cell < amount * local
            if not self.grid.comm.allreduce(bool(negative.any())):
                break
            local[negative] = 0.0
            del local, cell
        c.axpy(alpha, spread)

    def steady_state(self, c, t: float = 0.0, *, rtol: float = 1e-12, max_picard: int = 200) -> int:
        """Solve ``L c + U(c) c = b + s(t)`` for the steady state, in place.

        Michaelis–Menten uptake is handled by Picard iteration on ``U(c)``;
        returns the number of Picard iterations (1 without uptake).
        """
        PETSc = get_petsc()
        M = self.L.duplicate(copy=True)
        ksp = PETSc.KSP().create(comm=M.getComm())
        configure_ksp(ksp, M, self.hierarchy, Solver(rtol=rtol), prefix=self.prefix + "steady_",
                      parent_prefix="rd_", diffusion_number=np.inf)
        rhs = self.grid.global_vec()
        base = self.L.getDiagonal()
        previous = c.duplicate()
        rate, scratch = c.duplicate(), c.duplicate()
        try:
            for iteration in range(1, max_picard + 1):
                rhs.set(0.0)
                rhs.axpy(1.0, self.boundary)
                self.add_sources(rhs, t, 1.0)
                if self.species.uptake:
                    self._set_uptake_diagonal(M, base, c, rate, scratch)
                ksp.setOperators(M)
                c.copy(previous)
                ksp.setInitialGuessNonzero(True)
                ksp.solve(rhs, c)
                self._check_converged(t, ksp)
                if not self.species.uptake:
                    return iteration
                previous.axpy(-1.0, c)
                if previous.norm() <= rtol * max(c.norm(), 1e-300):
                    return iteration
            raise RunError(f"steady state of species {self.species.name!r}: Picard iteration did not converge")
        finally:
            for obj in (ksp, M, rhs, base, previous, rate, scratch):
                obj.destroy()

    def _check_converged(self, t: float, ksp=None) -> None:
        self.iterations = check_converged(
            ksp or self.ksp, f"the reaction–diffusion solve of species {self.species.name!r}",
            f"raise solver.max_iterations, loosen solver.rtol, or choose another -{self.prefix}pc_type",
            when=f" at t = {t:g} min")
        self.total_iterations += self.iterations

    def destroy(self) -> None:
        for obj in (self.ksp, self.A, self.L, self.boundary, self._rhs, self._work, self._residual, self._spread,
                    self._column_sums, self._uptake_diag, self._diagonal, self._extra):
            if obj is not None:
                obj.destroy()
        for _, mask in self._sources:
            if mask is not None:
                mask.destroy()
