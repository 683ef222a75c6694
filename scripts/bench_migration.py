#!/usr/bin/env python3
"""Benchmark: agent migration with hybridsim's Alltoallv exchange against PETSc's DMSwarm.

Both move the same particles on a 2D DMDA of 1000 × 1000 µm (100 × 100 cells):
``--particles`` in total, uniformly placed and first sent to their owners, then
displaced by Gaussian jumps of ``--jump`` µm and migrated once more. Reported
per method: time of the timed migration (slowest rank), particles before and
after (a difference means particles were lost or duplicated), and particles
that ended on a rank that does not own their position.

DMSwarm (type PIC, cell DM = a vertex DMDA with the same extent, migrate with
``remove_sent_points=True``) carries the same payload: id (as a real: this
PETSc has no int64 swarm fields), 2 coordinates, 2 counts, age.

    mpirun -n 2 python scripts/bench_migration.py
    mpirun -n 4 python scripts/bench_migration.py --jump 400   # jumps past the neighbour
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--particles", type=int, default=1_000_000)
    parser.add_argument("--jump", type=float, default=20.0, help="standard deviation of a jump, µm")
    parser.add_argument("--aspect", type=int, default=1,
                        help="domain aspect ratio x:y (e.g. 4 on 4 ranks gives a row of subdomains, "
                        "so long jumps skip a neighbour)")
    parser.add_argument("--json", help="output (default bench-results/migration-<ranks>.json)")
    args = parser.parse_args()

    from mpi4py import MPI

    from hybridsim.parallel.petsc import get_petsc, init

    init([])
    PETSc = get_petsc()
    from hybridsim.agents.store import AgentStore
    from hybridsim.config import Domain
    from hybridsim.parallel.agents import migrate
    from hybridsim.parallel.grid import Grid

    comm = MPI.COMM_WORLD
    L, cells = 1000.0, 100
    Lx, cells_x = L * args.aspect, cells * args.aspect
    grid = Grid(Domain((Lx, L), (cells_x, cells), (False, False)), comm)
    rank, size = comm.rank, comm.size
    n = args.particles // size
    rng = np.random.default_rng(rank)
    start = rng.uniform(0, 1, (n, 2)) * [Lx, L]
    results = {}

    # ---------------------------------------------------------------- hybridsim
    store = AgentStore(2, 2)
    store.append(rank * n + np.arange(n), start, np.ones((n, 2)), age=np.zeros(n))
    migrate(store, grid)
    pos = store.position
    pos += rng.normal(0.0, args.jump, pos.shape)
    np.clip(pos, 0.0, [Lx, L], out=pos)  # a wall: both methods see particles inside the box only
    before = comm.allreduce(store.n)
    comm.Barrier()
    t0 = MPI.Wtime()
    migrate(store, grid)
    wall = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
    after = comm.allreduce(store.n)
    wrong = comm.allreduce(int(np.count_nonzero(grid.owner_of(store.position) != rank)))
    results["hybridsim_alltoallv"] = {"seconds": wall, "before": before, "after": after, "misplaced": wrong}

    # ---------------------------------------------------------------- DMSwarm
    da = PETSc.DMDA().create(dim=2, sizes=(cells_x + 1, cells + 1), proc_sizes=grid.proc_sizes,
                             stencil_width=1, comm=PETSc.Comm(comm))
    da.setUniformCoordinates(0.0, Lx, 0.0, L)
    swarm = PETSc.DMSwarm().create(comm=PETSc.Comm(comm))
    swarm.setDimension(2)
    swarm.setType(PETSc.DMSwarm.Type.PIC)
    swarm.setCellDM(da)
    swarm.registerField("id", 1)
    swarm.registerField("counts", 2)
    swarm.registerField("age", 1)
    swarm.finalizeFieldRegister()
    swarm.setLocalSizes(n, 4)
    coords = swarm.getField("DMSwarmPIC_coor").reshape(n, 2)
    coords[:] = start
    swarm.restoreField("DMSwarmPIC_coor")
    ids = swarm.getField("id")
    ids[:] = rank * n + np.arange(n)
    swarm.restoreField("id")
    swarm.migrate(remove_sent_points=True)
    m = swarm.getLocalSize()
    coords = swarm.getField("DMSwarmPIC_coor").reshape(m, 2)
    coords += rng.normal(0.0, args.jump, coords.shape)
    np.clip(coords, 0.0, [Lx, L], out=coords)
    swarm.restoreField("DMSwarmPIC_coor")
    before = comm.allreduce(m)
    comm.Barrier()
    t0 = MPI.Wtime()
    swarm.migrate(remove_sent_points=True)
    wall = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
    m = swarm.getLocalSize()
    after = comm.allreduce(m)
    results["petsc_dmswarm"] = {"seconds": wall, "before": before, "after": after}
    swarm.destroy()
    da.destroy()

    if rank == 0:
        print(f"migration of {args.particles} particles on {size} ranks ({'×'.join(map(str, grid.proc_sizes))} "
              f"subdomains of {Lx:g} × {L:g} µm), jumps σ = {args.jump:g} µm")
        for name, r in results.items():
            lost = r["before"] - r["after"]
            print(f"  {name:<22}{r['seconds'] * 1e3:8.1f} ms   before {r['before']}  after {r['after']}  "
                  f"({'lost ' + str(lost) if lost > 0 else 'duplicated ' + str(-lost) if lost < 0 else 'none lost'})")
        path = Path(args.json or f"bench-results/migration-{size}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"particles": args.particles, "ranks": size, "jump_um": args.jump,
                                    "domain_um": [Lx, L], "proc_sizes": list(grid.proc_sizes),
                                    "results": results}, indent=2) + "\n")
        print(f"wrote {path}")
    grid.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
