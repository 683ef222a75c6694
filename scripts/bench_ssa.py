#!/usr/bin/env python3
"""Benchmark: exact SSA reaction events per second per core.

The two-stage model of VALIDATION case 7 (k_m = 2, γ_m = 0.2, k_p = 5,
γ_p = 0.05 per min) for 10⁵ independent cells, started at the stationary means
(M = 10, P = 1000) and run for ``--t-end`` minutes in one interval, so the time
is spent in the SSA kernel. Events are counted exactly. Prints the figures and
writes JSON (``--json``, default bench-results/ssa.json).

``--vs-gillespy2`` also runs GillesPy2's C++ ``SSACSolver`` on the same model
(if ``gillespy2`` is importable) and reports the ratio. GillesPy2 does not
count events, so both are also given as the expected number of events,
``E[a0]·T·cells`` with ``E[a0] = k_m + (γ_m + k_p)⟨M⟩ + γ_p⟨P⟩ = 104 per min``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

K_M, G_M, K_P, G_P = 2.0, 0.2, 5.0, 0.05
MEAN_M, MEAN_P = K_M / G_M, K_M * K_P / (G_M * G_P)
EXPECTED_RATE = K_M + (G_M + K_P) * MEAN_M + G_P * MEAN_P  # events per min per cell at stationarity
REFERENCE_GILLESPY2 = 6.9e6  # events/s, SSACSolver on this machine class (issue text)
TARGET = 3.5e7


def network(m0: int = int(MEAN_M), p0: int = int(MEAN_P)) -> dict:
    return {"species": {"M": m0, "P": p0}, "reactions": [
        {"name": "transcription", "products": {"M": 1}, "rate": K_M},
        {"name": "mrna_decay", "reactants": {"M": 1}, "rate": G_M},
        {"name": "translation", "reactants": {"M": 1}, "products": {"M": 1, "P": 1}, "rate": K_P},
        {"name": "protein_decay", "reactants": {"P": 1}, "rate": G_P}]}


def bench_hybridsim(cells: int, t_end: float, repeats: int) -> dict:
    from hybridsim.agents import load_network
    from hybridsim.agents.well_mixed import simulate_cells

    net = load_network(network())
    simulate_cells(net, np.arange(10), np.array([1.0]), 0)  # compile (or load the cached kernel)
    rates, events = [], 0
    for r in range(repeats):
        start = time.perf_counter()
        _, events = simulate_cells(net, np.arange(cells), np.array([t_end]), seed=r)
        wall = time.perf_counter() - start
        rates.append(events / wall)
    return {"events": events, "events_per_s": statistics.median(rates), "best_events_per_s": max(rates),
            "expected_events": EXPECTED_RATE * t_end * cells,
            "expected_events_per_s": EXPECTED_RATE * t_end * cells / (events / statistics.median(rates))}


def bench_gillespy2(trajectories: int, t_end: float) -> dict | None:
    try:
        import gillespy2
    except ImportError:
        return None

    model = gillespy2.Model(name="two_stage")
    model.add_parameter([gillespy2.Parameter(name=n, expression=v)
                         for n, v in (("k_m", K_M), ("g_m", G_M), ("k_p", K_P), ("g_p", G_P))])
    M = gillespy2.Species(name="M", initial_value=int(MEAN_M), mode="discrete")
    P = gillespy2.Species(name="P", initial_value=int(MEAN_P), mode="discrete")
    model.add_species([M, P])
    model.add_reaction([
        gillespy2.Reaction(name="tx", reactants={}, products={M: 1}, rate="k_m"),
        gillespy2.Reaction(name="md", reactants={M: 1}, products={}, rate="g_m"),
        gillespy2.Reaction(name="tl", reactants={M: 1}, products={M: 1, P: 1}, rate="k_p"),
        gillespy2.Reaction(name="pd", reactants={P: 1}, products={}, rate="g_p"),
    ])
    model.timespan(np.linspace(0, t_end, 2))
    solver = gillespy2.SSACSolver(model=model)  # compiles the C++ solver once
    model.run(solver=solver, number_of_trajectories=2, seed=1)
    start = time.perf_counter()
    model.run(solver=solver, number_of_trajectories=trajectories, seed=2)
    wall = time.perf_counter() - start
    expected = EXPECTED_RATE * t_end * trajectories
    return {"trajectories": trajectories, "t_end": t_end, "wall_s": wall, "expected_events_per_s": expected / wall}


def bench_tau_leaping(cells: int) -> list[dict]:
    """Birth–death at 1000 copies (k = 1000/min, γ = 1/min) over 10 min: exact SSA against
    tau-leaping at two tolerances — wall time, speed-up and the stationary Fano factor (1 exactly)."""
    from hybridsim.agents import load_network
    from hybridsim.agents.integrator import NetworkIntegrator

    net = load_network({"species": {"X": 1000}, "reactions": [
        {"products": {"X": 1}, "rate": 1000.0}, {"reactants": {"X": 1}, "rate": 1.0}]})
    rows = []
    for method, eps in (("exact", 0.01), ("tau-leaping", 0.01), ("tau-leaping", 0.03)):
        integrator = NetworkIntegrator(net, method, eps)
        ids = np.arange(cells, dtype=np.int64)
        integrator.advance(np.full((4, 1), 1000, np.int64), ids[:4], np.zeros((4, 0)), 1.0, 0, 0)  # compile
        counts = np.full((cells, 1), 1000, dtype=np.int64)
        start = time.perf_counter()
        events = integrator.advance(counts, ids, np.zeros((cells, 0)), 10.0, 1, 0)
        wall = time.perf_counter() - start
        x = counts[:, 0].astype(float)
        rows.append({"method": method, "epsilon": eps if method != "exact" else None, "wall_s": wall,
                     "events": int(events), "leaps": int(integrator.leaps), "mean": x.mean(),
                     "fano": x.var(ddof=1) / x.mean()})
    for row in rows:
        row["speedup"] = rows[0]["wall_s"] / row["wall_s"]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=100_000, help="cells (default 10⁵)")
    parser.add_argument("--t-end", type=float, default=10.0, help="simulated minutes (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions (median reported)")
    parser.add_argument("--vs-gillespy2", action="store_true", help="also time GillesPy2's SSACSolver")
    parser.add_argument("--gillespy2-trajectories", type=int, default=2000)
    parser.add_argument("--tau-cells", type=int, default=10_000,
                        help="cells of the tau-leaping comparison (0 skips it)")
    parser.add_argument("--json", default="bench-results/ssa.json", help="where to write the figures")
    args = parser.parse_args()

    ours = bench_hybridsim(args.cells, args.t_end, args.repeats)
    result = {"model": "two-stage k_m=2 γ_m=0.2 k_p=5 γ_p=0.05", "cells": args.cells, "t_end_min": args.t_end,
              "cpu_count": os.cpu_count(), "hybridsim": ours, "target_events_per_s": TARGET}
    print(f"hybridsim SSA, two-stage model, {args.cells} cells × {args.t_end:g} min: {ours['events']} events")
    print(f"  {ours['events_per_s']:.3g} events/s per core (median of {args.repeats}; best "
          f"{ours['best_events_per_s']:.3g}); target ≥ {TARGET:.2g}: "
          f"{'met' if ours['events_per_s'] >= TARGET else 'NOT met'}")
    print(f"  vs GillesPy2 SSACSolver reference {REFERENCE_GILLESPY2:.2g} events/s: "
          f"{ours['events_per_s'] / REFERENCE_GILLESPY2:.1f}×")
    if args.vs_gillespy2:
        theirs = bench_gillespy2(args.gillespy2_trajectories, args.t_end)
        if theirs is None:
            print("  --vs-gillespy2: gillespy2 is not installed (pip install gillespy2; needs g++ and make)")
        else:
            ratio = ours["expected_events_per_s"] / theirs["expected_events_per_s"]
            result["gillespy2"] = theirs
            result["ratio_vs_gillespy2"] = ratio
            print(f"  GillesPy2 SSACSolver, {theirs['trajectories']} trajectories: "
                  f"{theirs['expected_events_per_s']:.3g} expected events/s; hybridsim "
                  f"{ours['expected_events_per_s']:.3g} → {ratio:.1f}× faster")
    if args.tau_cells > 0:
        rows = bench_tau_leaping(args.tau_cells)
        result["tau_leaping_birth_death_1000"] = rows
        print(f"tau-leaping vs exact, birth–death at 1000 copies, {args.tau_cells} cells × 10 min:")
        for r in rows:
            label = r["method"] + (f" ε={r['epsilon']:g}" if r["epsilon"] else "")
            print(f"  {label:<20}{r['wall_s']:8.3f} s  ×{r['speedup']:<6.1f} mean {r['mean']:8.2f}  "
                  f"Fano {r['fano']:.3f} (exact: 1)")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
