#!/usr/bin/env python3
"""Benchmark: cell-updates per second of the contact-mechanics substep.

A 2D (or 3D) monolayer of N cells of PhysiCell's default radius (8.41 µm) on a
hexagonal (3D: hexagonal close-packed) lattice at the potential's equilibrium
spacing (≈ 16.02 µm) with ±5 % jitter, PhysiCell's default potential, no growth,
``dt_mech`` = 0.1 min. Times ``--steps`` substeps after ``--warmup`` — each one the
whole substep of a run: the interaction distance (one ``allreduce``), the ghost
exchange, the cell list and forces, the position update with the boundaries, and
migration — and reports the median. On several ranks it also reports the share of
the substep spent in the ghost exchange.

    python scripts/bench_cell_mechanics.py --cells 100000 --json out.json
    mpirun -n 2 python scripts/bench_cell_mechanics.py --cells 1000000
    python scripts/bench_cell_mechanics.py --vs-physicell   # interleaved with PhysiCell's own loop

Prints one line per case and writes JSON ``{"cells", "ranks", "s_per_step",
"cell_updates_per_s", "cell_updates_per_s_per_rank", "ghost_share", …}`` (a list
with ``--vs-physicell``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RADIUS = 8.412710547954228  # µm
PEER = Path(__file__).resolve().parents[2] / "shared" / "peers" / "physicell_peer.sh"


def spacing() -> float:
    """Equilibrium distance of PhysiCell's default potential (c_r 10, c_a 0.4, 1.25), µm."""
    R, S = 2 * RADIUS, 2.5 * RADIUS
    return (math.sqrt(10.0) - math.sqrt(0.4)) / (math.sqrt(10.0) / R - math.sqrt(0.4) / S)


def lattice(n: int, dim: int, seed: int = 1):
    """``n`` lattice positions (µm) with ±5 % jitter of the spacing and the domain size."""
    import numpy as np

    d = spacing()
    if dim == 2:
        cols = math.ceil(math.sqrt(n * 2 / math.sqrt(3)))
        rows = math.ceil(n / cols)
        j, i = np.divmod(np.arange(rows * cols), cols)
        pos = np.stack([(i + 0.5 * (j % 2)) * d, j * d * math.sqrt(3) / 2], axis=1)
    else:
        side = math.ceil(n ** (1 / 3) * 1.1)
        k, rest = np.divmod(np.arange(side**3), side * side)
        j, i = np.divmod(rest, side)
        pos = np.stack([(i + 0.5 * ((j + k) % 2)) * d, (j + (k % 2) / 3) * d * math.sqrt(3) / 2,
                        k * d * math.sqrt(2 / 3)], axis=1)
    pos = pos[:n]
    pos += np.random.default_rng(seed).uniform(-0.05 * d, 0.05 * d, pos.shape)
    margin = 4 * RADIUS
    pos += margin
    return pos, tuple(float(v) for v in pos.max(axis=0) + margin)


def config_text(size, dim: int) -> str:
    cells = [max(4, round(s / 100.0)) for s in size]
    return f"""
[domain]
size = {list(size)}
cells = {cells}
[time]
dt = 0.1
t_end = 1.0
[network]
species = {{ A = 0 }}
reactions = [{{ name = "idle", reactants = {{ A = 1 }}, rate = 0.0 }}]
[agents]
initial = {{ count = 0 }}
[agents.body]
[agents.contact]
"""


def measure(n: int, dim: int, steps: int, warmup: int, comm, transport: str = "neighbor") -> dict:
    import numpy as np

    from hybridsim.agents.population import CellPopulation
    from hybridsim.config import parse_config
    from hybridsim.coupling.bodies import CellMechanics
    from hybridsim.parallel.grid import Grid

    pos, size = lattice(n, dim)
    cfg = parse_config(config_text(size, dim))
    grid = Grid(cfg.domain, comm)
    pop = CellPopulation(cfg.agents, cfg.domain.size, seed=1)
    mine = np.nonzero(grid.owner_of(pos) == comm.rank)[0]
    pop.store.append(mine, pos[mine], np.zeros((mine.size, 1)), **pop.body_columns(mine.size))
    del pos
    mech = CellMechanics(grid, pop, transport)
    dt = cfg.agents.body.contact.dt
    times, ghost_times = [], []
    for k in range(warmup + steps):
        before = mech.timings["ghost exchange"]
        comm.Barrier()
        start = time.perf_counter()
        mech.relax(dt, k)
        comm.Barrier()
        if k >= warmup:
            times.append(time.perf_counter() - start)
            ghost_times.append(mech.timings["ghost exchange"] - before)
    per_step = statistics.median(times)
    ghost = comm.allreduce(statistics.median(ghost_times), op=_max())
    total = comm.allreduce(pop.n)
    ghosts = comm.allreduce(mech.ghosts)
    mech.exchange.free()
    grid.destroy()
    return {"cells": total, "dim": dim, "ranks": comm.size, "ghost_transport": transport, "steps": steps,
            "s_per_step": per_step,
            "s_per_step_min_max": [min(times), max(times)], "cell_updates_per_s": total / per_step,
            "cell_updates_per_s_per_rank": total / per_step / comm.size, "ghost_s_per_step": ghost,
            "ghost_share": ghost / per_step, "ghost_copies": ghosts}


def _max():
    from mpi4py import MPI

    return MPI.MAX


