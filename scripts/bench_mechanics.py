#!/usr/bin/env python3
"""Benchmark: the tissue's mechanical equilibrium (Q1 elasticity, CG with multigrid).

Cases: 2D plane strain on 512² cells (513² vertices, 526k unknowns) and 3D on
64³ cells (65³ vertices, 824k unknowns); E = 1 kPa, ν = 0.3, clamped at x = 0,
isotropic active stress from a Gaussian field. The preconditioner is the default
(geometric multigrid on the vertex grid; pass ``-mech_pc_type gamg`` to compare).
Timed: setup (assembly, boundary rows, rigid-body modes, preconditioner
set-up), a solve from a zero initial guess (median of ``--repeats``), and a warm
solve after the field changed by 1 % (the previous displacement as the initial
guess, as in a run). rtol 1e-8 on the
true residual. Prints one line per case and writes JSON (``--json``, default
bench-results/mechanics-<ranks>.json).

    python scripts/bench_mechanics.py
    mpirun -n 2 python scripts/bench_mechanics.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

CASES = {
    "2d-512": dict(size=[512.0, 512.0], cells=[512, 512], model="plane_strain"),
    "3d-64": dict(size=[64.0, 64.0, 64.0], cells=[64, 64, 64], model="solid"),
}


def config_text(case: dict) -> str:
    return f"""
[domain]
size = {case['size']}
cells = {case['cells']}
[time]
dt = 1.0
t_end = 1.0
[species.ca]
D = 1.0
[mechanics]
model = "{case['model']}"
E = 1000.0
nu = 0.3
active = {{ field = "ca", alpha = 50.0 }}
boundary = {{ x_min = "clamped" }}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES), metavar="CASE",
                        help=f"cases to run (default: all of {', '.join(CASES)})")
    parser.add_argument("--repeats", type=int, default=3, help="cold solves timed (median)")
    parser.add_argument("--json", help="output (default bench-results/mechanics-<ranks>.json)")
    args, petsc_args = parser.parse_known_args()

    from hybridsim.parallel.petsc import init

    init(petsc_args)
    import numpy as np
    from mpi4py import MPI

    from hybridsim.config import parse_config
    from hybridsim.mechanics.elasticity import Elasticity
    from hybridsim.parallel.grid import Grid

    comm = MPI.COMM_WORLD
    results = {}
    for name in args.cases:
        case = CASES[name]
        cfg = parse_config(config_text(case), name)
        grid = Grid(cfg.domain)
        centre = np.asarray(case["size"]) / 2
        r2 = ((grid.cell_centers() - centre) ** 2).sum(axis=1)
        c = np.exp(-r2 / (2 * (case["size"][0] / 8) ** 2)).reshape(grid.counts, order="F")
        comm.Barrier()
        t0 = MPI.Wtime()
        mech = Elasticity(grid, cfg.mechanics)
        setup = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
        cold, iterations = [], []
        for _ in range(args.repeats):
            mech.u.set(0.0)
            comm.Barrier()
            t0 = MPI.Wtime()
            mech.solve(c)
            cold.append(comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX))
            iterations.append(mech.iterations)
        comm.Barrier()
        t0 = MPI.Wtime()
        mech.solve(1.01 * c)
        warm = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
        unknowns = mech.u.getSize()
        solve = statistics.median(cold)
        results[name] = {
            "unknowns": unknowns, "setup_s": setup, "solve_s": solve, "solve_all_s": cold,
            "iterations": iterations[-1], "warm_solve_s": warm, "warm_iterations": mech.iterations,
            "unknowns_per_s": unknowns / solve, "largest_displacement_um": float(mech.u.norm(3)),
        }
        if comm.rank == 0:
            r = results[name]
            print(f"{name:8s} {comm.size} rank(s): {unknowns} unknowns, setup {setup:.2f} s, solve {solve:.2f} s "
                  f"({r['iterations']} its, {r['unknowns_per_s']:.3g} unknowns/s), warm solve {warm:.2f} s "
                  f"({r['warm_iterations']} its)", flush=True)
        mech.destroy()
        grid.destroy()
    if comm.rank == 0:
        out = Path(args.json or f"bench-results/mechanics-{comm.size}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"ranks": comm.size, "cases": results}, indent=2) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
