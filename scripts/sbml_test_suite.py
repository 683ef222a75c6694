#!/usr/bin/env python3
"""Benchmark: the SBML Test Suite's 39 stochastic cases (DSMTS) with 10⁴ runs each
through hybridsim.agents.simulate_well_mixed, judged by the suite's own criterion
(|Z| < 3 and |Y| < 5 at every output time, 0–1 excursions allowed; see
hybridsim/analysis/sbml_suite.py). Prints a line per case and `passed: k/39`; a refused
case prints hybridsim's one-line reason. JSON to bench-results/sbml-test-suite.json.

    python scripts/sbml_test_suite.py [--runs 10000] [--cases tests/data/sbml-test-suite-stochastic]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs per case (the suite's 10⁴)")
    parser.add_argument("--cases", type=Path, default=ROOT / "tests" / "data" / "sbml-test-suite-stochastic")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results" / "sbml-test-suite.json")
    args = parser.parse_args()
    from hybridsim.analysis.sbml_suite import run_suite

    start = time.perf_counter()
    results = run_suite(args.cases, args.runs, args.seed)
    for r in results:
        if r.refused:
            print(f"{r.case}  refused   {r.refused}")
        else:
            worst = ", ".join(f"{v}: max|Z| {z:.2f}, max|Y| {y:.2f}, excursions {r.excursions[v]}"
                              for v, (z, y) in r.worst.items())
            print(f"{r.case}  {'pass' if r.passed else 'FAIL'}      {worst}")
    passed = sum(r.passed for r in results)
    print(f"passed: {passed}/{len(results)} ({sum(bool(r.refused) for r in results)} refused) with {args.runs} runs "
          f"each, {time.perf_counter() - start:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"runs": args.runs, "passed": passed, "cases": len(results),
                                     "results": [r.__dict__ for r in results]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
