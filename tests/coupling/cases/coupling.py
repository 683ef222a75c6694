"""Run under mpirun: sampling and deposition on 2D/3D grids.

Usage: coupling.py DIM. Every rank draws the same global set of points, keeps
those it owns, samples a linear field, deposits amounts, and rank 0 prints one
JSON line with the errors and the deposited field in natural order.
"""

import json
import sys

import numpy as np
from mpi4py import MPI

from hybridsim.parallel.petsc import init

init([])

from hybridsim.config import Domain  # noqa: E402
from hybridsim.coupling.transfer import AgentStencil, FieldTransfer  # noqa: E402
from hybridsim.parallel.grid import Grid  # noqa: E402

dim = int(sys.argv[1])
size = np.array((40.0, 30.0, 20.0)[:dim])
cells = (8, 6, 5)[:dim]
periodic = (False, True, False)[:dim]
grid = Grid(Domain(tuple(size), cells, periodic), MPI.COMM_WORLD)
comm = grid.comm
rng = np.random.default_rng(42)
points = rng.uniform(0, 1, (3000, dim)) * size
# adversarial points: on cell faces, subdomain boundaries, cell centres, walls and corners
h = size / np.array(cells)
faces = rng.integers(0, np.array(cells) + 1, (300, dim)) * h
centres = (rng.integers(0, np.array(cells), (300, dim)) + 0.5) * h
points = np.vstack([points, faces, centres, np.zeros((1, dim)), size[None, :]])
amounts = 1.0 + np.arange(points.shape[0]) % 3
mine = grid.owner_of(points) == comm.rank
stencil = AgentStencil(grid, points[mine])
transfer = FieldTransfer(grid)

# linear field c = 2 + 0.3 x - 0.2 y + 0.1 z, constant along the periodic axis y
slope = np.array([0.3, 0.0, 0.1])[:dim]
c = grid.global_vec()
grid.view(c)[...] = (2.0 + grid.cell_centers() @ slope).reshape(grid.counts, order="F")
values, gradients = transfer.sample(c, stencil, gradient=True)
exact = 2.0 + points[mine] @ slope
# exact away from non-periodic walls (within h/2 of one the value is held constant)
inner = np.ones(mine.sum(), dtype=bool)
strictly_inner = inner.copy()  # the gradient is one-sided exactly on the last centre
for a in range(dim):
    if not periodic[a]:
        x = points[mine][:, a]
        inner &= (x >= h[a] / 2) & (x <= size[a] - h[a] / 2)
        strictly_inner &= (x > h[a] / 2) & (x < size[a] - h[a] / 2)
value_error = comm.allreduce(float(np.abs(values - exact)[inner].max(initial=0.0)), op=MPI.MAX)
gradient_error = comm.allreduce(float(np.abs(gradients - slope)[strictly_inner].max(initial=0.0)), op=MPI.MAX)
ones = grid.global_vec()
ones.set(1.0)
constant_error = comm.allreduce(float(np.abs(transfer.sample(ones, stencil) - 1.0).max(initial=0.0)), op=MPI.MAX)

target = grid.global_vec()
target.set(0.5)  # deposition adds to what is there
transfer.deposit(target, stencil, amounts[mine])
total = grid.integrate(target) - 0.5 * np.prod(size)
field = grid.view(target, readonly=True).T.copy()
parts = comm.gather((grid.natural_slices(), field), root=0)
if comm.rank == 0:
    natural = np.zeros(tuple(reversed(cells)))
    for slices, block in parts:
        natural[slices] = block
    print(json.dumps({"ranks": comm.size, "value_error": value_error, "gradient_error": gradient_error,
                      "constant_error": constant_error, "deposited": total, "given": float(amounts.sum()),
                      "min": float(natural.min()), "field": natural.ravel().tolist()}))
for obj in (c, ones, target):
    obj.destroy()
transfer.destroy()
grid.destroy()
