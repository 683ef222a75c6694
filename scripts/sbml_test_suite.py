#!/usr/bin/env python3
"""Benchmark: the SBML Test Suite's 39 stochastic cases (DSMTS) with 10⁴ runs each
through hybridsim.agents.simulate_well_mixed, judged by the suite's own criterion
(|Z| < 3 and |Y| < 5 at every output time, 0–1 excursions allowed; see
hybridsim/analysis/sbml_suite.py). Prints a line per case and `passed: k/39`; a refused
case prints hybridsim's one-line reason. JSON to bench-results/sbml-test-suite.json.

``--tissue`` runs every case instead as the network of ``--cells`` cells of a tissue
(cells that do not move, no fields; ``hybridsim run`` on ``--ranks`` ranks) and judges
the run's summary by the same criterion with at most 3 excursions per variable
(hybridsim.analysis.sbml_suite.judge_summary: the outputs are the same cells at
successive times, and the summary holds no fourth moments, so Y is the uncorrected one).

    python scripts/sbml_test_suite.py [--runs 10000] [--cases tests/data/sbml-test-suite-stochastic]
    python scripts/sbml_test_suite.py --tissue [--cells 10000] [--ranks 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs per case (the suite's 10⁴)")
    parser.add_argument("--cases", type=Path, default=ROOT / "tests" / "data" / "sbml-test-suite-stochastic")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the results (default bench-results/sbml-test-suite[-tissue].json)")
    parser.add_argument("--tissue", action="store_true", help="run each case in the cells of a tissue instead")
    parser.add_argument("--cells", type=int, default=10_000, help="--tissue: cells (default 10⁴)")
    parser.add_argument("--ranks", type=int, default=1, help="--tissue: MPI ranks of each run (default 1)")
    args = parser.parse_args()
    from hybridsim.analysis.sbml_suite import run_suite

    name = "sbml-test-suite-tissue.json" if args.tissue else "sbml-test-suite.json"
    args.json = args.json or ROOT / "bench-results" / name
    start = time.perf_counter()
    results = in_tissue(args) if args.tissue else run_suite(args.cases, args.runs, args.seed)
    for r in results:
        if r.refused:
            print(f"{r.case}  refused   {r.refused}")
        else:
            worst = ", ".join(f"{v}: max|Z| {z:.2f}, max|Y| {y:.2f}, excursions {r.excursions[v]}"
                              for v, (z, y) in r.worst.items())
            print(f"{r.case}  {'pass' if r.passed else 'FAIL'}      {worst}")
    passed = sum(r.passed for r in results)
    how = f"in {args.cells} cells of a tissue on {args.ranks} rank(s)" if args.tissue else f"with {args.runs} runs each"
    print(f"passed: {passed}/{len(results)} ({sum(bool(r.refused) for r in results)} refused) {how}, "
          f"{time.perf_counter() - start:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"runs": args.cells if args.tissue else args.runs, "tissue": args.tissue,
                                     "passed": passed, "cases": len(results),
                                     "results": [r.__dict__ for r in results]}, indent=2) + "\n")
    return 0


def in_tissue(args) -> list:
    """Every case as the network of a tissue's cells, judged on the run's summary."""
    import numpy as np

    from hybridsim.analysis.sbml_suite import CaseResult, judge_summary, tissue_config

    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    launch = ["mpirun", "-q", "--oversubscribe", "-n", str(args.ranks)] if args.ranks > 1 else []
    results = []
    for case in sorted(d for d in args.cases.iterdir() if d.is_dir() and d.name.isdigit()):
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "run.toml"
            config.write_text(tissue_config(case, args.cells, args.seed))
            run = subprocess.run([*launch, sys.executable, "-m", "hybridsim", "run", str(config), "-o",
                                  str(Path(tmp) / "out"), "--quiet"], capture_output=True, text=True, env=env)
            if run.returncode != 0:
                results.append(CaseResult(case.name, False, refused=run.stderr.strip().splitlines()[-1]))
                continue
            rows = np.genfromtxt(Path(tmp) / "out" / "summary.csv", delimiter=",", names=True)
            results.append(judge_summary(case, rows, args.cells))
    return results


if __name__ == "__main__":
    sys.exit(main())
