"""Run under mpirun: agents jump around a 2D/3D grid and migrate to their owners.

Usage: migration.py DIM MODE, MODE = random (long Gaussian jumps across several
subdomains) or adversarial (positions on grid lines, subdomain boundaries,
domain corners and the upper faces). Prints one JSON line from rank 0.
"""

import json
import sys

import numpy as np
from mpi4py import MPI

from hybridsim.parallel.petsc import init

init([])

from hybridsim.agents.motility import PERIODIC, REFLECTING, apply_boundaries  # noqa: E402
from hybridsim.agents.store import AgentStore  # noqa: E402
from hybridsim.config import Domain  # noqa: E402
from hybridsim.parallel.agents import daughter_ids, migrate  # noqa: E402
from hybridsim.parallel.grid import Grid  # noqa: E402

dim, mode = int(sys.argv[1]), sys.argv[2]
size = np.array((100.0, 60.0, 40.0)[:dim])
cells = (10, 6, 4)[:dim]
periodic = (True, False, False)[:dim]
grid = Grid(Domain(tuple(size), cells, periodic), MPI.COMM_WORLD)
comm = grid.comm
rank = comm.rank
rng = np.random.default_rng(1000 + rank)
h = size / np.array(cells)

n0 = 1500 * (rank + 1)  # uneven on purpose
ids = rank * 10**6 + np.arange(n0, dtype=np.int64)
store = AgentStore(dim, 2, persistent=True)
store.append(ids, rng.uniform(0, 1, (n0, dim)) * size, np.stack([ids, 2 * ids], axis=1), age=0.5 * ids,
             direction=np.zeros((n0, dim)))
kinds = np.array([[PERIODIC, PERIODIC] if p else [REFLECTING, REFLECTING] for p in periodic])
misplaced = 0
moved = 0
for _ in range(6):
    pos = store.position
    if mode == "random":
        pos += rng.normal(0.0, 40.0, pos.shape)  # several subdomains per jump
    else:
        # exact grid lines (every subdomain boundary is one), 0 and L, and their float neighbours
        k = rng.integers(0, np.array(cells) + 1, pos.shape)
        lines = k * h
        choice = rng.integers(0, 4, pos.shape)
        pos[...] = np.where(choice == 0, lines, np.where(choice == 1, np.nextafter(lines, -np.inf),
                            np.where(choice == 2, np.nextafter(lines, np.inf), pos)))
    alive = np.ones(store.n, dtype=bool)
    apply_boundaries(store.position, store.direction, size, kinds, alive)
    assert alive.all()
    # the one-pass owner kernel agrees with the layout's cell → rank map
    owners_agree = np.array_equal(grid.owner_of(store.position), grid.layout.rank_of(grid.cell_index(store.position)))
    assert owners_agree
    moved += migrate(store, grid)
    misplaced += int(np.count_nonzero(grid.owner_of(store.position) != rank))

ids_all = comm.gather(store.ids.copy(), root=0)
counts_all = comm.gather(store.counts.copy(), root=0)
age_all = comm.gather(store.age.copy(), root=0)
misplaced = comm.reduce(misplaced, root=0)
moved = comm.reduce(moved, root=0)

# daughter ids: every rank's mothers are a random subset of its agents
mothers = np.sort(rng.choice(store.ids, size=min(store.n, 50 + 13 * rank), replace=False))
next_id = comm.size * 10**6
new, next_after = daughter_ids(comm, mothers, next_id)
pairs = comm.gather(np.stack([mothers, new], axis=1), root=0)

if rank == 0:
    ids_all = np.concatenate(ids_all)
    counts_all = np.concatenate(counts_all)
    age_all = np.concatenate(age_all)
    expected = np.concatenate([r * 10**6 + np.arange(1500 * (r + 1)) for r in range(comm.size)])
    pairs = np.concatenate(pairs)
    order = np.argsort(pairs[:, 0])
    print(json.dumps({
        "ranks": comm.size,
        "total": int(ids_all.size),
        "expected_total": int(expected.size),
        "unique": int(np.unique(ids_all).size),
        "same_ids": bool(np.array_equal(np.sort(ids_all), np.sort(expected))),
        "payload_intact": bool(np.array_equal(counts_all[:, 0], ids_all)
                               and np.array_equal(counts_all[:, 1], 2 * ids_all)
                               and np.array_equal(age_all, 0.5 * ids_all)),
        "misplaced": misplaced,
        "moved": moved,
        "daughters_ranked_by_mother_id": bool(np.array_equal(pairs[order, 1],
                                                             next_id + np.arange(pairs.shape[0]))),
        "next_id_advanced": int(next_after - next_id) == pairs.shape[0],
    }))
grid.destroy()
