"""Command line: ``hybridsim run|check|plot``.

Launched as ``mpirun -n 4 hybridsim run CONFIG [options] [PETSc options]``.
Options that start with a single dash and have a name longer than one letter
(``-rd_ksp_type cg``, ``-log_view``) go to PETSc; put them after CONFIG.

Exit codes: 0 success, 2 bad input, 3 the run could not continue, 4 stopped by
SIGTERM/SIGUSR1 after writing a checkpoint, 1 internal error. Messages are printed once, by rank 0, as ``error: …``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import traceback

from . import __version__
from .errors import HybridsimError, InputError, StorageError

_PETSC_OPTION = re.compile(r"^-[A-Za-z][A-Za-z0-9_]+$")
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _comm():
    from mpi4py import MPI

    return MPI.COMM_WORLD


def split_petsc_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """Separate PETSc options (``-name [value]``) from hybridsim's own arguments.

    A token after a PETSc option is its value unless it starts with ``-`` (and
    is not a number)."""
    own, petsc = [], []
    i = 0
    while i < len(argv):
        token = argv[i]
        if _PETSC_OPTION.match(token):
            petsc.append(token)
            if i + 1 < len(argv) and (not argv[i + 1].startswith("-") or _NUMBER.match(argv[i + 1])):
                petsc.append(argv[i + 1])
                i += 1
        else:
            own.append(token)
        i += 1
    return own, petsc


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every option of ``parser`` and of its sub-commands."""
    options = []
    for action in parser._actions:
        options += action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                options += _option_strings(sub)
    return options


