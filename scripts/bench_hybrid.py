#!/usr/bin/env python3
"""Benchmark: one coupled step of the hybrid model and its breakdown by stage.

A 2D tissue of 1024 × 1024 µm on a 512² grid with one field (a cytokine, D =
100 µm²/min, decay 0.05/min) and N cells running the two-stage network, whose
protein decay secretes the cytokine; cells take the cytokine up, sense its
gradient (chemotaxis) and move by a persistent walk. One step is 0.1 min (about
10 SSA events per cell). Reported per step (slowest rank): wall time, each
stage (the same split appears in ``-log_view`` as PETSc log stages
``hybridsim: …``), the agent stages per agent-step per core (target ≤ 1 µs),
and the time of one output write. Runs N = 10⁵, 10⁶ and 4×10⁶ by default, so
that the growth of each stage with N shows. JSON goes to
bench-results/hybrid-<ranks>.json.

    mpirun -n 2 python scripts/bench_hybrid.py [-log_view]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

TARGET_US = 1.0  # agent stages, µs per agent-step per core
AGENT_STAGES = ("sampling", "ssa", "deposition", "division/death", "motility", "migration")

CONFIG = """
seed = 3
[domain]
size = [1024.0, 1024.0]
cells = [512, 512]
[time]
dt = 0.1
t_end = 100.0
[species.cytokine]
D = 100.0
decay = 0.05
[network]
species = {{ M = 10, P = 1000 }}
reactions = [
  {{ name = "transcription", products = {{ M = 1 }}, rate = 2.0 }},
  {{ name = "mrna_decay", reactants = {{ M = 1 }}, rate = 0.2 }},
  {{ name = "translation", reactants = {{ M = 1 }}, products = {{ M = 1, P = 1 }}, rate = 5.0 }},
  {{ name = "secretion", reactants = {{ P = 1 }}, rate = 0.05, secretes = {{ cytokine = 1 }} }},
]
[agents]
initial = {{ count = {agents} }}
motility = {{ type = "persistent", speed = 2.0, persistence = 5.0 }}
uptake = [{{ field = "cytokine", rate = 1.0 }}]
chemotaxis = {{ field = "cytokine", sensitivity = 50.0, max_speed = 4.0 }}
"""


def run(n_agents: int, steps: int, comm) -> dict:
    from mpi4py import MPI

    from hybridsim.config import parse_config
    from hybridsim.io.output import RunOutput
    from hybridsim.simulation import Simulation

    sim = Simulation(parse_config(CONFIG.format(agents=n_agents), "bench"), comm)
    sim.step()  # warm-up: kernels compiled or loaded, preconditioner built
    sim.timings.clear()
    t0 = MPI.Wtime()
    for _ in range(steps):
        sim.step()
    wall = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX) / steps
    stages = {k: comm.allreduce(v, op=MPI.MAX) / steps for k, v in sorted(sim.timings.items())}
    directory = comm.bcast(tempfile.mkdtemp(prefix="hybridsim-bench-") if comm.rank == 0 else None)
    output = RunOutput(sim, directory, ["cytokine"])
    comm.Barrier()
    t0 = MPI.Wtime()
    output.write(sim)
    stages["output (one write)"] = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
    output.close()
    agents = sim.agent_total
    agent_seconds = sum(stages.get(k, 0.0) for k in AGENT_STAGES)
    per_agent_us = agent_seconds * comm.size / agents * 1e6
    sim.destroy()
    return {"agents": agents, "wall_per_step_s": wall, "stages_s": stages,
            "agent_stages_us_per_agent_step_per_core": per_agent_us}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, nargs="*", default=[100_000, 1_000_000, 4_000_000])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per size")
    parser.add_argument("--json", help="output (default bench-results/hybrid-<ranks>.json)")
    args, petsc_args = parser.parse_known_args()

    from mpi4py import MPI

    from hybridsim.parallel.petsc import init

    init(petsc_args)
    comm = MPI.COMM_WORLD
    results = [run(n, args.steps, comm) for n in args.agents]
    if comm.rank == 0:
        print(f"hybrid step, 512² grid, one field, two-stage network with secretion, uptake, chemotaxis; "
              f"{comm.size} rank(s); ms per step (slowest rank)")
        names = sorted({k for r in results for k in r["stages_s"]})
        print(f"  {'stage':<20}" + "".join(f"{r['agents']:>14,}" for r in results))
        for name in names:
            print(f"  {name:<20}" + "".join(f"{r['stages_s'].get(name, 0.0) * 1e3:14.1f}" for r in results))
        print(f"  {'total per step':<20}" + "".join(f"{r['wall_per_step_s'] * 1e3:14.1f}" for r in results))
        print(f"  {'agent µs/agent-step':<20}"
              + "".join(f"{r['agent_stages_us_per_agent_step_per_core']:14.3f}" for r in results)
              + f"   (per core; target ≤ {TARGET_US:g})")
        path = Path(args.json or f"bench-results/hybrid-{comm.size}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"ranks": comm.size, "results": results}, indent=2) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
