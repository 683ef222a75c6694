"""The reaction–diffusion solvers' defaults (set up by
:func:`hybridsim.parallel.krylov.setup_krylov`, so ordinary PETSc options win):

* ``-rd_ksp_type gmres`` applies to every reaction–diffusion solver;
* ``-rd_<species>_pc_type hypre`` to one species only (it beats ``-rd_``).

The solver follows the regime of the step (``method = "auto"``): when the
diffusion number ``ν = Δt·D·Σ1/h²`` is at most :data:`JACOBI_LIMIT` the system is
strongly diagonally dominant and converges in a few Jacobi-preconditioned
iterations: the matrix-free Jacobi–Chebyshev solver (:mod:`.chebyshev`; a sixth
of CG's memory traffic per iteration), or PETSc's CG with Jacobi when the user
gives ``-rd_ksp_…``/``-rd_pc_…`` options for the species; otherwise
preconditioned CG with geometric multigrid on the grid (rediscretised coarse
operators, cell-centred linear transfer, Chebyshev–Jacobi smoothing within
Gershgorin's bounds; :mod:`.multigrid`) keeps the iteration count independent of
the grid, and where the grid does not halve often enough, hypre's BoomerAMG.
"""

from __future__ import annotations

from ..config import Config, Solver, Species
from ..errors import InputError
from ..parallel.grid import Grid
from ..parallel.krylov import setup_krylov
from ..parallel.layout import MIN_COARSE_CELLS, multigrid_levels
from .multigrid import LevelOperators, MultigridHierarchy, set_gershgorin_intervals

JACOBI_LIMIT = 2.0
"""Largest diffusion number for which ``auto`` picks Jacobi-preconditioned CG."""

def diffusion_number(dt: float, D_max: float, spacing) -> float:
    """``Δt · D_max · Σ 1/h²`` (dimensionless): ≪ 1 means a few cheap Krylov
    iterations suffice, ≫ 1 calls for multigrid."""
    return dt * D_max * sum(1.0 / h**2 for h in spacing)


def resolve_method(solver: Solver, cells, proc_sizes, diffusion_number: float, prefix: str = "rd_") -> str:
    """The solver for ``solver.method`` in this regime, on a grid of ``cells`` split
    over ``proc_sizes`` ranks per axis (``prefix``: the species' PETSc options)."""
    if solver.method != "auto":
        if solver.method == "multigrid" and multigrid_levels(cells, proc_sizes) < 2:
            raise InputError(
                f"solver.method = 'multigrid' needs domain.cells divisible by 2 with at least "
                f"{2 * MIN_COARSE_CELLS} cells per rank on every axis (got cells = "
                f"{list(cells)} on a {'×'.join(map(str, proc_sizes))} rank grid); "
                f"use 'auto', 'jacobi' or 'hypre', or cells like 64, 128, 256"
            )
        return solver.method
    if diffusion_number <= JACOBI_LIMIT:
        return "jacobi" if _petsc_solver_options(prefix) else "chebyshev"
    return "multigrid" if multigrid_levels(cells, proc_sizes) >= 3 else "hypre"


def _petsc_solver_options(prefix: str) -> bool:
    """Whether the user gave PETSc options for the Krylov method or preconditioner
    of the solver with options prefix ``prefix`` (``-rd_ksp_…``, ``-rd_pc_…`` or
    ``-<prefix>ksp_…``, ``-<prefix>pc_…``): then PETSc's CG takes them, not the
    matrix-free solver."""
    from ..parallel.petsc import get_petsc

    starts = tuple(p + kind for p in ("rd_", prefix) for kind in ("ksp_", "pc_"))
    return any(key.startswith(starts) for key in get_petsc().Options().getAll())


def planned_method(config: Config, species: Species, proc_sizes) -> str:
    """The preconditioner a run of ``config`` will use for ``species`` on a grid split
    over ``proc_sizes`` ranks per axis (what ``hybridsim check`` reports and the memory
    estimate assumes; the same rule as :class:`~.reaction_diffusion.ReactionDiffusion`)."""
    d = config.domain
    return resolve_method(config.solver, d.cells, proc_sizes,
                          diffusion_number(config.time.field_dt, max(species.D.all_values()), d.spacing),
                          f"rd_{species.name}_")


