"""``hybridsim run CONFIG``: a simulation, with output, summaries, checkpoints,
restarts and stopping on SIGTERM/SIGUSR1."""

from __future__ import annotations

import math
import sys

from .. import __version__
from ..errors import HybridsimError, InputError, StorageError
from .arguments import positive_float, positive_int, say, seed, subcommand, world

EXIT_STOPPED = 4
"""Exit code of a run stopped by SIGTERM or SIGUSR1 after writing a checkpoint."""


def add_parser(sub) -> None:
    run = subcommand(sub, "run", cmd_run, help="run a simulation",
                      description="Run the simulation in CONFIG. Any PETSc option may follow, e.g. "
                      "-rd_ksp_type cg -rd_pc_type gamg -log_view ('-rd_' applies to every species' "
                      "reaction-diffusion solver, '-rd_<species>_' to one).")
    run.add_argument("config", metavar="CONFIG", help="TOML config file (see docs/config.md)")
    run.add_argument("-o", "--output", metavar="OUTDIR", help="output directory (default: output.directory)")
    run.add_argument("--t-end", type=positive_float, metavar="T", help="end time in min (overrides time.t_end)")
    run.add_argument("--steps", type=positive_int, metavar="N", help="run exactly N steps of time.dt")
    run.add_argument("--seed", type=seed, metavar="S", help="random seed (overrides seed)")
    run.add_argument("--restart", metavar="latest|PATH",
                     help="continue from the newest valid checkpoint (latest) or from PATH, on any number of ranks")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")


class StopSignals:
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


def _describe_run(comm, args, config, sim) -> None:
    say(comm, f"hybridsim {__version__}: {args.config} on {comm.size} rank(s), "
              f"{'×'.join(map(str, config.domain.cells))} cells, {len(config.species)} species, "
              f"{config.time.n_steps} steps to t = {config.time.t_end:g} min", args.quiet)
    for name, solver in sim.solvers.items():
        say(comm, f"  species {name}: {solver.method} preconditioner (options prefix -{solver.prefix})", args.quiet)
    if sim.population is not None:
        say(comm, f"  agents: {sim.agent_total}, network of {config.network.n_species} species and "
                  f"{len(config.network.reactions)} reactions ({config.agents.method}), "
                  f"motility {config.agents.motility.kind}", args.quiet)
    if sim.mechanics is not None:
        m = config.mechanics
        vertices = math.prod(n + 1 for n in config.domain.cells)
        say(comm, f"  mechanics: {m.model.replace('_', ' ')}, {vertices * config.domain.dim} unknowns, "
                  f"CG + {'geometric multigrid' if sim.mechanics.method == 'multigrid' else 'GAMG'} "
                  f"(options prefix -mech_), every {m.interval} step(s); "
                  f"set up in {sim.mechanics.setup_seconds:.2f} s", args.quiet)


def _describe_results(args, config, sim, output) -> str:
    from ..io.output import XDMF_FILE
    from ..io.summary import SUMMARY_FILE

    out = output.directory
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
    return "\n".join(lines)


def cmd_run(args, petsc_args: list[str]) -> int:
    from ..parallel.petsc import init

    init(petsc_args)
    from ..config import with_overrides
    from ..io.checkpoint import checkpoint_directory, read_checkpoint, read_latest
    from ..io.output import RunOutput
    from ..io.summary import SummaryWriter
    from ..parallel.collective import agree, load_config
    from ..progress import Progress
    from ..simulation import Simulation

    comm = world()
    if args.steps is not None and args.t_end is not None:
        raise InputError("hybridsim run: give --steps or --t-end, not both")
    stop = StopSignals()
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
            path, state = read_latest(sim, checkpoint_directory(config), warn)
        else:
            path = args.restart
            state = read_checkpoint(sim, path)
        sim.restore(state)
        restart_step = sim.step_index
        say(comm, f"restarted from {path}: step {sim.step_index}, t = {sim.t:g} min"
                  + (f", {sim.agent_total} agents" if sim.population is not None else ""), args.quiet)
    names = list(config.output.fields) or [s.name for s in config.species]
    _describe_run(comm, args, config, sim)
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
    if outcome == "stopped":
        say(comm, f"stopped by a signal at t = {sim.t:g} min (step {sim.step_index}); checkpoint "
                  f"{sim.last_checkpoint}\ncontinue with: hybridsim run {args.config} --restart latest", args.quiet)
        sim.destroy()
        return EXIT_STOPPED
    say(comm, _describe_results(args, config, sim, output), args.quiet)
    sim.destroy()
    return 0