class _Parser(argparse.ArgumentParser):
    """Raises :class:`InputError` instead of exiting, and prints help on rank 0 only."""

    def error(self, message):
        if message.startswith("unrecognized arguments:"):
            import difflib

            options = _option_strings(self)
            for word in message.split(":", 1)[1].split():
                close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
                if word.startswith("-") and close:
                    message += f" (did you mean {close[0]}?)"
                    break
        raise InputError(f"{self.prog}: {message}")

    def _print_message(self, message, file=None):
        if message and _comm().rank == 0:
            (file or sys.stdout).write(message)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hybridsim",
        description="Distributed hybrid multiscale tissue simulator. Launch with "
        "`mpirun -n N hybridsim run CONFIG` (or `srun hybridsim run CONFIG`).",
        epilog="Units: µm, min, concentration in molecules/µm³ (or nM), D in µm²/min, rates in 1/min. "
        "Exit codes: 0 ok, 2 bad input, 3 run failed, 4 stopped by a signal (checkpoint written), "
        "1 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"hybridsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser(
        "run",
        help="run a simulation",
        description="Run the simulation in CONFIG. Any PETSc option may follow, e.g. "
        "-rd_ksp_type cg -rd_pc_type gamg -log_view ('-rd_' applies to every species' "
        "reaction-diffusion solver, '-rd_<species>_' to one).",
    )
    run.add_argument("config", metavar="CONFIG", help="TOML config file (see docs/config.md)")
    run.add_argument("-o", "--output", metavar="OUTDIR", help="output directory (default: output.directory)")
    run.add_argument("--t-end", type=_positive_float, metavar="T", help="end time in min (overrides time.t_end)")
    run.add_argument("--steps", type=_positive_int, metavar="N", help="run exactly N steps of time.dt")
    run.add_argument("--seed", type=_seed, metavar="S", help="random seed (overrides seed)")
    run.add_argument("--restart", metavar="latest|PATH",
                     help="continue from the newest valid checkpoint (latest) or from PATH, on any number of ranks")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    run.set_defaults(func=cmd_run)

    inspect = sub.add_parser(
        "inspect",
        help="print what a checkpoint holds and verify it",
        description="Print a checkpoint's step, time, seed, config hash, field integrals, agent count and "
        "molecules per species, and verify every checksum (exit code 3 if one fails).",
    )
    inspect.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint-<step>.h5 file")
    inspect.set_defaults(func=cmd_inspect)

    check = sub.add_parser(
        "check",
        help="validate a config and print its derived scales",
        description="Validate CONFIG and print, per species, the decay length ℓ = √(D/k), the "
        "Damköhler number Da = (L/ℓ)², the diffusion time L²/D and the stiffness of a step; "
        "then grid size, cells per rank and a memory estimate.",
    )
    check.add_argument("config", metavar="CONFIG")
    check.add_argument("--ranks", type=_positive_int, metavar="N",
                       help="estimate per-rank figures for N ranks (default: the MPI size)")
    check.set_defaults(func=cmd_check)

    ssa = sub.add_parser(
        "ssa",
        help="simulate independent cells of a reaction network exactly (well-mixed)",
        description="Simulate N independent, well-mixed cells running NETWORK with Gillespie's direct "
        "method from the declared initial counts, and write the counts at t = 0, D, 2D, …, T to an "
        "HDF5 file (dataset counts: (outputs, cells, species); time: (outputs,), min). Runs in parallel "
        "under mpirun (cells are split between ranks; results do not depend on the rank count).",
    )
    ssa.add_argument("network", metavar="NETWORK", help="network file: TOML (see docs/networks.md) or SBML (.xml)")
    ssa.add_argument("--cells", type=_positive_int, required=True, metavar="N", help="number of cells")
    ssa.add_argument("--t-end", type=_positive_float, required=True, metavar="T", help="end time, min")
    ssa.add_argument("--dt-out", type=_positive_float, required=True, metavar="D", help="output interval, min")
    ssa.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    ssa.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                     help="concentration of a field that modulates a rate (repeatable)")
    ssa.add_argument("--tau-leaping", action="store_true",
                     help="approximate tau-leaping (exact events at low copy numbers) instead of exact SSA")
    ssa.add_argument("--hybrid", action="store_true",
                     help="partitioned: reactions changing only species with ≥ --threshold molecules are leaped, "
                     "the others fire exactly")
    ssa.add_argument("--threshold", type=_positive_int, default=None, metavar="N",
                     help="hybrid: molecules from which a species counts as high-copy (default 200)")
    ssa.add_argument("--epsilon", type=_positive_float, default=None, metavar="E",
                     help="tau-leaping and hybrid: bound on a species' relative change per leap (default 0.01)")
    ssa.add_argument("-o", "--output", default="ssa.h5", metavar="FILE", help="HDF5 output file (default ssa.h5)")
    ssa.add_argument("--quiet", action="store_true", help="print nothing but errors")
    ssa.set_defaults(func=cmd_ssa)

    from .analysis.commands import add_parser as add_analyze

    add_analyze(sub, _Parser, _positive_float, _positive_int)

    plot = sub.add_parser(
        "plot",
        help="draw PNG images of a run's fields and agents",
        description="Write PNG images of OUTDIR/fields.h5 and OUTDIR/agents.h5 to OUTDIR/plots. Fields: "
        "1D profiles over time, 2D maps, the mid-plane z slice of 3D. Agents: positions coloured by a "
        "species, and time series of the agent count and each species' mean and Fano factor.",
    )
    plot.add_argument("outdir", metavar="OUTDIR", help="output directory of a run")
    plot.add_argument("--species", action="append", metavar="NAME", help="only this species (repeatable)")
    plot.add_argument("--all", action="store_true", help="one image per output time, not just the last")
    plot.add_argument("--color", metavar="SPECIES", help="network species that colours the agents (default: the last)")
    plot.set_defaults(func=cmd_plot)
    return parser


def _say(comm, text: str, quiet: bool = False) -> None:
    if comm.rank == 0 and not quiet:
        print(text, flush=True)


EXIT_STOPPED = 4
"""Exit code of a run stopped by SIGTERM or SIGUSR1 after writing a checkpoint."""


class _StopSignals:
    """Remembers SIGTERM/SIGUSR1 (as Slurm's ``--signal`` sends them): the run
    finishes its step, writes a checkpoint and exits with :data:`EXIT_STOPPED`."""

    def __init__(self):
        import signal

        self.received = None
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        self.received = signum

    def __call__(self) -> bool:
        return self.received is not None