def _defaults(method: str, solver: Solver, grid: Grid, galerkin: bool) -> dict[str, str]:
    opts = {
        "ksp_type": "cg",
        "ksp_rtol": repr(solver.rtol),
        "ksp_atol": repr(solver.atol),
        "ksp_max_it": str(solver.max_iterations),
        # used whenever the preconditioner is (or is switched by options to) mg
        "pc_mg_levels": str(max(multigrid_levels(grid.domain.cells, grid.proc_sizes), 1)),
        "pc_mg_galerkin": "both" if galerkin else "none",
    }
    if method in ("jacobi", "chebyshev"):
        opts["pc_type"] = "jacobi"
    elif method == "multigrid":
        opts["pc_type"] = "mg"
        opts["mg_levels_ksp_type"] = "chebyshev"
        opts["mg_levels_pc_type"] = "jacobi"
    elif method == "hypre":
        opts["pc_type"] = "hypre"
        opts["pc_hypre_type"] = "boomeramg"
        if grid.dim == 3:  # the defaults set up slowly in 3D
            opts["pc_hypre_boomeramg_coarsen_type"] = "HMIS"
            opts["pc_hypre_boomeramg_interp_type"] = "ext+i"
            opts["pc_hypre_boomeramg_strong_threshold"] = "0.5"
    return opts


def configure_ksp(ksp, operator, hierarchy: MultigridHierarchy, solver: Solver, *, prefix: str,
                  parent_prefix: str, diffusion_number: float, levels: LevelOperators | None = None) -> str:
    """Set ``ksp`` up for ``operator`` with the options prefix ``prefix``: the
    defaults for the regime, the user's ``-<parent_prefix>…`` and ``-<prefix>…``
    options, in rising priority. Multigrid takes its coarse operators from
    ``levels`` (rediscretised), or forms Galerkin products ``PᵀAP`` when ``levels``
    is None or the user asks for them (``-rd_pc_mg_galerkin both``). Returns the
    method the defaults were chosen for."""
    from ..parallel.petsc import get_petsc

    grid = hierarchy.grid
    method = resolve_method(solver, grid.domain.cells, grid.proc_sizes, diffusion_number, prefix)
    options = get_petsc().Options()
    # the options that reach this solver, without their prefix (another species' do not)
    given = [key[len(p):] for key in options.getAll() for p in (prefix, parent_prefix) if key.startswith(p)]
    galerkin = levels is None or "pc_mg_galerkin" in given
    own_smoothers = any(key.startswith(("mg_levels", "mg_coarse")) for key in given)

    def on_multigrid(k):
        hierarchy.attach(k.getPC(), prefix, None if galerkin else levels)
        if not (galerkin or own_smoothers):
            set_gershgorin_intervals(k.getPC(), operator)

    setup_krylov(ksp, operator, prefix=prefix, defaults=_defaults(method, solver, grid, galerkin),
                 parent_prefix=parent_prefix, on_multigrid=on_multigrid)
    return method


def memory_per_cell(dim: int, method: str = "multigrid") -> float:
    """Estimated bytes per grid cell for one species' field and solver.

    Counted: twelve vectors (field, boundary data, right-hand side, work, residual,
    mass correction, column sums, four Krylov work vectors, the diagonal), two AIJ
    matrices with ``2·dim + 1`` entries per row (operator and system, 12 bytes per
    entry plus row pointers); with multigrid the smoother's and cycle's seven vectors
    on the fine level, and on the coarse levels, which hold ``1/(2^dim − 1)`` as many
    cells, the rediscretised operator and system and their vectors (the prolongation
    is matrix-free); with hypre, what BoomerAMG keeps is estimated as Galerkin
    products would be (``3^dim`` entries per coarse row, ``A·P`` and ``Pᵀ`` on the
    fine level). Not counted, and added as measured: the solvers' own work space, 64
    bytes per cell. Measured growth of the peak memory of one species, 3D 128³, one
    rank (above the interpreter's): Jacobi 345 bytes per cell against 344 estimated,
    multigrid 422 against 433; hypre with the 3D settings 1229 against 994 (BoomerAMG
    keeps more than Galerkin products would: the estimate is low there).
    """
    vectors = 12 * 8
    matrices = 2 * ((2 * dim + 1) * 12 + 8)
    work_space = 64
    coarse = 1.0 / (2**dim - 1)
    hierarchy = 0.0
    if method in ("multigrid", "hypre"):
        hierarchy = 7 * 8 + coarse * (matrices + 6 * 8)
    if method == "hypre":
        hierarchy += 2 * ((2**dim) * 12 + 8) + (3**dim) * 12 + 8 + coarse * ((3**dim) * 12 + 8 - matrices)
    matrix_free = 3 * 8 if method == "chebyshev" else 0.0  # two padded iterates and diag(A)
    return vectors + matrices + work_space + hierarchy + matrix_free
