"""The box layout matches PETSc's numbering and ownership on 1, 2 and 4 ranks."""

import json

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


GRIDS = [(7,), (100,), (16, 16), (125, 10), (10, 125), (64, 32), (17, 19), (45, 31), (32, 32, 32), (128, 16, 8),
         (8, 16, 128), (45, 30, 20), (12, 40, 9), (64, 64, 8)]


@pytest.mark.parametrize("n", (1, 2, 3, 4))
def test_the_predicted_process_grid_is_the_one_petsc_chooses(n, tmp_path, mpirun):
    """`hybridsim check --ranks N` predicts the rank grid (and so the preconditioner) of
    a run on N ranks without running one: the prediction is PETSc's own choice."""
    script = tmp_path / "procs.py"
    script.write_text(f'''
import json
from mpi4py import MPI
from hybridsim.parallel.layout import default_proc_sizes
from hybridsim.parallel.petsc import get_petsc
PETSc = get_petsc()
out = []
for cells in {GRIDS!r}:
    da = PETSc.DMDA().create(dim=len(cells), dof=1, sizes=cells, stencil_width=1, comm=PETSc.COMM_WORLD)
    out.append([list(cells), [int(p) for p in da.getProcSizes()], list(default_proc_sizes(cells, MPI.COMM_WORLD.size))])
    da.destroy()
if MPI.COMM_WORLD.rank == 0:
    print(json.dumps(out))
''')
    result = mpirun(n, [str(script)])
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(rows) == len(GRIDS)
    for cells, petsc, predicted in rows:
        assert predicted == petsc, cells
