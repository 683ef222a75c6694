"""Ghost copies across ranks give every cell the contact forces of an O(N²) sum over
all cells and periodic images (to 1e-12), bitwise those of one rank: faces, edges,
corners, periodic faces and subdomains thinner than the interaction distance; the
neighbour-graph transport delivers exactly the ghosts of the Alltoallv one."""

import json
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "cases"


@pytest.mark.mpi
@pytest.mark.parametrize("n", (2, 3, 4))
@pytest.mark.parametrize("dim, periodic, size", [
    (2, "-", (120.0, 90.0)),
    (2, "xy", (120.0, 90.0)),
    (2, "x", (80.0, 40.0)),  # 3 and 4 ranks along x: subdomains thinner than the interaction distance
    (3, "xyz", (60.0, 60.0, 60.0)),
    (3, "z", (70.0, 50.0, 60.0)),
])
def test_ghost_forces_match_the_brute_force_sum(n, dim, periodic, size, mpirun):
    result = mpirun(n, [str(CASES / "ghosts.py"), str(dim), periodic, *map(str, size)])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ranks"] == n and report["owned"] == 400
    assert report["touching"] > 200  # the cells really push on each other
    assert report["ghosts"] > 0
    assert report["error"] < 1e-12 * report["scale"], report
    assert report["bitwise"]
    assert report["same_ghosts_by_graph"] and report["fewer_with_less_reach"]
    if size == (80.0, 40.0) and n > 2:
        assert report["thinnest"] < report["h"]  # the case really has subdomains thinner than h
