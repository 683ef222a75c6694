#!/usr/bin/env python3
"""Benchmark: a full agent step — exact SSA, motility, migration — for 10⁶ agents.

2D tissue of 2000 × 2000 µm (200 × 200 grid cells), agents placed uniformly,
each running the two-stage network (about 10 reaction events per agent per step
of 0.1 min), moving as a persistent random walk (5 µm/min, τ = 5 min) with
reflecting walls, and migrating to the rank that owns their new position.
No fields. Reports wall time per step and its split by stage (slowest rank),
agent-steps per second per core (target ≥ 10⁶), reaction events per agent-step
and the migration time and volume per step. JSON goes to
bench-results/agents-<ranks>.json.

``--types 2``: the same agents as two cell types, half each, with two networks (the
two-stage model with two parameter sets of about the same event rate), each advanced
by its own kernel over its block of rows. ``--vs-single`` builds both runs and times
their steps alternately (interleaved rounds, so both see the same machine), and prints
the median ratio of the two-type to the single-type agent-steps per second (the issue's
bound: within 10 %); JSON to bench-results/agents-types-<ranks>.json.

    python scripts/bench_agents.py
    mpirun -n 2 python scripts/bench_agents.py
    python scripts/bench_agents.py --types 2 --vs-single --steps 20
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

TARGET = 1e6  # agent-steps per second per core

CONFIG = """
seed = 7
[domain]
size = [2000.0, 2000.0]
cells = [200, 200]
[time]
dt = {dt}
t_end = 1000.0
[network]
species = {{ M = 10, P = 1000 }}
reactions = [
  {{ name = "transcription", products = {{ M = 1 }}, rate = 2.0 }},
  {{ name = "mrna_decay", reactants = {{ M = 1 }}, rate = 0.2 }},
  {{ name = "translation", reactants = {{ M = 1 }}, products = {{ M = 1, P = 1 }}, rate = 5.0 }},
  {{ name = "protein_decay", reactants = {{ P = 1 }}, rate = 0.05 }},
]
[agents]
initial = {{ count = {agents} }}
motility = {{ type = "persistent", speed = {speed}, persistence = 5.0 }}
{fates}
"""


TWO_TYPES = """
seed = 7
[domain]
size = [2000.0, 2000.0]
cells = [200, 200]
[time]
dt = {dt}
t_end = 1000.0
[cell_types.a]
initial = {{ count = {half} }}
motility = {{ type = "persistent", speed = {speed}, persistence = 5.0 }}
{fates}
[cell_types.a.network]
species = {{ M = 10, P = 1000 }}
reactions = [
  {{ name = "transcription", products = {{ M = 1 }}, rate = 2.0 }},
  {{ name = "mrna_decay", reactants = {{ M = 1 }}, rate = 0.2 }},
  {{ name = "translation", reactants = {{ M = 1 }}, products = {{ M = 1, P = 1 }}, rate = 5.0 }},
  {{ name = "protein_decay", reactants = {{ P = 1 }}, rate = 0.05 }},
]
[cell_types.b]
initial = {{ count = {other} }}
motility = {{ type = "persistent", speed = {speed}, persistence = 5.0 }}
{fates}
[cell_types.b.network]
species = {{ M = 10, P = 1000 }}
reactions = [
  {{ name = "transcription", products = {{ M = 1 }}, rate = 1.0 }},
  {{ name = "mrna_decay", reactants = {{ M = 1 }}, rate = 0.1 }},
  {{ name = "translation", reactants = {{ M = 1 }}, products = {{ M = 1, P = 1 }}, rate = 5.0 }},
  {{ name = "protein_decay", reactants = {{ P = 1 }}, rate = 0.05 }},
]
"""


def _config(args, types: int):
    from hybridsim.config import parse_config

    fates = "division = { rate = 0.001 }\ndeath = { rate = 0.0005 }" if args.fates else ""
    if types == 1:
        return parse_config(CONFIG.format(dt=args.dt, agents=args.agents, speed=args.speed, fates=fates), "bench")
    half = args.agents // 2
    return parse_config(TWO_TYPES.format(dt=args.dt, half=half, other=args.agents - half, speed=args.speed,
                                         fates=fates), "bench")


def _interleaved(args, comm) -> int:
    """Time steps of the single-type and the ``--types`` run alternately."""
    from mpi4py import MPI

    from hybridsim.simulation import Simulation

    sims = {1: Simulation(_config(args, 1), comm), args.types: Simulation(_config(args, args.types), comm)}
    for sim in sims.values():
        sim.step()  # warm-up: compiles or loads the numba kernels
    rates = {k: [] for k in sims}
    for _ in range(args.steps):
        for k, sim in sims.items():
            comm.Barrier()
            t0 = MPI.Wtime()
            sim.step()
            wall = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
            rates[k].append(sim.agent_total / (wall * comm.size))
    ratios = np.array(rates[args.types]) / np.array(rates[1])
    if comm.rank == 0:
        result = {"ranks": comm.size, "agents": args.agents, "steps": args.steps, "dt_min": args.dt,
                  "types": args.types, "single_type_agent_steps_per_s_per_core": float(np.median(rates[1])),
                  "typed_agent_steps_per_s_per_core": float(np.median(rates[args.types])),
                  "median_ratio_typed_over_single": float(np.median(ratios)),
                  "ratio_quartiles": [float(q) for q in np.percentile(ratios, [25, 75])]}
        print(f"{args.agents} agents on {comm.size} rank(s), {args.steps} interleaved rounds of one step each")
        print(f"  1 type : {result['single_type_agent_steps_per_s_per_core']:.3g} agent-steps/s per core (median)")
        print(f"  {args.types} types: {result['typed_agent_steps_per_s_per_core']:.3g} agent-steps/s per core (median)")
        q1, q3 = result["ratio_quartiles"]
        print(f"  median ratio {args.types} types / 1 type: {result['median_ratio_typed_over_single']:.3f} "
              f"(quartiles {q1:.3f}–{q3:.3f}; bound: ≥ 0.90)")
        path = Path(args.json or f"bench-results/agents-types-{comm.size}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")
    for sim in sims.values():
        sim.destroy()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=10, help="timed steps (after one warm-up step)")
    parser.add_argument("--dt", type=float, default=0.1, help="step, min (0.1 → ~10 SSA events per agent)")
    parser.add_argument("--speed", type=float, default=5.0, help="cell speed, µm/min")
    parser.add_argument("--fates", action="store_true", help="also divide (rate 1e-3/min) and die (5e-4/min)")
    parser.add_argument("--types", type=int, default=1, choices=(1, 2), help="cell types the agents are split into")
    parser.add_argument("--vs-single", action="store_true",
                        help="with --types 2: time it against the single-type run in interleaved rounds")
    parser.add_argument("--json", help="output file (default bench-results/agents-<ranks>.json)")
    args = parser.parse_args()
    if args.vs_single and args.types == 1:
        parser.error("--vs-single compares --types 2 with the single-type run")

    from mpi4py import MPI

    from hybridsim.parallel.petsc import init

    init([])
    from hybridsim.simulation import Simulation

    comm = MPI.COMM_WORLD
    if args.vs_single:
        return _interleaved(args, comm)
    sim = Simulation(_config(args, args.types), comm)
    sim.step()  # warm-up: compiles or loads the numba kernels
    sim.timings.clear()
    reactions = migrated = 0
    t0 = MPI.Wtime()
    for _ in range(args.steps):
        sim.step()
        reactions += sim.counters.reactions
        migrated += sim.counters.migrated
    wall = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX) / args.steps
    stages = {k: comm.allreduce(v, op=MPI.MAX) / args.steps for k, v in sorted(sim.timings.items()) if v > 0}
    fastest = {k: comm.allreduce(v, op=MPI.MIN) / args.steps for k, v in sorted(sim.timings.items()) if v > 0}
    reactions = comm.allreduce(reactions) / args.steps
    migrated = comm.allreduce(migrated) / args.steps
    agents = sim.agent_total
    per_core = agents / (wall * comm.size)
    if comm.rank == 0:
        result = {"ranks": comm.size, "agents": agents, "types": args.types, "steps": args.steps, "dt_min": args.dt,
                  "wall_per_step_s": wall, "stages_s": stages, "stages_fastest_rank_s": fastest,
                  "agent_steps_per_s_per_core": per_core,
                  "events_per_agent_step": reactions / agents, "migrated_per_step": migrated,
                  "target_agent_steps_per_s_per_core": TARGET}
        print(f"{agents} agents on {comm.size} rank(s), {args.steps} steps of {args.dt:g} min: "
              f"{wall:.3f} s per step")
        print(f"  {per_core:.3g} agent-steps/s per core (target ≥ {TARGET:.0e}: "
              f"{'met' if per_core >= TARGET else 'NOT met'}); {reactions / agents:.1f} SSA events per agent-step")
        print("  stage            slowest rank (share)   fastest rank; migration includes waiting for the slowest")
        for name, seconds in stages.items():
            print(f"  {name:<16}{seconds * 1e3:9.1f} ms ({seconds / wall:5.1%}){fastest[name] * 1e3:12.1f} ms")
        print(f"  migration: {migrated:.0f} agents moved between ranks per step")
        path = Path(args.json or f"bench-results/agents-{comm.size}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")
    sim.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
