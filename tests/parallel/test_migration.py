"""Migration on 1, 2 and 4 ranks never loses or duplicates an agent, for jumps of any length."""

import json
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "cases"


@pytest.mark.mpi
@pytest.mark.parametrize("n", (2, 4))
@pytest.mark.parametrize("dim, mode", [(2, "random"), (2, "adversarial"), (3, "random"), (3, "adversarial")])
def test_migration_loses_and_duplicates_nothing(n, dim, mode, mpirun):
    result = mpirun(n, [str(CASES / "migration.py"), str(dim), mode])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ranks"] == n
    assert report["total"] == report["expected_total"]
    assert report["unique"] == report["total"]
    assert report["same_ids"] and report["payload_intact"]
    assert report["misplaced"] == 0
    assert report["moved"] > report["total"]  # agents really crossed subdomains, many times
    assert report["daughters_ranked_by_mother_id"] and report["next_id_advanced"]