def cmd_run(args, petsc_args: list[str]) -> int:
    from .parallel.petsc import init

    init(petsc_args)
    from .io.checkpoint import checkpoint_directory, restore, restore_latest
    from .io.output import XDMF_FILE, RunOutput
    from .io.summary import SUMMARY_FILE, SummaryWriter
    from .parallel.collective import agree, load_config
    from .progress import Progress
    from .simulation import Simulation, with_overrides

    comm = _comm()
    stop = _StopSignals()
    config = load_config(args.config, comm)
    config = with_overrides(config, t_end=args.t_end, steps=args.steps, seed=args.seed,
                            output_dir=args.output)
    sim = Simulation(config, comm, place_agents=args.restart is None)

    def warn(text):
        if comm.rank == 0:
            print(f"warning: {text}", file=sys.stderr, flush=True)

    restart_step = None
    if args.restart is not None:
        if args.restart == "latest":
            path = restore_latest(sim, checkpoint_directory(config), warn)
        else:
            path = args.restart
            restore(sim, path)
        restart_step = sim.step_index
        _say(comm, f"restarted from {path}: step {sim.step_index}, t = {sim.t:g} min"
                   + (f", {sim.agent_total} agents" if sim.population is not None else ""), args.quiet)
    names = list(config.output.fields) or [s.name for s in config.species]
    _say(comm, f"hybridsim {__version__}: {args.config} on {comm.size} rank(s), "
               f"{'×'.join(map(str, config.domain.cells))} cells, {len(config.species)} species, "
               f"{config.time.n_steps} steps to t = {config.time.t_end:g} min", args.quiet)
    for name, solver in sim.solvers.items():
        _say(comm, f"  species {name}: {solver.method} preconditioner (options prefix -{solver.prefix})",
             args.quiet)
    if sim.population is not None:
        _say(comm, f"  agents: {sim.agent_total}, network of {config.network.n_species} species and "
                   f"{len(config.network.reactions)} reactions ({config.agents.method}), "
                   f"motility {config.agents.motility.kind}", args.quiet)
    if sim.mechanics is not None:
        m = config.mechanics
        vertices = math.prod(n + 1 for n in config.domain.cells)
        _say(comm, f"  mechanics: {m.model.replace('_', ' ')}, {vertices * config.domain.dim} unknowns, "
                   f"CG + {'geometric multigrid' if sim.mechanics.method == 'multigrid' else 'GAMG'} "
                   f"(options prefix -mech_), every {m.interval} step(s); "
                   f"set up in {sim.mechanics.setup_seconds:.2f} s", args.quiet)
    output = agree(sim.comm, RunOutput, sim, config.output.directory, names, restart_step=restart_step, warn=warn)
    summary = SummaryWriter(comm, output.directory, restart_step=restart_step)
    try:
        outcome = sim.run(output, Progress(config.time.t_end, enabled=not args.quiet and comm.rank == 0), summary,
                          checkpoints=True, stop_requested=stop, restarted=restart_step is not None)
    except StorageError:
        summary.close()
        raise  # the HDF5 files cannot be closed safely; main() ends the processes
    except HybridsimError:
        output.close()  # raised on every rank alike, so closing (collective) is safe
        summary.close()
        raise
    output.close()
    summary.close()
    out = output.directory
    if outcome == "stopped":
        _say(comm, f"stopped by a signal at t = {sim.t:g} min (step {sim.step_index}); checkpoint "
                   f"{sim.last_checkpoint}\ncontinue with: hybridsim run {args.config} --restart latest", args.quiet)
        sim.destroy()
        return EXIT_STOPPED
    lines = [f"done: t = {sim.t:g} min after {sim.step_index} steps"]
    if output.fields is not None:
        lines += [f"output: {out / 'fields.h5'} (HDF5, natural grid order)",
                  f"open in ParaView: paraview {out / XDMF_FILE}"]
    if output.agents is not None:
        lines += [f"agents: {sim.agent_total} at the end, in {out / 'agents.h5'} (HDF5, keyed by id)"]
        if config.domain.dim > 1:
            lines += [f"open in ParaView: paraview {out / 'agents.xdmf'}"]
    if output.mechanics is not None:
        lines += [f"mechanics: {out / 'mechanics.h5'} (displacement, strain, stress)"]
        if config.domain.dim > 1:
            lines += [f"open in ParaView: paraview {out / 'mechanics.xdmf'}"]
    lines += [f"per-step summary: {out / SUMMARY_FILE}"]
    if sim.last_checkpoint is not None:
        lines += [f"checkpoint: {sim.last_checkpoint}"]
    else:
        lines += [f"nothing to do: the checkpoint is already at t_end = {config.time.t_end:g} min"]
    lines += [f"or draw PNGs: hybridsim plot {out}"]
    _say(comm, "\n".join(lines), args.quiet)
    sim.destroy()
    return 0


