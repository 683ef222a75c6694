#!/usr/bin/env python3
"""Run every example to its end on 1, 2, 3 and 4 ranks and report the exit code, the
wall time and every line a run printed to stderr (warnings included).

    .venv/bin/python scripts/run_examples.py [--ranks 1,2,3,4] [--json FILE] [EXAMPLE …]

Prints a table and writes JSON (default bench-results/examples.json); the exit code
is 1 if any run failed or printed to stderr. The feature-pair matrix on all rank
counts is ``HYBRIDSIM_ALL_RANKS=1 .venv/bin/python -m pytest tests/coupling/test_feature_pairs.py``.
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
ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMPI_MCA_mpi_yield_when_idle": "1"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples", nargs="*", help="config files (default: examples/*.toml)")
    parser.add_argument("--ranks", default="1,2,3,4", help="rank counts, comma-separated (default 1,2,3,4)")
    parser.add_argument("--json", default=str(ROOT / "bench-results" / "examples.json"), help="JSON output file")
    args = parser.parse_args()
    examples = [Path(e) for e in args.examples] or sorted((ROOT / "examples").glob("*.toml"))
    ranks = [int(r) for r in args.ranks.split(",")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "PMI_"))} | ENV
    results, failed = [], False
    with tempfile.TemporaryDirectory() as scratch:
        for example in examples:
            for n in ranks:
                out = Path(scratch) / f"{example.stem}-{n}"
                start = time.perf_counter()
                run = subprocess.run(["mpirun", "-q", "-n", str(n), sys.executable, "-m", "hybridsim", "run",
                                      str(example), "-o", str(out), "--quiet"], capture_output=True, text=True,
                                     env=env, cwd=ROOT)
                wall = time.perf_counter() - start
                lines = [x for x in run.stderr.splitlines() if x.strip()]
                failed |= run.returncode != 0 or bool(lines)
                results.append({"example": example.stem, "ranks": n, "exit": run.returncode,
                                "seconds": round(wall, 2), "stderr": lines})
                print(f"{example.stem:<20} {n} rank(s)  exit {run.returncode}  {wall:7.1f} s"
                      + "".join(f"\n    {x}" for x in lines), flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"{'some runs failed or printed to stderr' if failed else 'every run finished cleanly'}; "
          f"JSON: {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
