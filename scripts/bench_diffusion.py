#!/usr/bin/env python3
"""Benchmark: time per backward-Euler reaction–diffusion step.

Two regimes, each in 2D (1024²) and 3D (128³), optionally refined to show that
multigrid keeps the Krylov iterations flat:

* physicell — dx = 20 µm, D = 1000 µm²/min, k = 0.1/min, dt = 0.01 min,
  zero-flux walls (BioFVM's defaults; ν = DΔt·Σh⁻² ≪ 1);
* stiff — unit square/cube, D = 1, k = 100, dt = 1e-3 (ν ≫ 1).

Prints one line per case and writes JSON (``--json``, default
bench-results/diffusion-<ranks>.json). Run on several ranks with
``mpirun -n 2 python scripts/bench_diffusion.py``. Timings are the median of
``--steps`` steps after one warm-up step; setup covers assembly and
preconditioner set-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

CASES = {
    "physicell-2d-1024": dict(size=[20480.0] * 2, cells=[1024] * 2, D=1000.0, k=0.1, dt=0.01),
    "physicell-3d-128": dict(size=[2560.0] * 3, cells=[128] * 3, D=1000.0, k=0.1, dt=0.01),
    "stiff-2d-256": dict(size=[1.0] * 2, cells=[256] * 2, D=1.0, k=100.0, dt=1e-3),
    "stiff-2d-1024": dict(size=[1.0] * 2, cells=[1024] * 2, D=1.0, k=100.0, dt=1e-3),
    "stiff-3d-32": dict(size=[1.0] * 3, cells=[32] * 3, D=1.0, k=100.0, dt=1e-3),
    "stiff-3d-128": dict(size=[1.0] * 3, cells=[128] * 3, D=1.0, k=100.0, dt=1e-3),
}


def config_text(case: dict) -> str:
    dim = len(case["size"])
    centre = [s / 2 for s in case["size"]]
    return f"""
[domain]
size = {case['size']}
cells = {case['cells']}
[time]
dt = {case['dt']}
t_end = 1.0
[species.c]
D = {case['D']}
decay = {case['k']}
initial = {{ value = 0.0, regions = [{{ center = {centre}, radius = {case['size'][0] / 8}, value = 1.0 }}] }}
[[species.c.sources]]
rate = 1.0
region = {{ center = {centre}, radius = {case['size'][0] / 16} }}
""" + ("" if dim else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES), metavar="CASE",
                        help=f"cases to run (default: all of {', '.join(CASES)})")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per case (default 5)")
    parser.add_argument("--json", type=Path, help="where to write the results")
    args, petsc_args = parser.parse_known_args()

    from hybridsim.parallel.petsc import init

    init(petsc_args)
    from mpi4py import MPI

    from hybridsim.config import parse_config
    from hybridsim.simulation import Simulation

    comm = MPI.COMM_WORLD
    results = []
    for name in args.cases:
        case = CASES[name]
        cfg = parse_config(config_text(case))
        comm.Barrier()
        t0 = time.perf_counter()
        sim = Simulation(cfg, comm)
        solver = sim.solvers["c"]
        sim.step()  # first step includes the preconditioner set-up
        comm.Barrier()
        setup = time.perf_counter() - t0
        times, iterations = [], []
        for _ in range(args.steps):
            comm.Barrier()
            t1 = time.perf_counter()
            sim.step()
            comm.Barrier()
            times.append(time.perf_counter() - t1)
            iterations.append(solver.iterations)
        unknowns = cfg.domain.n_cells
        per_step = statistics.median(times)
        row = dict(case=name, ranks=comm.size, cells=list(cfg.domain.cells), unknowns=unknowns,
                   diffusion_number=cfg.time.dt * case["D"] * sum(1 / h**2 for h in cfg.domain.spacing),
                   method=solver.method, setup_s=setup, step_s=per_step, iterations=iterations,
                   unknowns_per_s=unknowns / per_step)
        results.append(row)
        if comm.rank == 0:
            print(f"{name:<20} ranks {comm.size}  {unknowns:>9} unknowns  ν = {row['diffusion_number']:<9.3g} "
                  f"{solver.method:<9} setup {setup:6.2f} s  step {per_step:7.4f} s  "
                  f"its {iterations}  {row['unknowns_per_s']:.3g} unknowns/s", flush=True)
        sim.destroy()
    if comm.rank == 0:
        path = args.json or Path("bench-results") / f"diffusion-{comm.size}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
        print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
