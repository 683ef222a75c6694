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

``--vs-biofvm`` times PhysiCell 1.14.2's BioFVM step side by side (the peer driver
``../shared/peers/physicell_peer.sh``, or ``--peer``, built with PhysiCell's own
Makefile flags): ``--rounds`` alternating rounds of the peer then hybridsim on
2D 1024² and 3D 128³ in PhysiCell's regime, each hybridsim case in a fresh
process whose peak resident memory is reported per voxel next to the peer's, and
the median over rounds of the ratio hybridsim/BioFVM of the time per step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEER = Path(__file__).resolve().parents[1].parent / "shared" / "peers" / "physicell_peer.sh"
PEER_CASES = {"physicell-2d-1024": "diff2d", "physicell-3d-128": "diff3d"}

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


def _ours_in_a_process(case: str, steps: int) -> dict:
    """One case in a fresh process: its JSON row and peak resident memory (bytes)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "row.json"
        child = subprocess.Popen([sys.executable, __file__, "--cases", case, "--steps", str(steps), "--json", str(out)],
                                 stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"bench_diffusion: case {case} failed (exit {child.returncode})")
        row = json.loads(out.read_text())[0]
    row["max_rss_bytes"] = usage.ru_maxrss * 1024
    return row


def _peer(script: Path, cases: list[str], steps: int) -> dict:
    """One run of the peer driver (one repetition per case): ``{case: its JSON}``."""
    env = dict(os.environ, CASES=" ".join(PEER_CASES[c] for c in cases), REPS="1", THREADS="1",
               DIFF_STEPS=str(steps))
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_diffusion: the peer driver failed: {done.stderr.strip().splitlines()[-1:]}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    by_voxels = {row["voxels"]: row for row in rows}
    return {c: by_voxels[CASES[c]["cells"][0] ** len(CASES[c]["cells"])] for c in cases}


def versus_biofvm(script: Path, rounds: int, steps: int) -> dict:
    """Alternating rounds of BioFVM and hybridsim on PhysiCell's regime."""
    if not script.is_file():
        raise SystemExit(f"bench_diffusion: no peer driver at {script} (give --peer)")
    cases = list(PEER_CASES)
    per_case = {c: {"ours_s": [], "biofvm_s": [], "ratio": [], "ours_bytes_per_voxel": [],
                    "biofvm_bytes_per_voxel": [], "iterations": []} for c in cases}
    for r in range(rounds):
        peer = _peer(script, cases, steps)
        for c in cases:
            ours = _ours_in_a_process(c, steps)
            theirs = peer[c]
            voxels = ours["unknowns"]
            entry = per_case[c]
            entry["ours_s"].append(ours["step_s"])
            entry["biofvm_s"].append(theirs["s_per_step"]["median"])
            entry["ratio"].append(ours["step_s"] / theirs["s_per_step"]["median"])
            entry["ours_bytes_per_voxel"].append(ours["max_rss_bytes"] / voxels)
            entry["biofvm_bytes_per_voxel"].append(theirs["max_rss_mb"] * 2**20 / voxels)
            entry["iterations"].append(ours["iterations"])
            entry["method"] = ours["method"]
            print(f"  round {r + 1}: {c:<18} hybridsim {ours['step_s']:.4f} s  BioFVM "
                  f"{theirs['s_per_step']['median']:.4f} s  ratio {entry['ratio'][-1]:.3f}", flush=True)
    for c in cases:
        entry = per_case[c]
        for key in ("ours_s", "biofvm_s", "ratio", "ours_bytes_per_voxel", "biofvm_bytes_per_voxel"):
            entry[f"median_{key}"] = statistics.median(entry[key])
    return {"rounds": rounds, "steps": steps, "peer": str(script), "cases": per_case}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES), metavar="CASE",
                        help=f"cases to run (default: all of {', '.join(CASES)})")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per case (default 5)")
    parser.add_argument("--json", type=Path, help="where to write the results")
    parser.add_argument("--vs-biofvm", action="store_true",
                        help="time PhysiCell's BioFVM step side by side in alternating rounds (one rank)")
    parser.add_argument("--rounds", type=int, default=3, help="--vs-biofvm: alternating rounds (default 3)")
    parser.add_argument("--peer", type=Path, default=PEER, help=f"--vs-biofvm: the peer driver (default {PEER})")
    args, petsc_args = parser.parse_known_args()
    if args.vs_biofvm:
        print(f"hybridsim vs PhysiCell 1.14.2 BioFVM (LOD), PhysiCell's regime, {args.rounds} alternating rounds, "
              f"{args.steps} steps each:", flush=True)
        result = versus_biofvm(args.peer, args.rounds, args.steps)
        for c, entry in result["cases"].items():
            print(f"{c:<18} hybridsim {entry['median_ours_s']:.4f} s/step ({entry['method']}, its "
                  f"{entry['iterations'][-1]})  BioFVM {entry['median_biofvm_s']:.4f} s/step  "
                  f"median ratio {entry['median_ratio']:.3f}  peak memory {entry['median_ours_bytes_per_voxel']:.0f} "
                  f"vs {entry['median_biofvm_bytes_per_voxel']:.0f} bytes/voxel")
        path = args.json or Path("bench-results") / "diffusion-vs-biofvm.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2))
        print(f"results: {path}")
        return 0

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