def physicell(n: int, steps: int) -> dict | None:
    """One run of PhysiCell 1.14.2's mechanics loop (mode ``core``) through the peer driver."""
    env = {**os.environ, "CASES": "mech10k" if n == 10000 else "mech100k", "MODES": "core", "REPS": "1",
           "THREADS": "1", "MECH_STEPS": str(steps)}
    with tempfile.TemporaryDirectory() as scratch:  # the peer writes files (random_seed.txt) where it runs
        out = subprocess.run(["bash", str(PEER)], capture_output=True, text=True, env=env, timeout=1800,
                             cwd=scratch)
    for line in out.stdout.splitlines():
        row = json.loads(line)
        if "s_per_step" in row:
            return {"s_per_step": row["s_per_step"]["median"],
                    "cell_updates_per_s": row["cell_updates_per_s"]["median"]}
    print(f"physicell peer failed: {out.stderr.strip()[-500:]}", file=sys.stderr)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=100000, help="number of cells N (default 100000)")
    parser.add_argument("--dim", type=int, choices=(2, 3), default=2, help="2D monolayer or 3D packing (default 2)")
    parser.add_argument("--steps", type=int, default=20, help="timed substeps (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed substeps first (default 2)")
    parser.add_argument("--json", type=Path, help="where to write the results (default bench-results/...)")
    parser.add_argument("--vs-physicell", action="store_true",
                        help="10^4 and 10^5 cells, each interleaved --reps times with PhysiCell 1.14.2's mechanics "
                             "loop (../shared/peers/physicell_peer.sh, one thread); prints the median ratios")
    parser.add_argument("--ghosts", choices=("alltoallv", "neighbor", "both"), default="neighbor",
                        help="ghost transport: Alltoallv over all ranks, Neighbor_alltoallv on the graph of nearby "
                             "ranks, or both interleaved --reps times (default neighbor, as runs use)")
    parser.add_argument("--reps", type=int, default=3, help="pairs per size with --vs-physicell (default 3)")
    args, petsc_args = parser.parse_known_args()
    if args.cells < 1 or args.steps < 1 or args.warmup < 0:
        parser.error("--cells and --steps must be ≥ 1, --warmup ≥ 0")

    from hybridsim.parallel.petsc import init

    init(petsc_args)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if args.vs_physicell:
        if comm.size > 1:
            parser.error("--vs-physicell runs on one rank (PhysiCell's driver uses one thread)")
        if not PEER.exists():
            parser.error(f"--vs-physicell needs {PEER}")
        results = []
        for n in (10000, 100000):
            ours, theirs = [], []
            for _ in range(args.reps):
                ours.append(measure(n, 2, args.steps, args.warmup, comm))
                peer = physicell(n, args.steps)
                if peer is not None:
                    theirs.append(peer)
            ratios = [o["cell_updates_per_s"] / p["cell_updates_per_s"] for o, p in zip(ours, theirs)]
            row = {"cells": n, "hybridsim_cell_updates_per_s": statistics.median(o["cell_updates_per_s"] for o in ours),
                   "physicell_cell_updates_per_s": statistics.median(p["cell_updates_per_s"] for p in theirs)
                   if theirs else None, "ratios": ratios, "median_ratio": statistics.median(ratios) if ratios else None}
            results.append(row)
            print(f"{n:>8} cells  hybridsim {row['hybridsim_cell_updates_per_s']:.3g} cell-updates/s  PhysiCell "
                  f"{row['physicell_cell_updates_per_s'] or float('nan'):.3g}  median ratio "
                  f"{row['median_ratio'] or float('nan'):.2f} (pairs: {', '.join(f'{r:.2f}' for r in ratios)})",
                  flush=True)
        path = args.json or Path("bench-results") / "cell-mechanics-vs-physicell.json"
    else:
        transports = ("alltoallv", "neighbor") if args.ghosts == "both" else (args.ghosts,)
        rounds = args.reps if args.ghosts == "both" else 1
        results = []
        for _ in range(rounds):
            for transport in transports:
                r = measure(args.cells, args.dim, args.steps, args.warmup, comm, transport)
                results.append(r)
                if comm.rank == 0:
                    print(json.dumps({k: r[k] for k in ("cells", "s_per_step", "cell_updates_per_s")}))
                    print(f"{r['cells']} cells ({r['dim']}D) on {r['ranks']} rank(s): {r['s_per_step'] * 1e3:.2f} ms "
                          f"per substep, {r['cell_updates_per_s']:.3g} cell-updates/s "
                          f"({r['cell_updates_per_s_per_rank']:.3g} per rank), ghost exchange by {transport} "
                          f"{100 * r['ghost_share']:.1f} % ({r['ghost_copies']} copies)", flush=True)
        if len(transports) == 2 and comm.rank == 0:
            by = {t: [r["ghost_s_per_step"] for r in results if r["ghost_transport"] == t] for t in transports}
            ratios = [n / a for a, n in zip(by["alltoallv"], by["neighbor"])]
            print(f"ghost exchange neighbor/alltoallv: median ratio {statistics.median(ratios):.2f} "
                  f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)})", flush=True)
        if len(results) == 1:
            results = results[0]
        path = args.json or Path("bench-results") / f"cell-mechanics-{args.cells}-{args.dim}d-{comm.size}.json"
    if comm.rank == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
        print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