def cmd_inspect(args, petsc_args: list[str]) -> int:
    from .io.checkpoint import describe

    comm = _comm()
    if comm.rank == 0:
        lines = describe(args.checkpoint)
        print("\n".join(lines))
        return 0 if lines[-1].endswith("all valid") else 3
    return 0


def cmd_check(args, petsc_args: list[str]) -> int:
    from .config import load_config

    comm = _comm()
    config = load_config(args.config)
    ranks = args.ranks or comm.size
    if comm.rank != 0:
        return 0
    d = config.domain
    print(f"{args.config}: valid")
    print(f"domain: {d.dim}D, {' × '.join(f'{s:g}' for s in d.size)} µm, "
          f"{' × '.join(map(str, d.cells))} = {d.n_cells} cells, h = {' × '.join(f'{h:g}' for h in d.spacing)} µm"
          + (f", periodic in {', '.join(a for a, p in zip('xyz', d.periodic) if p)}" if any(d.periodic) else ""))
    t = config.time
    print(f"time: dt = {t.dt:g} min, t_end = {t.t_end:g} min, {t.n_steps} steps, {t.scheme.replace('_', ' ')}")
    if config.species:
        _print_field_scales(config, ranks)
    if config.agents is not None:
        _print_agents(config, ranks)
    if config.mechanics is not None:
        _print_mechanics(config, ranks)
    _print_lens(config)
    return 0


def _print_lens(config) -> None:
    """Which treatment each species' molecule numbers call for (hybridsim analyze lens)."""
    from .analysis.lens import field_lens, network_lens, network_method, typical_fields

    lines = []
    if config.network is not None:
        fields = {name: value for name, (value, _) in typical_fields(config).items()}
        try:
            lenses = network_lens(config.network, fields)
            for s in lenses:
                lines.append(f"  {s.name}: {s.method} — {s.reason}")
            method, why = network_method(lenses)
            verdict = "as configured" if method == config.agents.method else f"configured: {config.agents.method!r}"
            lines.append(f"  network: agents.method = {method!r} ({verdict}) — {why}")
        except (RuntimeError, InputError) as exc:  # the lens is advice: never fail the check on it
            lines.append(f"  (network species: no estimate: {exc})")
    for s in field_lens(config):
        lines.append(f"  field {s.name}: {s.method} — {s.reason}")
    if lines:
        print("lens (typical molecule numbers → treatment; `hybridsim analyze lens` for more):")
        print("\n".join(lines))


