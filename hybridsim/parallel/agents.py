"""Agent communication: migration to the owning rank and rank-independent ids.

Migration packs the leaving agents' columns into one uint64 array sorted by
destination and exchanges it with one ``Alltoall`` (counts) and one
``Alltoallv`` (rows). Agents may jump any number of subdomains in a step; each
goes straight to the owner of its new position (:meth:`Grid.owner_of`).

PETSc's DMSwarm was measured against this and not used: it drops particles that
jump past the neighbouring subdomain, its ``migrate`` keeps sent points unless
told otherwise, it has no int64 fields in PETSc 3.18, and it locates points in
vertex cells whose ownership differs from the cell-centred fields'
(``scripts/bench_migration.py``; figures in ``docs/agents.md``).

Daughter ids: the dividing mothers of a step are ranked by id across all ranks
(a distributed counting sort over id ranges, two ``Alltoallv``), and daughter
``r`` gets id ``next_id + r``. The result is the same on any number of ranks.
"""

from __future__ import annotations

import numpy as np

from .collective import offsets
from .grid import Grid


def _alltoallv(comm, send: np.ndarray, send_counts: np.ndarray, width: int = 1):
    """Exchange rows of ``send`` (grouped by destination, ``send_counts`` rows each);
    returns the received rows (grouped by source) and their counts."""
    from mpi4py import MPI

    recv_counts = np.empty_like(send_counts)
    comm.Alltoall(send_counts, recv_counts)
    send_displ = np.concatenate([[0], np.cumsum(send_counts)[:-1]]) * width
    recv_displ = np.concatenate([[0], np.cumsum(recv_counts)[:-1]]) * width
    recv = np.empty((int(recv_counts.sum()),) + send.shape[1:], dtype=send.dtype)
    mpi_type = MPI.UINT64_T if send.dtype == np.uint64 else MPI.INT64_T
    comm.Alltoallv([np.ascontiguousarray(send), (send_counts * width, send_displ), mpi_type],
                   [recv, (recv_counts * width, recv_displ), mpi_type])
    return recv, recv_counts


def migrate(store, grid: Grid) -> int:
    """Send every agent outside this rank's subdomain to its owner (collective);
    returns the number of agents this rank sent. ``store`` is an
    :class:`~hybridsim.agents.store.AgentStore` (its ``position``, ``pack``,
    ``remove``, ``append_packed`` and ``row_words``)."""
    comm = grid.comm
    if comm.size == 1:
        return 0
    owner = grid.owner_of(store.position)
    leaving = np.nonzero(owner != comm.rank)[0]
    leaving = leaving[np.argsort(owner[leaving], kind="stable")]
    send_counts = np.bincount(owner[leaving], minlength=comm.size).astype(np.int64)
    rows = store.pack(leaving)
    received, _ = _alltoallv(comm, rows, send_counts, store.row_words)
    store.remove(leaving)
    store.append_packed(received)
    return int(leaving.size)


def daughter_ids(comm, mother_ids: np.ndarray, next_id: int) -> tuple[np.ndarray, int]:
    """New ids for the daughters of ``mother_ids`` (this rank's dividing cells, in
    increasing id order) and the next free id (collective).

    Daughter of the mother ranked ``r`` among all ranks' mothers by id gets
    ``next_id + r``; ids below ``next_id`` are all taken."""
    mother_ids = np.asarray(mother_ids, dtype=np.int64)
    total = comm.allreduce(int(mother_ids.size))
    if total == 0:
        return np.empty(0, dtype=np.int64), next_id
    if comm.size == 1:
        return next_id + np.arange(mother_ids.size, dtype=np.int64), next_id + total
    # rank b ranks the ids in [b·width, (b+1)·width)
    width = -(-next_id // comm.size)
    bucket = np.minimum(mother_ids // width, comm.size - 1)
    send_counts = np.bincount(bucket, minlength=comm.size).astype(np.int64)
    received, recv_counts = _alltoallv(comm, mother_ids, send_counts)
    order = np.argsort(received, kind="stable")
    rank_in_bucket = np.empty(received.size, dtype=np.int64)
    rank_in_bucket[order] = np.arange(received.size)
    new = next_id + offsets(comm, int(received.size))[0] + rank_in_bucket
    back, _ = _alltoallv(comm, new, recv_counts)
    return back, next_id + total
