"""Field ↔ agent transfer: multilinear sampling is exact for linear fields, deposition
is its transpose and conserves amounts, and both give the same field on 1, 2, 4 ranks."""

import json
from pathlib import Path

import numpy as np
import pytest
from mpi import mpirun

CASES = Path(__file__).parent / "mpi_cases"


def _run(n, dim):
    result = mpirun(n, [str(CASES / "coupling.py"), str(dim)])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.mpi
@pytest.mark.parametrize("dim", (2, 3))
def test_sampling_and_deposition_are_exact_and_rank_independent(dim):
    reports = {n: _run(n, dim) for n in (1, 2, 4)}
    for n, r in reports.items():
        assert r["constant_error"] < 1e-14, n
        assert r["value_error"] < 1e-12, n
        assert r["gradient_error"] < 1e-12, n
        assert abs(r["deposited"] - r["given"]) <= 1e-11 * r["given"], n
        assert r["min"] >= 0.5  # deposition only adds
    reference = np.array(reports[1]["field"])
    for n in (2, 4):
        assert np.allclose(np.array(reports[n]["field"]), reference, rtol=1e-13, atol=1e-13), n