def _print_mechanics(config, ranks: int) -> None:
    import numpy as np

    from .mechanics.elasticity import lame

    m, d = config.mechanics, config.domain
    E = np.array(m.E.all_values())
    nu = np.array(m.nu.all_values()) if d.dim > 1 else np.zeros(1)
    E_grid, nu_grid = np.meshgrid(E, nu)
    lam, mu = lame(E_grid, nu_grid, m.model)
    # isotropic free contraction per unit concentration: ε = −α c / (dim·K), K the model's bulk modulus
    bulk = E_grid if d.dim == 1 else (d.dim * lam + 2 * mu) / d.dim
    def span(values) -> str:
        lo, hi = float(np.min(values)), float(np.max(values))
        return f"{lo:.4g}" if lo == hi else f"{lo:.4g}–{hi:.4g}"

    print(f"mechanics: {m.model.replace('_', ' ')}, E = {span(E)} Pa" + (f", ν = {span(nu)}" if d.dim > 1 else "")
          + f"; λ = {span(lam)} Pa, μ = {span(mu)} Pa")
    faces = ", ".join(f"{ax}: {lo.kind}/{hi.kind}" for ax, (lo, hi) in zip("xyz", m.boundary))
    print(f"  boundaries (low/high face): {faces}")
    if m.active is not None:
        a = m.active
        kind = "isotropic" if a.fibre is None else f"along fibre {tuple(round(v, 4) for v in a.fibre)}"
        print(f"  active stress {a.alpha:g}·{a.field} Pa ({kind}); a free, uniform tissue strains by "
              f"{span(-a.alpha / (d.dim * bulk))} per unit of {a.field} (isotropic case)")
    vertices = math.prod(n + 1 for n in d.cells)
    unknowns = vertices * d.dim
    # AIJ with 3^dim·dim entries per row (12 bytes each), ~2× that for GAMG's hierarchy, 6 vectors
    per_unknown = (3**d.dim * d.dim * 12 + 8) * 3 + 6 * 8
    print(f"  {unknowns} unknowns (~{math.ceil(unknowns / ranks)} per rank), solved every {m.interval} step(s); "
          f"memory ~{per_unknown * unknowns / 2**20:.1f} MiB in total")


def _print_field_scales(config, ranks: int) -> None:
    from .analysis.scales import species_scales
    from .fields.solvers import JACOBI_LIMIT, memory_per_cell

    d = config.domain
    L = max(d.size)
    print(f"scales (L = {L:g} µm, the largest extent; k includes uptake vmax/km and by cells ρ·u):")
    print(f"  {'species':<14}{'D µm²/min':>12}{'k 1/min':>11}{'ℓ=√(D/k) µm':>14}"
          f"{'Da=(L/ℓ)²':>12}{'L²/D min':>11}{'ν=DΔtΣh⁻²':>12}  solver")

    def rng(lo, hi):
        same = lo == hi or (math.isinf(lo) and math.isinf(hi))
        return f"{lo:.4g}" if same else f"{lo:.4g}–{hi:.4g}"

    for s in config.species:
        sc = species_scales(config, s)
        method = "jacobi-cg" if sc.diffusion_number <= JACOBI_LIMIT else "multigrid-cg"
        print(f"  {s.name:<14}{rng(sc.D_min, sc.D_max):>12}{rng(sc.k_min, sc.k_max):>11}"
              f"{rng(sc.decay_length_min, sc.decay_length_max):>14}{rng(sc.damkohler_min, sc.damkohler_max):>12}"
              f"{sc.diffusion_time:>11.4g}{sc.diffusion_number:>12.4g}  {method}")
    from .analysis.scales import cell_uptake_rate, decay_length

    for s in config.species:
        rho, k_cells = cell_uptake_rate(config, s.name)
        if k_cells > 0:
            D = min(s.diffusivities())
            print(f"  {s.name}: cells at ρ = {rho:.4g} per µm^{d.dim} clear Σu = {k_cells / rho:.4g} µm^{d.dim}/min "
                  f"each: k_eff = ρ·u = {k_cells:.4g} 1/min, ℓ = √(D/k_eff) = {decay_length(D, k_cells):.4g} µm "
                  f"(continuum limit)")
    n_species = len(config.species)
    per_rank = math.ceil(d.n_cells / ranks)
    mem = memory_per_cell(d.dim) * n_species
    print(f"parallel: {ranks} rank(s), ~{per_rank} cells and {per_rank * n_species} unknowns per rank")
    print(f"memory: ~{mem * d.n_cells / 2**20:.1f} MiB in total, ~{mem * per_rank / 2**20:.1f} MiB per rank "
          f"(fields, matrices and multigrid; ~{mem:.0f} bytes per cell)")


