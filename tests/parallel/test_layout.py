"""The box layout matches PETSc's numbering and ownership on 1, 2 and 4 ranks."""

import pytest


@pytest.mark.mpi
@pytest.mark.parametrize("n", (2, 4))
def test_layout_matches_petsc_numbering_and_ownership(n, tmp_path, mpirun):
    script = tmp_path / "layout.py"
    script.write_text('''
import numpy as np
from hybridsim.config import Domain
from hybridsim.parallel.grid import Grid
from hybridsim.parallel.petsc import get_petsc
PETSc = get_petsc()
grid = Grid(Domain((10.0, 9.0, 7.0), (10, 9, 7), (False, True, False)))
lay = grid.layout
index = np.indices(grid.domain.cells).reshape(3, -1, order="F")
natural = np.ravel_multi_index(index, grid.domain.cells, order="F")
petsc = grid.da.getAO().app2petsc(natural.astype(PETSc.IntType))
assert (lay.petsc_index(index) == petsc).all()
starts, counts = lay.box(grid.comm.rank)
assert starts == grid.starts and counts == grid.counts
mine = lay.rank_of(index) == grid.comm.rank
assert mine.sum() == grid.n_local
coarse = lay.coarsened()
assert coarse.cells == (5, 5, 4) and coarse.box_offsets[-1] == 100
print("ok", grid.comm.rank)
''')
    result = mpirun(n, [str(script)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok") == n
