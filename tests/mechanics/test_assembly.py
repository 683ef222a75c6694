"""The stiffness matrix, built row by row (each rank its own rows whole, handed to
PETSc as CSR arrays), equals the element-by-element assembly through PETSc on 1 and
3 ranks, for plane stress with layered E and a 3D solid with selective integration
on odd grids; it is symmetric and keeps the block size of the displacement."""

from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "assembly_check.py"


@pytest.mark.parametrize("n", (1, 3))
def test_row_by_row_assembly_equals_the_element_by_element_one(n, mpirun):
    result = mpirun(n, [str(SCRIPT)])
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()]
    assert [int(r[0]) for r in rows] == [2, 3]
    for dim, gap, big, block, symmetric in rows:
        assert float(big) > 1.0
        assert float(gap) <= 1e-13 * float(big), (dim, gap, big)
        assert int(block) == int(dim) and symmetric == "True"