def _print_agents(config, ranks: int) -> None:
    from .agents import placement
    from .agents.store import GROWTH, column_bytes
    from .agents.well_mixed import describe

    a, net, d = config.agents, config.network, config.domain
    print(f"network ({net.source}): {net.n_species} species, {len(net.reactions)} reactions, exact SSA per cell")
    for line in describe(net):
        print("  " + line)
    n = sum(placement.count(p, d.size) for p in a.placements)
    kinds = ", ".join(p.kind for p in a.placements)
    print(f"agents: {n} initially ({kinds}); motility {a.motility.kind}; "
          f"division {'on' if a.division.active else 'off'}; death {'on' if a.death.active else 'off'}")
    faces = ", ".join(f"{ax}: {lo}/{hi}" for ax, (lo, hi) in zip("xyz", a.boundary))
    print(f"  boundaries (low/high face): {faces}")
    columns = column_bytes(d.dim, net.n_species, a.motility.kind == "persistent")
    per_agent = sum(columns.values())
    parts = ", ".join(f"{name} {b}" for name, b in columns.items())
    per_rank = math.ceil(n / ranks)
    print(f"  memory per agent: {per_agent} bytes ({parts}); up to {per_agent * GROWTH:.0f} with spare capacity")
    print(f"  ~{per_rank} agents and ~{per_agent * per_rank * GROWTH / 2**20:.1f} MiB per rank on {ranks} rank(s) "
          f"(if spread evenly)")


def name_values(items: list[str], what: str, *, minimum: float | None = None) -> dict[str, float]:
    """``NAME=VALUE`` options (each may hold several, comma-separated) as a dict;
    ``what`` names the option in the one-line error."""
    out = {}
    for item in items:
        for part in item.split(","):
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or not name:
                raise InputError(f"{what} expects NAME=VALUE, got {part!r}")
            try:
                out[name] = float(value)
            except ValueError:
                raise InputError(f"{what} expects NAME=VALUE with a number, got {part!r}") from None
            if minimum is not None and not out[name] >= minimum:
                raise InputError(f"{what} {name} must be ≥ {minimum:g} (got {value})")
    return out


