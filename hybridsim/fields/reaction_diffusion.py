"""Implicit reaction–diffusion of one chemical species on the grid.

The model, for concentration ``c`` (molecules/µm³ or nM) at position x (µm) and
time t (min)::

    ∂c/∂t = ∇·(D(x) ∇c) − k(x) c − vmax c / (km + c) − ρ(x) c + s(x, t)

with ``ρ`` the clearance of the cells there (:mod:`.operator` holds the spatial
operator ``L``: diffusion, decay and the boundary terms ``b``).

Time: the θ-method, backward Euler (θ = 1, default) or Crank–Nicolson (θ = ½),
with the uptake rates ``E = diag(vmax/(km + c̃) + ρ)`` weighted like ``L``::

    (I/Δt + θ (L + E)) cⁿ⁺¹ = (I/Δt − (1−θ)(L + E)) cⁿ + b + θ s(tⁿ⁺¹) + (1−θ) s(tⁿ)

Michaelis–Menten uptake is linearised (``c̃`` is known before the solve), so each
step is one linear solve whose matrix differs from step to step only on its
diagonal: the preconditioner is built once and reused. Backward Euler takes
``c̃ = cⁿ``: first order, and with every matrix an M-matrix ``c`` stays
non-negative. Crank–Nicolson takes ``c̃`` extrapolated to the step's midpoint from
the last two steps (``cⁿ`` on the first): second order in Δt, uptake included
(tested: errors fall by 4 per halving with Michaelis–Menten and with cells'
uptake). Crank–Nicolson is not positivity preserving — a sharp front with a large
diffusion number overshoots below zero, where Michaelis–Menten uptake would turn
into production — so a step that leaves a value below zero (below the field's
minimum if the field was negative already) is taken again as two
backward-Euler half steps (first order for that step, non-negative; the
half-step matrix is twice the Crank–Nicolson one, so the same solver serves), and
:attr:`fallbacks` counts them. The cells are exposed, for the molecules they take
up, to the concentration the step's quadrature used (:meth:`exposure`).

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

from ..config import Solver, Species
from ..errors import RunError
from ..geometry import region_mask
from ..parallel.grid import Grid
from ..parallel.krylov import check_converged
from ..parallel.petsc import get_petsc
from .chebyshev import JacobiChebyshev
from .multigrid import LevelOperators, MultigridHierarchy
from .operator import assemble_operator, source_rate
from .solvers import configure_ksp, diffusion_number, resolve_method

BALANCE_WARNING = 1e-6
"""Relative mass defect of a solve (before its correction) above which a run warns:
the field is then only as accurate as that (lower ``solver.rtol``)."""


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
        self.prefix = f"rd_{species.name}_"
        stiffness = diffusion_number(dt, max(species.D.all_values()), grid.spacing)
        matrix_free = resolve_method(solver, grid.domain.cells, grid.proc_sizes, stiffness, self.prefix) == "chebyshev"
        self.L, self.boundary, faces = assemble_operator(grid, species, faces=matrix_free)
        self._sources = []
        for source in species.sources:
            mask = None
            if source.region is not None:
                mask = grid.global_vec()
                grid.view(mask)[...] = region_mask(source.region, grid.cell_centers()).reshape(grid.counts,
                                                                                              order="F")
            self._sources.append((source, mask))
        self._rhs = grid.global_vec()
        self._work = grid.global_vec()
        self._residual = grid.global_vec()
        self._spread = grid.global_vec()
        self.balance_defect = 0.0  # relative mass defect of the last solve, before its correction
        self.fallbacks = 0  # Crank–Nicolson steps taken again as two backward-Euler half steps
        self.notes: list[str] = []  # what a run should say about this field (once each)
        self._said: set[str] = set()
        self._previous_dt = None  # length of the last step (Crank–Nicolson's extrapolation)
        crank_nicolson = self.theta < 1.0
        self._start, self._previous, self._exposure, self._weighted, self._scratch = (
            grid.global_vec() if crank_nicolson else None for _ in range(5))
        self.A = None
        self.dt = None
        self._column_sums = None
        self._diagonal = None
        self._uptake_diag = grid.global_vec() if species.uptake else None
        self._variable_diagonal = species.uptake is not None or agent_uptake
        self._extra = grid.global_vec() if self._variable_diagonal else None
        self.hierarchy = hierarchy if hierarchy is not None else MultigridHierarchy(grid)
        self.levels = LevelOperators(self.hierarchy, species)  # multigrid's coarse operators, built if used
        self.matrix_free = None  # the Jacobi–Chebyshev solver, when the method is "chebyshev"
        self._a_diagonal = None  # diag(A), which it reads
        self._build_system(dt)
        self.ksp = PETSc.KSP().create(comm=self.L.getComm())
        self.method = configure_ksp(
            self.ksp, self.A, self.hierarchy, solver, prefix=self.prefix, parent_prefix="rd_",
            diffusion_number=stiffness, levels=self.levels,
        )
        if self.method == "chebyshev":
            self.matrix_free = JacobiChebyshev(
                grid, faces, rtol=solver.rtol, atol=solver.atol, max_iterations=solver.max_iterations,
                what=f"the reaction–diffusion solve of species {species.name!r}",
                advice="raise solver.max_iterations or loosen solver.rtol")
            self._a_diagonal = grid.global_vec()
            self._sync_matrix_free()
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
        if self.matrix_free is not None:
            self._sync_matrix_free()
        self.levels.set_system(self.theta, 1.0 / dt)

    def _sync_matrix_free(self) -> None:
        """The matrix-free solver's diag(A) and face weights for the current ``A``."""
        self.A.getDiagonal(self._a_diagonal)
        self.matrix_free.set_weights(self.theta, self.dt)

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

        ``agent_rate`` (global vector, 1/min) is first-order uptake by cells, weighted
        like the rest of ``L``: the step removes ``Δt·∫ agent_rate·e dV`` molecules,
        ``e`` the :meth:`exposure` of the step (``cⁿ⁺¹`` in backward Euler)."""
        self._set_dt(dt)
        extra = self._uptake_rates(c, dt, agent_rate)
        weighted = self._set_diagonal(extra)
        rhs = self._rhs
        c.copy(rhs)
        rhs.scale(1.0 / dt)
        if self.theta < 1.0:
            c.copy(self._start)
            self.L.mult(c, self._work)
            if extra is not None:
                self._scratch.pointwiseMult(extra, c)
                self._work.axpy(1.0, self._scratch)
            rhs.axpy(-(1.0 - self.theta), self._work)
        rhs.axpy(1.0, self.boundary)
        self.add_sources(rhs, t + dt, self.theta)
        if self.theta < 1.0:
            self.add_sources(rhs, t, 1.0 - self.theta)
        floor = min(self._start.min()[1], 0.0) if self.theta < 1.0 else 0.0
        self._solve(c, rhs, weighted, t + dt)
        if self.theta < 1.0:
            if c.min()[1] < floor:  # the step undershot 0 (or, for a field given negative, its minimum)
                self._backward_euler_halves(c, t, dt, weighted)
            else:
                self._start.copy(self._exposure)
                self._exposure.scale(1.0 - self.theta)
                self._exposure.axpy(self.theta, c)
            self._start.copy(self._previous)
            self._previous_dt = dt

    def exposure(self, c):
        """The concentration the last step exposed the cells to: ``cⁿ⁺¹`` (backward
        Euler), ``θcⁿ⁺¹ + (1−θ)cⁿ`` (Crank–Nicolson), the mean of the two half steps'
        ends (a fallback step); ``c`` is the field the step advanced."""
        return c if self.theta == 1.0 else self._exposure

    def _solve(self, c, rhs, weighted, t_end: float) -> None:
        balanced = None
        if self.matrix_free is not None:
            self.matrix_free.solve(rhs, self._a_diagonal, c, when=f" at t = {t_end:g} min")
            self.iterations = self.matrix_free.iterations
            self.total_iterations += self.iterations
            balanced = self.matrix_free.balance(rhs, self._a_diagonal, self._column_sums, weighted, c)
        else:
            self.ksp.setInitialGuessNonzero(True)
            self.ksp.solve(rhs, c)
            self._check_converged(t_end)
        if balanced is not None:  # the matrix-free solver corrected it in the same pass
            defect, scale = balanced
            self.balance_defect = abs(defect) / scale if scale > 0 else 0.0
        else:
            self._conserve(c, rhs, weighted)
        if self.balance_defect > BALANCE_WARNING:
            self._note("balance", f"species {self.species.name!r}: a solve left a mass defect of "
                       f"{self.balance_defect:.2g} of the step's total (more than {BALANCE_WARNING:g}) at t = "
                       f"{t_end:g} min; it was corrected where the residual is, so molecules are conserved, but "
                       f"the field is only about that accurate: lower solver.rtol")

    def _note(self, kind: str, text: str) -> None:
        if kind not in self._said:
            self._said.add(kind)
            self.notes.append(text)

    def _uptake_rates(self, c, dt: float, agent_rate):
        """``E``: Michaelis–Menten's ``vmax/(km + c̃)`` plus the cells' clearance rate
        (1/min), or None without uptake."""
        extra = None
        if self.species.uptake is not None:
            estimate = c
            if self.theta < 1.0 and self._previous_dt is not None:
                # cⁿ + Δt/(2Δt_prev)·(cⁿ − cⁿ⁻¹): the step's midpoint, not below 0
                estimate = self._work
                estimate.waxpy(-1.0, self._previous, c)
                estimate.scale(dt / (2.0 * self._previous_dt))
                estimate.axpy(1.0, c)
                self.grid.view(estimate)[...] = np.maximum(self.grid.view(estimate), 0.0)
            self._michaelis_menten_rate(estimate, self._uptake_diag)
            extra = self._uptake_diag
        if agent_rate is not None:
            if extra is None:
                agent_rate.copy(self._extra)
            else:
                self._extra.waxpy(1.0, extra, agent_rate)
            extra = self._extra
        return extra

    def _set_diagonal(self, extra):
        """``diag(A) = I/Δt + θ diag(L) + θE``; returns ``θE`` (None without uptake)."""
        if extra is None:
            if self._diagonal_modified:
                self.A.setDiagonal(self._diagonal)
                if self._a_diagonal is not None:
                    self._diagonal.copy(self._a_diagonal)
                self._diagonal_modified = False
            return None
        weighted = extra
        if self.theta < 1.0:
            extra.copy(self._weighted)
            self._weighted.scale(self.theta)
            weighted = self._weighted
        diagonal = self._a_diagonal if self._a_diagonal is not None else self._work
        diagonal.waxpy(1.0, self._diagonal, weighted)
        self.A.setDiagonal(diagonal)
        self._diagonal_modified = True
        return weighted

    def _backward_euler_halves(self, c, t: float, dt: float, weighted) -> None:
        """Redo the step from ``cⁿ`` as two backward-Euler half steps: ``2·A`` is their
        matrix, so ``A x = x_start/Δt + ½(b + s)`` is each one's system."""
        self.fallbacks += 1
        self._note("fallback", f"species {self.species.name!r}: a Crank–Nicolson step undershot below zero at "
                   f"t = {t:g} min; such steps are taken as two backward-Euler half steps (first order), "
                   "counted in the summary; for a front this sharp choose time.scheme = 'backward_euler' "
                   "or a smaller time.dt")
        self._start.copy(c)
        rhs = self._rhs
        for k in (1, 2):
            c.copy(rhs)
            rhs.scale(1.0 / dt)
            rhs.axpy(0.5, self.boundary)
            self.add_sources(rhs, t + 0.5 * k * dt, 0.5)
            self._solve(c, rhs, weighted, t + 0.5 * k * dt)
            if k == 1:
                c.copy(self._exposure)
        self._exposure.axpy(1.0, c)
        self._exposure.scale(0.5)

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
        levels = LevelOperators(self.hierarchy, self.species)  # the coarse operators of L itself
        levels.set_system(1.0, 0.0)
        configure_ksp(ksp, M, self.hierarchy, Solver(rtol=rtol), prefix=self.prefix + "steady_",
                      parent_prefix="rd_", diffusion_number=np.inf, levels=levels)
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
            for obj in (ksp, M, rhs, base, previous, rate, scratch, levels):
                obj.destroy()

    def _check_converged(self, t: float, ksp=None) -> None:
        self.iterations = check_converged(
            ksp or self.ksp, f"the reaction–diffusion solve of species {self.species.name!r}",
            f"raise solver.max_iterations, loosen solver.rtol, or choose another -{self.prefix}pc_type",
            when=f" at t = {t:g} min")
        self.total_iterations += self.iterations

    def destroy(self) -> None:
        for obj in (self.ksp, self.A, self.L, self.boundary, self._rhs, self._work, self._residual, self._spread,
                    self._start, self._previous, self._exposure, self._weighted, self._scratch,
                    self._column_sums, self._uptake_diag, self._diagonal, self._extra, self._a_diagonal,
                    self.matrix_free, self.levels):
            if obj is not None:
                obj.destroy()
        for _, mask in self._sources:
            if mask is not None:
                mask.destroy()
