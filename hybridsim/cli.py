"""Command line: ``hybridsim run|check|plot``.

Launched as ``mpirun -n 4 hybridsim run CONFIG [options] [PETSc options]``.
Options that start with a single dash and have a name longer than one letter
(``-rd_ksp_type cg``, ``-log_view``) go to PETSc; put them after CONFIG.

Exit codes: 0 success, 2 bad input, 3 the run could not continue, 1 internal
error. Messages are printed once, by rank 0, as ``error: …``.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import traceback

from . import __version__
from .errors import HybridsimError, InputError

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
        "Exit codes: 0 ok, 2 bad input, 3 run failed, 1 internal error.",
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
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    run.set_defaults(func=cmd_run)

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

    plot = sub.add_parser(
        "plot",
        help="draw PNG images of a run's fields",
        description="Write PNG images of the fields in OUTDIR/fields.h5 to OUTDIR/plots "
        "(1D: profiles over time; 2D: maps; 3D: the mid-plane z slice).",
    )
    plot.add_argument("outdir", metavar="OUTDIR", help="output directory of a run")
    plot.add_argument("--species", action="append", metavar="NAME", help="only this species (repeatable)")
    plot.add_argument("--all", action="store_true", help="one image per output time, not just the last")
    plot.set_defaults(func=cmd_plot)
    return parser


def _say(comm, text: str, quiet: bool = False) -> None:
    if comm.rank == 0 and not quiet:
        print(text, flush=True)


def cmd_run(args, petsc_args: list[str]) -> int:
    from .parallel.petsc import init

    init(petsc_args)
    from .io.output import XDMF_FILE, RunOutput
    from .parallel.collective import agree, load_config
    from .progress import Progress
    from .simulation import Simulation, with_overrides

    comm = _comm()
    config = load_config(args.config, comm)
    config = with_overrides(config, t_end=args.t_end, steps=args.steps, seed=args.seed,
                            output_dir=args.output)
    sim = Simulation(config, comm)
    names = list(config.output.fields) or [s.name for s in config.species]
    _say(comm, f"hybridsim {__version__}: {args.config} on {comm.size} rank(s), "
               f"{'×'.join(map(str, config.domain.cells))} cells, {len(config.species)} species, "
               f"{config.time.n_steps} steps to t = {config.time.t_end:g} min", args.quiet)
    for name, solver in sim.solvers.items():
        _say(comm, f"  species {name}: {solver.method} preconditioner (options prefix -{solver.prefix})",
             args.quiet)
    if sim.population is not None:
        _say(comm, f"  agents: {sim.agent_total}, network of {config.network.n_species} species and "
                   f"{len(config.network.reactions)} reactions (exact SSA), "
                   f"motility {config.agents.motility.kind}", args.quiet)
    output = agree(sim.comm, RunOutput, sim, config.output.directory, names)
    try:
        sim.run(output, Progress(config.time.t_end, enabled=not args.quiet and comm.rank == 0))
    except HybridsimError:
        output.close()  # raised on every rank alike, so closing (collective) is safe
        raise
    output.close()
    out = output.directory
    lines = [f"done: t = {sim.t:g} min after {sim.step_index} steps"]
    if output.fields is not None:
        lines += [f"output: {out / 'fields.h5'} (HDF5, natural grid order)",
                  f"open in ParaView: paraview {out / XDMF_FILE}"]
    if output.agents is not None:
        lines += [f"agents: {sim.agent_total} at the end, in {out / 'agents.h5'} (HDF5, keyed by id)"]
        if config.domain.dim > 1:
            lines += [f"open in ParaView: paraview {out / 'agents.xdmf'}"]
    lines += [f"or draw PNGs: hybridsim plot {out}"]
    _say(comm, "\n".join(lines), args.quiet)
    sim.destroy()
    return 0


def cmd_check(args, petsc_args: list[str]) -> int:
    from .analysis.scales import species_scales
    from .config import load_config
    from .fields.solvers import memory_per_cell

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
    L = max(d.size)
    print(f"scales (L = {L:g} µm, the largest extent; k includes uptake vmax/km):")
    print(f"  {'species':<14}{'D µm²/min':>12}{'k 1/min':>11}{'ℓ=√(D/k) µm':>14}"
          f"{'Da=(L/ℓ)²':>12}{'L²/D min':>11}{'ν=DΔtΣh⁻²':>12}  solver")

    def rng(lo, hi):
        same = lo == hi or (math.isinf(lo) and math.isinf(hi))
        return f"{lo:.4g}" if same else f"{lo:.4g}–{hi:.4g}"

    from .fields.solvers import JACOBI_LIMIT

    for s in config.species:
        sc = species_scales(config, s)
        method = "jacobi-cg" if sc.diffusion_number <= JACOBI_LIMIT else "multigrid-cg"
        print(f"  {s.name:<14}{rng(sc.D_min, sc.D_max):>12}{rng(sc.k_min, sc.k_max):>11}"
              f"{rng(sc.decay_length_min, sc.decay_length_max):>14}{rng(sc.damkohler_min, sc.damkohler_max):>12}"
              f"{sc.diffusion_time:>11.4g}{sc.diffusion_number:>12.4g}  {method}")
    n_species = len(config.species)
    per_rank = math.ceil(d.n_cells / ranks)
    mem = memory_per_cell(d.dim) * n_species
    print(f"parallel: {ranks} rank(s), ~{per_rank} cells and {per_rank * n_species} unknowns per rank")
    print(f"memory: ~{mem * d.n_cells / 2**20:.1f} MiB in total, ~{mem * per_rank / 2**20:.1f} MiB per rank "
          f"(fields, matrices and multigrid; ~{mem:.0f} bytes per cell)")
    return 0


def cmd_plot(args, petsc_args: list[str]) -> int:
    from .io.plot import plot_run

    comm = _comm()
    written = plot_run(args.outdir, species=args.species, every_output=args.all) if comm.rank == 0 else []
    for path in written:
        print(path)
    return 0


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