def cmd_ssa(args, petsc_args: list[str]) -> int:
    import time

    import numpy as np

    from .agents.config import DEFAULT_EPSILON
    from .agents.network import load_network
    from .agents.partitioned import DEFAULT_THRESHOLD
    from .agents.placement import block
    from .agents.well_mixed import describe, simulate_cells
    from .io.hdf5 import open_file
    from .parallel.collective import agree

    comm = _comm()
    if args.dt_out > args.t_end:
        raise InputError(f"hybridsim ssa: --dt-out ({args.dt_out:g}) must not exceed --t-end ({args.t_end:g})")
    if args.tau_leaping and args.hybrid:
        raise InputError("hybridsim ssa: choose one of --tau-leaping and --hybrid")
    if args.epsilon is not None and not (args.tau_leaping or args.hybrid):
        raise InputError("hybridsim ssa: --epsilon only applies with --tau-leaping or --hybrid")
    if args.threshold is not None and not args.hybrid:
        raise InputError("hybridsim ssa: --threshold only applies with --hybrid")
    if args.epsilon is not None and not args.epsilon < 1:
        raise InputError(f"hybridsim ssa: --epsilon must be < 1 (got {args.epsilon:g})")
    method = "tau-leaping" if args.tau_leaping else "hybrid" if args.hybrid else "exact"
    fields = name_values(args.field, "hybridsim ssa: --field", minimum=0.0)
    network = agree(comm, load_network, args.network)
    n_out = math.floor(args.t_end / args.dt_out * (1 + 1e-12))
    times = np.append(np.arange(n_out + 1) * args.dt_out, [args.t_end] if n_out * args.dt_out < args.t_end else [])
    times[-1] = min(times[-1], args.t_end)
    start, stop = block(args.cells, comm.rank, comm.size)
    f = agree(comm, open_file, args.output, "w", comm)  # before the work, so a bad path costs nothing
    _say(comm, f"hybridsim ssa: {args.network}: {args.cells} cells on {comm.size} rank(s), "
               f"t = 0…{args.t_end:g} min, {times.size} outputs, {method}", args.quiet)
    for line in describe(network):
        _say(comm, "  " + line, args.quiet)
    wall = time.perf_counter()
    counts, events = agree(comm, simulate_cells, network, np.arange(start, stop, dtype=np.int64), times,
                           args.seed, fields, method=method, epsilon=args.epsilon or DEFAULT_EPSILON,
                           threshold=args.threshold or DEFAULT_THRESHOLD)
    wall = comm.allreduce(time.perf_counter() - wall, op=_mpi_max())
    events = comm.allreduce(events)
    f.attrs["hybridsim_version"] = __version__
    f.attrs["species"] = np.array(network.species, dtype="S")
    f.attrs["seed"] = args.seed
    f.attrs["network"] = str(args.network)
    f.attrs["method"] = method
    f.create_dataset("time", data=times)
    ds = f.create_dataset("counts", shape=(times.size, args.cells, network.n_species), dtype="i8")
    if stop > start:
        ds[:, start:stop, :] = counts
    f.close()
    final = counts[-1].astype(float)
    sums = comm.allreduce(np.stack([final.sum(axis=0), (final**2).sum(axis=0)]))
    mean = sums[0] / args.cells
    var = sums[1] / args.cells - mean**2
    _say(comm, f"{events} reaction events in {wall:.3g} s ({events / max(wall, 1e-12) / comm.size:.3g} per s per rank)",
         args.quiet)
    _say(comm, f"at t = {times[-1]:g} min over {args.cells} cells:", args.quiet)
    for s, name in enumerate(network.species):
        fano = var[s] / mean[s] if mean[s] > 0 else float("nan")
        _say(comm, f"  {name:<12} mean {mean[s]:<12.6g} variance {var[s]:<12.6g} Fano {fano:.4g}", args.quiet)
    _say(comm, f"output: {args.output}", args.quiet)
    return 0


def _mpi_max():
    from mpi4py import MPI

    return MPI.MAX


def cmd_plot(args, petsc_args: list[str]) -> int:
    from .io.plot import plot_run

    comm = _comm()
    written = []
    if comm.rank == 0:
        written = plot_run(args.outdir, species=args.species, every_output=args.all, color=args.color)
    for path in written:
        print(path)
    return 0


def _end_without_closing_files(code: int) -> None:
    """End every rank now, skipping the interpreter's shutdown and MPI_Finalize:
    both would wait for HDF5/MPI-IO files whose collective close cannot complete
    after a failed write. Every rank gets here (the error was agreed on)."""
    from mpi4py import MPI

    sys.stdout.flush()
    sys.stderr.flush()
    MPI.COMM_WORLD.Barrier()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        own, petsc_args = split_petsc_options(argv)
        parser = build_parser()
        args = parser.parse_args(own)
        if args.command is None:
            parser.print_help()
            return 2
        if petsc_args and args.command != "run":
            raise InputError(f"hybridsim {args.command}: PETSc options ({petsc_args[0]} …) only apply to 'run'")
        return args.func(args, petsc_args)
    except HybridsimError as exc:
        if _comm().rank == 0:
            print(f"error: {exc}", file=sys.stderr, flush=True)
        if isinstance(exc, StorageError):
            _end_without_closing_files(exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: show it, and do not leave other ranks waiting
        comm = _comm()
        sys.stderr.write(f"[rank {comm.rank}] internal error in hybridsim {__version__}:\n")
        traceback.print_exc()
        sys.stderr.flush()
        if comm.size > 1:
            comm.Abort(1)
        return 1


if __name__ == "__main__":
    sys.exit(main())
