#!/usr/bin/env python3
"""Benchmark: hybrid partitioned simulation against exact SSA on two networks where
a low-copy species drives a high-copy one.

* telegraph — one gene switches on and off (k = 0.05/min each way); when on it
  makes protein P at 2000/min; P decays at 0.1/min: mean 10⁴, Fano 5001.
* two-stage — mRNA M (2/min, decay 0.5/min; ~4 copies) is translated at 100/min per
  mRNA into P (decay 0.05/min): mean 8000, Fano 1 + 100/0.55 = 182.8.

Each method simulates ``--cells`` independent cells for 150 min (well past the
transient) on one core; printed: wall time, speed-up over exact SSA, and the
mean and Fano factor of P against the closed forms and the exact run. JSON goes
to bench-results/partitioned.json.

    python scripts/bench_partitioned.py [--cells N] [--tau-leaping]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

NETWORKS = {
    "telegraph": ({"species": {"G": 0, "Gon": 1, "P": 10000}, "reactions": [
        {"name": "on", "reactants": {"G": 1}, "products": {"Gon": 1}, "rate": 0.05},
        {"name": "off", "reactants": {"Gon": 1}, "products": {"G": 1}, "rate": 0.05},
        {"name": "make", "reactants": {"Gon": 1}, "products": {"Gon": 1, "P": 1}, "rate": 2000.0},
        {"name": "decay", "reactants": {"P": 1}, "rate": 0.1}]}, 10000.0, 1 + 2000 * 0.05 / (0.1 * 0.2)),
    "two-stage": ({"species": {"M": 4, "P": 8000}, "reactions": [
        {"products": {"M": 1}, "rate": 2.0}, {"reactants": {"M": 1}, "rate": 0.5},
        {"reactants": {"M": 1}, "products": {"M": 1, "P": 1}, "rate": 100.0},
        {"reactants": {"P": 1}, "rate": 0.05}]}, 8000.0, 1 + 100 / 0.55),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=3000)
    parser.add_argument("--tau-leaping", action="store_true", help="also time tau-leaping (slow on these networks)")
    parser.add_argument("--json", default="bench-results/partitioned.json")
    args = parser.parse_args()

    import numpy as np

    from hybridsim.agents import simulate_well_mixed

    methods = [("exact", 0.01), ("hybrid", 0.01), ("hybrid", 0.03)] + ([("tau-leaping", 0.01)] if args.tau_leaping
                                                                       else [])
    results = {}
    for name, (net, mean, fano) in NETWORKS.items():
        rows = {}
        for method, eps in methods:
            simulate_well_mixed(net, 4, [1.0], method=method, epsilon=eps)  # compile
            t0 = time.perf_counter()
            x = simulate_well_mixed(net, args.cells, [150.0], seed=3, method=method, epsilon=eps)[-1, :, -1]
            wall = time.perf_counter() - t0
            x = x.astype(float)
            label = method if method == "exact" else f"{method} ε={eps:g}"
            rows[label] = {"seconds": wall, "mean": x.mean(), "fano": x.var(ddof=1) / x.mean(),
                           "mean_stderr": float(np.sqrt(x.var() / x.size))}
        exact = rows["exact"]["seconds"]
        print(f"{name}: P mean {mean:g}, Fano {fano:.4g} (closed form); {args.cells} cells, 150 min")
        for label, r in rows.items():
            r["speedup"] = exact / r["seconds"]
            print(f"  {label:<18} {r['seconds']:7.2f} s  ×{r['speedup']:5.1f}   mean {r['mean']:9.1f} "
                  f"(±{r['mean_stderr']:.0f})   Fano {r['fano']:8.2f}")
        results[name] = {"closed_form": {"mean": mean, "fano": fano}, "cells": args.cells, "methods": rows}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
