"""Run under mpirun: contact forces with ghost copies against an O(N²) sum.

Usage: ghosts.py DIM PERIODIC SIZE... (PERIODIC: axes letters, e.g. "xy", or "-").
Every rank draws the same cells, keeps those it owns, gets its ghosts and computes
the contact velocities of its cells. Checks, per rank, against (1) a brute-force sum
over every cell and periodic image and (2) the same kernel on one rank
(COMM_SELF) with the whole population: bitwise; and (3) the neighbour-graph
transport gives exactly the ghosts of the Alltoallv one. Prints one JSON line from
rank 0.
"""

import json
import sys

import numpy as np
from mpi4py import MPI

from hybridsim.parallel.petsc import init

init([])

from hybridsim.agents.contact import POTENTIAL, contact_velocities  # noqa: E402
from hybridsim.config import Domain  # noqa: E402
from hybridsim.parallel.ghosts import GhostExchange, exchange_ghosts  # noqa: E402
from hybridsim.parallel.grid import Grid  # noqa: E402

dim = int(sys.argv[1])
periodic = tuple("xyz"[a] in sys.argv[2] for a in range(dim))
size = np.array([float(v) for v in sys.argv[3:3 + dim]])
cells = tuple(max(1, int(s // 10)) for s in size)
domain = Domain(tuple(size), cells, periodic)
comm = MPI.COMM_WORLD
grid = Grid(domain, comm)

rng = np.random.default_rng(42)
n = 400
position = rng.uniform(0.0, 1.0, (n, dim)) * size
# cells on the faces of subdomains and of the domain, and at corners
position[:40] = np.round(position[:40] / 10.0) * 10.0
position[:40] = np.minimum(position[:40], np.nextafter(size, 0))
radius = rng.uniform(6.0, 12.0, n)
ids = rng.permutation(n).astype(np.int64) * 7 + 3
reach = 1.25
h = 2 * radius.max() * reach
law = (POTENTIAL, 10.0, 0.4, reach, 1.0, size, np.zeros((dim, 2), np.int64), 0.0, 0.1)


def velocities(g, mine):
    ghosts = exchange_ghosts(g, position[mine], radius[mine], ids[mine], h)
    v = np.empty((mine.size, dim))
    p = np.empty(mine.size)
    contact_velocities((position[mine], radius[mine], ids[mine]), ghosts, h, *law, v, p)
    return v, p, ghosts


mine = np.nonzero(grid.owner_of(position) == comm.rank)[0]
v, p, ghosts = velocities(grid, mine)

# brute force over every cell and every periodic image
shifts = np.array(np.meshgrid(*[(-s, 0.0, s) if per else (0.0,) for s, per in zip(size, periodic)],
                              indexing="ij")).reshape(dim, -1).T
reference = np.zeros((mine.size, dim))
for shift in shifts:
    diff = position[mine][:, None, :] - (position[None, :, :] + shift)
    d = np.maximum(np.sqrt((diff**2).sum(-1)), 1e-5)  # coincident centres count as 1e-5 µm apart
    rsum = radius[mine][:, None] + radius[None, :]
    same = (mine[:, None] == np.arange(n)[None, :]) & np.all(shift == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        push = np.where(d < rsum, (1 - d / rsum) ** 2, 0.0)
        pull = np.where(d < reach * rsum, (1 - d / (reach * rsum)) ** 2, 0.0)
        scale = np.where(same, 0.0, (10.0 * push - 0.4 * pull) / d)
    reference += (scale[:, :, None] * diff).sum(1)

scale = comm.allreduce(float(np.abs(reference).max()) if mine.size else 0.0, op=MPI.MAX)
error = comm.allreduce(float(np.abs(v - reference).max()) if mine.size else 0.0, op=MPI.MAX)
touching = comm.allreduce(int((np.abs(reference).sum(1) > 0).sum()))

# the same kernel on one rank, with every cell: bitwise
single = Grid(domain, MPI.COMM_SELF)
v1, p1, _ = velocities(single, np.arange(n))
bitwise = comm.allreduce(bool(np.array_equal(v1[mine], v) and np.array_equal(p1[mine], p)), op=MPI.LAND)
owned = comm.allreduce(mine.size)
ghost_copies = comm.allreduce(ghosts[2].size)
neighbor = GhostExchange(grid, "neighbor")
by_graph = neighbor(position[mine], radius[mine], ids[mine], h)
same_ghosts = comm.allreduce(all(np.array_equal(a, b) for a, b in zip(by_graph, ghosts)), op=MPI.LAND)
again = neighbor(position[mine], radius[mine], ids[mine], 0.9 * h)  # a smaller reach: the same graph
fewer = comm.allreduce(bool(again[2].size <= ghosts[2].size), op=MPI.LAND)
neighbor.free()
widths = [float(np.diff(b).min() * s / c) for b, s, c in zip(grid.layout.bounds, size, cells)]
if comm.rank == 0:
    print(json.dumps({"ranks": comm.size, "procs": list(grid.proc_sizes), "owned": owned, "error": error,
                      "scale": scale, "touching": touching, "bitwise": bitwise, "ghosts": ghost_copies,
                      "same_ghosts_by_graph": same_ghosts, "fewer_with_less_reach": fewer,
                      "thinnest": min(widths), "h": h}))
