"""``hybridsim run CONFIG``: a simulation, with output, summaries, checkpoints,
restarts and stopping on SIGTERM/SIGUSR1."""

from __future__ import annotations

import math
import os
import signal
import sys

from .. import __version__
from ..errors import HybridsimError, InputError, StorageError
from .arguments import positive_float, positive_int, say, seed, subcommand, world

EXIT_STOPPED = 4
"""Exit code of a run stopped by SIGTERM or SIGUSR1 after writing a checkpoint."""
EXIT_FORCED = 5
"""Exit code of a run stopped at once, without a new checkpoint: by a second signal,
or because the step was still running the grace time after the first."""
STOP_GRACE = 60.0
"""Seconds a step may still take after SIGTERM/SIGUSR1 (``HYBRIDSIM_STOP_GRACE``)."""


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
    run.add_argument("--no-memory-check", action="store_true",
                     help="start even if the memory estimate (what check prints) exceeds what this node has free")


def stop_grace() -> float:
    """The grace time in seconds: ``HYBRIDSIM_STOP_GRACE`` or :data:`STOP_GRACE`."""
    text = os.environ.get("HYBRIDSIM_STOP_GRACE")
    if text is None:
        return STOP_GRACE
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise InputError(f"HYBRIDSIM_STOP_GRACE must be a positive number of seconds (got {text!r})")
    return value


class StopSignals:
    """SIGTERM/SIGUSR1 (as Slurm's ``--signal`` sends them): the run finishes its step,
    writes a checkpoint and exits with :data:`EXIT_STOPPED`. A second signal, or the
    step still running ``grace`` seconds after the first, ends the run at once with
    :data:`EXIT_FORCED` and one ``error:`` line (the previous checkpoints are intact).

    Python acts on a signal between two operations of the interpreter, so the stop
    comes within one kernel call or linear solve, however long the step. Two signals
    that arrive during one such call are told apart by the bytes the interpreter's
    C-level handler writes to a wakeup pipe for every arrival."""

    _STOPPING = (signal.SIGTERM, signal.SIGUSR1)

    def __init__(self, comm, grace: float, quiet: bool = False):
        self.received = None
        self.grace = grace
        self.rank = comm.rank
        self.quiet = quiet
        self._arrivals, wakeup = os.pipe()
        for fd in (self._arrivals, wakeup):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wakeup, warn_on_full_buffer=False)
        for sig in self._STOPPING:
            signal.signal(sig, self._first)
        signal.signal(signal.SIGALRM, self._too_late)

    def _arrived(self) -> int:
        """Stopping signals that arrived since the last call (one byte each in the pipe)."""
        try:
            data = os.read(self._arrivals, 4096)
        except BlockingIOError:
            return 0
        return sum(b in self._STOPPING for b in data)

    def _first(self, signum, frame):
        if self._arrived() > 1:  # a second one came before the interpreter ran this handler
            self._stop_now(f"a second signal ({signal.Signals(signum).name})")
        self.received = signum
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            signal.signal(sig, self._again)
        signal.setitimer(signal.ITIMER_REAL, self.grace)
        if self.rank == 0 and not self.quiet:
            print(f"{signal.Signals(signum).name}: finishing the step, then writing a checkpoint (a second signal, "
                  f"or the step still running after {self.grace:g} s, stops at once without one)", flush=True)

    def _again(self, signum, frame):
        self._stop_now(f"a second signal ({signal.Signals(signum).name})")

    def _too_late(self, signum, frame):
        self._stop_now(f"the step still running {self.grace:g} s after {signal.Signals(self.received).name}")

    def _stop_now(self, why: str) -> None:
        if self.rank == 0:
            print(f"error: stopped at once by {why}, without a new checkpoint; the previous checkpoints are "
                  "intact (continue with --restart latest)", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(EXIT_FORCED)

    def __call__(self) -> bool:
        """Whether a signal asked the run to stop; asked after every step, whose end
        stops the grace clock."""
        if self.received is None:
            return False
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        return True


def _refuse_what_cannot_fit(comm, config, check_memory: bool) -> None:
    """Refuse, before anything is allocated, a grid PETSc cannot index and (unless
    told not to) a run whose memory estimate exceeds this node's free memory."""
    from ..footprint import check_fits, check_index_width, index_bits, initial_agents, node_memory
    from ..parallel.collective import agree

    agree(comm, check_index_width, config, index_bits())
    if check_memory:
        n_agents = agree(comm, initial_agents, config)
        ranks_on_node, available = node_memory(comm)
        agree(comm, check_fits, config, comm.size, ranks_on_node, n_agents, available)


def _describe_run(comm, args, config, sim) -> None:
    say(comm, f"hybridsim {__version__}: {args.config} on {comm.size} rank(s), "
              f"{'×'.join(map(str, config.domain.cells))} cells, {len(config.species)} species, "
              f"{config.time.n_steps} steps to t = {config.time.t_end:g} min", args.quiet)
    for name, solver in sim.solvers.items():
        how = ("matrix-free Jacobi–Chebyshev" if solver.method == "chebyshev"
               else f"PETSc {solver.ksp.getType()} with {solver.ksp.getPC().getType()} preconditioner")
        say(comm, f"  species {name}: {solver.method} solver ({how}; options prefix -{solver.prefix})", args.quiet)
    if sim.population is not None:
        agents = config.agents
        for cell in agents.types:
            name = f"cell type {cell.name}" if agents.named else "agents"
            total = f"{sim.agent_total}, " if not agents.named else ""
            say(comm, f"  {name}: {total}network of {cell.network.n_species} species and "
                      f"{len(cell.network.reactions)} reactions ({agents.method}), "
                      f"motility {cell.motility.kind}", args.quiet)
        if agents.named:
            say(comm, f"  agents: {sim.agent_total} of {len(agents.types)} type(s)", args.quiet)
        if agents.has_bodies:
            from ..agents.bodies import substeps

            body = agents.types[0].body
            n = substeps(body, config.time.dt)
            radii = ", ".join(f"{t.body.radius:g}" for t in agents.types)
            say(comm, f"  bodies: radius {radii} µm, {body.contact.model} contact, {n} mechanics "
                      f"substep(s) of {config.time.dt / n:g} min per step", args.quiet)
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
    stop = StopSignals(comm, stop_grace(), quiet=args.quiet)
    config = load_config(args.config, comm)
    config = with_overrides(config, t_end=args.t_end, steps=args.steps, seed=args.seed,
                            output_dir=args.output)
    _refuse_what_cannot_fit(comm, config, check_memory=not args.no_memory_check)
    def warn(text):
        if comm.rank == 0:
            print(f"warning: {text}", file=sys.stderr, flush=True)

    if config.mechanics is not None and config.mechanics.locking_warning():
        warn(config.mechanics.locking_warning())
    sim = Simulation(config, comm, place_agents=args.restart is None, warn=warn)

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
