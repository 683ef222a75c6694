"""``hybridsim ssa NETWORK``: independent well-mixed cells running one network,
exactly (Gillespie's direct method), by tau-leaping or partitioned."""

from __future__ import annotations

import math
import time

from ..config.agents import Agents
from ..errors import InputError
from .arguments import name_values, positive_float, positive_int, say, seed, subcommand, world


def add_parser(sub) -> None:
    ssa = subcommand(sub, "ssa", cmd_ssa, help="simulate independent cells of a reaction network exactly (well-mixed)",
                      description="Simulate N independent, well-mixed cells running NETWORK with Gillespie's direct "
                      "method from the declared initial counts, and write the counts at t = 0, D, 2D, …, T to an "
                      "HDF5 file (dataset counts: (outputs, cells, species); time: (outputs,), min). Runs in parallel "
                      "under mpirun (cells are split between ranks; results do not depend on the rank count).")
    ssa.add_argument("network", metavar="NETWORK", help="network file: TOML (see docs/networks.md) or SBML (.xml)")
    ssa.add_argument("--cells", type=positive_int, required=True, metavar="N", help="number of cells")
    ssa.add_argument("--t-end", type=positive_float, required=True, metavar="T", help="end time, min")
    ssa.add_argument("--dt-out", type=positive_float, required=True, metavar="D", help="output interval, min")
    ssa.add_argument("--seed", type=seed, default=0, metavar="S", help="random seed (default 0)")
    ssa.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                     help="concentration of a field that modulates a rate (repeatable)")
    ssa.add_argument("--tau-leaping", action="store_true",
                     help="approximate tau-leaping (exact events at low copy numbers) instead of exact SSA")
    ssa.add_argument("--hybrid", action="store_true",
                     help="partitioned: reactions changing only species with ≥ --threshold molecules are leaped, "
                     "the others fire exactly")
    ssa.add_argument("--threshold", type=positive_int, default=None, metavar="N",
                     help=f"hybrid: molecules from which a species counts as high-copy (default "
                     f"{Agents.hybrid_threshold})")
    ssa.add_argument("--epsilon", type=positive_float, default=None, metavar="E",
                     help=f"tau-leaping and hybrid: bound on a species' relative change per leap (default "
                     f"{Agents.tau_epsilon:g})")
    ssa.add_argument("-o", "--output", default="ssa.h5", metavar="FILE", help="HDF5 output file (default ssa.h5)")
    ssa.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _check_flags(args) -> str:
    """The method the flags ask for; conflicting or misplaced flags are refused."""
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
    return "tau-leaping" if args.tau_leaping else "hybrid" if args.hybrid else "exact"


def cmd_ssa(args, petsc_args: list[str]) -> int:
    import numpy as np
    from mpi4py import MPI

    from ..agents.placement import block
    from ..agents.well_mixed import simulate_cells
    from ..config import load_network
    from ..io.ssa_output import SsaOutput
    from ..parallel.collective import agree, moments

    comm = world()
    method = _check_flags(args)
    fields = name_values(args.field, "hybridsim ssa: --field", minimum=0.0)
    network = agree(comm, load_network, args.network)
    n_out = math.floor(args.t_end / args.dt_out * (1 + 1e-12))
    times = np.append(np.arange(n_out + 1) * args.dt_out, [args.t_end] if n_out * args.dt_out < args.t_end else [])
    times[-1] = min(times[-1], args.t_end)
    start, stop = block(args.cells, comm.rank, comm.size)
    output = SsaOutput(args.output, comm)
    say(comm, f"hybridsim ssa: {args.network}: {args.cells} cells on {comm.size} rank(s), "
              f"t = 0…{args.t_end:g} min, {times.size} outputs, {method}", args.quiet)
    for line in network.describe_lines():
        say(comm, "  " + line, args.quiet)
    wall = time.perf_counter()
    counts, events = agree(comm, simulate_cells, network, np.arange(start, stop, dtype=np.int64), times,
                           args.seed, fields, method=method, epsilon=args.epsilon or Agents.tau_epsilon,
                           threshold=args.threshold or Agents.hybrid_threshold)
    wall = comm.allreduce(time.perf_counter() - wall, op=MPI.MAX)
    events = comm.allreduce(events)
    output.write(network, times, counts, start, args.cells, seed=args.seed, source=str(args.network), method=method)
    stats, _ = moments(comm, counts[-1])
    say(comm, f"{events} reaction events in {wall:.3g} s ({events / max(wall, 1e-12) / comm.size:.3g} per s per rank)",
        args.quiet)
    say(comm, f"at t = {times[-1]:g} min over {args.cells} cells:", args.quiet)
    fano = stats.fano
    for s, name in enumerate(network.species):
        say(comm, f"  {name:<12} mean {stats.mean[s]:<12.6g} variance {stats.variance[s]:<12.6g} Fano {fano[s]:.4g}",
            args.quiet)
    say(comm, f"output: {args.output}", args.quiet)
    return 0
