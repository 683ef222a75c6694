"""Run under mpirun by test_multigrid.py: the coarse levels' operators and the
prolongations of two grids whose rank boxes have odd bounds on 3 ranks, gathered in
natural cell order and written by rank 0 to the ``.npz`` file named on the command
line."""

import sys

import numpy as np

from hybridsim.parallel.petsc import init

init([])

from mpi4py import MPI  # noqa: E402

from hybridsim.config import parse_config  # noqa: E402
from hybridsim.fields.multigrid import LevelOperators, MultigridHierarchy  # noqa: E402
from hybridsim.parallel.grid import Grid  # noqa: E402

CASES = {
    "2d": """
[domain]
size = [88.0, 24.0]
cells = [44, 12]
periodic = ["y"]
[time]
dt = 0.01
t_end = 1.0
[species.c]
D = { value = 100.0, layers = { axis = "x", thickness = [13.0, 21.0], values = [20.0, 300.0] } }
decay = { value = 0.5, regions = [{ center = [30.0, 8.0], radius = 9.0, value = 4.0 }] }
boundary.x_min = { type = "dirichlet", value = 2.0 }
""",
    "3d": """
[domain]
size = [12.0, 20.0, 12.0]
cells = [12, 20, 12]
periodic = ["x"]
[time]
dt = 0.01
t_end = 1.0
[species.c]
D = { value = 30.0, regions = [{ center = [4.0, 11.0, 6.0], radius = 5.0, value = 3.0 }] }
decay = 0.2
boundary.y_max = { type = "dirichlet", value = 0.0 }
boundary.z_min = { type = "dirichlet", value = 1.0 }
""",
}


def natural(M, rows_layout, cols_layout, comm) -> np.ndarray | None:
    """``M`` as a dense array in natural cell order (x fastest), on rank 0."""
    indptr, indices, values = M.getValuesCSR()
    start, _ = M.getOwnershipRange()
    triples = comm.gather((start + np.repeat(np.arange(len(indptr) - 1), np.diff(indptr)), indices, values))
    if comm.rank != 0:
        return None
    to_natural = []
    for layout in (rows_layout, cols_layout):
        cells = [b[-1] for b in layout.bounds]
        coords = np.stack(np.unravel_index(np.arange(int(np.prod(cells))), cells, order="F"))
        order = np.empty(coords.shape[1], dtype=np.int64)
        order[layout.petsc_index(coords)] = np.arange(coords.shape[1])
        to_natural.append(order)
    n_rows, n_cols = M.getSize()
    dense = np.zeros((n_rows, n_cols))
    for r, c, v in triples:
        dense[to_natural[0][r], to_natural[1][c]] = v
    return dense


def main() -> None:
    comm = MPI.COMM_WORLD
    out = {}
    for name, text in CASES.items():
        config = parse_config(text)
        grid = Grid(config.domain)
        hierarchy = MultigridHierarchy(grid)
        levels = LevelOperators(hierarchy, config.species[0])
        for k in (1, 2):
            out[f"{name}-L{k}"] = natural(levels.operator(k), hierarchy.layout(k), hierarchy.layout(k), comm)
            P = hierarchy.prolongation(k)
            out[f"{name}-P{k}"] = natural(P, hierarchy.layout(k - 1), hierarchy.layout(k), comm)
            # the matrix-free prolongation and restriction against the assembled ones
            shell = hierarchy.transfer(k)
            coarse, fine = P.createVecRight(), P.createVecLeft()
            for v, seed in ((coarse, 1), (fine, 2)):
                start, end = v.getOwnershipRange()
                v.getArray()[:] = np.sin(seed * np.arange(start, end) + 0.3)
            worst = 0.0
            for forward in (True, False):
                x, y = (coarse, fine) if forward else (fine, coarse)
                ours, theirs = y.duplicate(), y.duplicate()
                ours.set(0.5)  # the …Add forms add to what is there
                theirs.set(0.5)
                (shell.multAdd if forward else shell.multTransposeAdd)(x, ours, ours)
                (P.multAdd if forward else P.multTransposeAdd)(x, theirs, theirs)
                (shell.mult if forward else shell.multTranspose)(x, y)
                ours.axpy(-1.0, theirs)
                theirs.axpy(-1.0, y)  # the …Add form minus the plain one is the 0.5 it started from
                theirs.shift(-0.5)
                worst = max(worst, ours.norm(3), theirs.norm(3))
                for v in (ours, theirs):
                    v.destroy()
            out[f"{name}-shell{k}"] = np.array([worst <= 1e-14])
            for v in (coarse, fine):
                v.destroy()
        levels.destroy()
        hierarchy.destroy()
    if comm.rank == 0:
        np.savez(sys.argv[1], **out)


if __name__ == "__main__":
    main()
