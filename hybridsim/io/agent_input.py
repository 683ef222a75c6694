"""Initial agents: every placement of ``[agents] initial`` made on each rank
(:func:`initial_agents`), and those read from a file — positions and optionally
molecule counts from a CSV or HDF5 file (``[agents] initial = { file = … }``).

CSV: a header row naming the columns ``x``, ``y``, ``z`` (as many as the
domain has axes; µm) and optionally species names (molecules). HDF5: a dataset
``position`` of shape ``(n, dim)`` and optionally one integer dataset per
species name, shape ``(n,)``. Each rank reads only its block of rows; row ``r``
becomes the agent with id ``first_id + r``.
"""

from __future__ import annotations

import csv

import numpy as np

from ..agents import placement as place
from ..agents.placement import block
from ..config.agents import Placement
from ..errors import InputError
from .hdf5 import h5py_module


def initial_agents(config, grid) -> tuple[list, int]:
    """This rank's share of the initial agents of every placement of every cell type,
    as batches ``(ids, position, counts, type index)`` (to be sent to their owners;
    counts on the columns of every type's species), and the first id not used.
    Uniform and file placements split their ids over the ranks; a lattice gives each
    rank the sites in its subdomain. Ids are numbered through the types in order."""
    size = config.domain.size
    rank, n_ranks = grid.comm.rank, grid.comm.size
    species = config.agents.species
    batches = []
    first = 0
    for kind, cell in enumerate(config.agents.types):
        network = cell.network
        own = place.initial_counts_of(network.species, network.initial, species)
        for p in cell.placements:
            base = place.initial_counts(p, species, own)
            if p.kind == "uniform":
                ids, pos = place.uniform(p, size, first, rank, n_ranks, config.seed)
                counts = np.tile(base, (ids.size, 1))
            elif p.kind == "lattice":
                ids, pos = place.lattice(p, size, first, grid.spacing, grid.starts, grid.counts)
                counts = np.tile(base, (ids.size, 1))
            else:
                ids, pos, counts = from_file(p, size, species, base, first, rank, n_ranks, network.species)
            batches.append((ids, pos, counts, kind))
            first += placement_count(p, size)
    return batches, first


def placement_count(placement: Placement, size) -> int:
    """Number of ids ``placement`` uses: agents, lattice sites, or rows of its file."""
    if placement.kind == "file":
        return len(_file_rows(placement.file))
    return place.count(placement, size)


def check_file(placement: Placement, size, species: tuple[str, ...]) -> None:
    """Read every row of a file placement as ``run`` will, so ``check`` refuses what
    ``run`` would (serial)."""
    from_file(placement, size, species, np.zeros(len(species), dtype=np.int64), 0, 0, 1)


def _file_rows(path: str) -> list[str] | int:
    if path.lower().endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as f:
            return [line for line in f.read().splitlines()[1:] if line.strip()]
    h5py = h5py_module()
    with h5py.File(path, "r") as f:
        if "position" not in f:
            raise InputError(f"agent file {path!r} has no dataset 'position' (shape (n, dim), µm)")
        return range(f["position"].shape[0])


def from_file(placement: Placement, size, species: tuple[str, ...], base_counts: np.ndarray,
              first_id: int, rank: int, n_ranks: int, readable: tuple[str, ...] | None = None):
    """``(ids, positions, counts)`` of this rank's block of rows of a CSV or HDF5 file
    (layout in the module docstring); counts on the columns ``species``, of which the
    file may give those in ``readable`` (default: all)."""
    readable = species if readable is None else readable
    path = placement.file
    dim = len(size)
    axes = ["x", "y", "z"][:dim]
    if path.lower().endswith(".csv"):
        try:
            with open(path, newline="", encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"agent file {path!r} cannot be read: {exc}") from None
        if not lines:
            raise InputError(f"agent file {path!r} is empty (expected a header row {','.join(axes)},…)")
        header = [h.strip() for h in next(csv.reader([lines[0]]))]
        for a in axes:
            if a not in header:
                raise InputError(f"agent file {path!r}: header has no column {a!r} (got {','.join(header)})")
        for h in header:
            if h not in axes and h not in readable:
                raise InputError(f"agent file {path!r}: column {h!r} is neither an axis of the {dim}D domain "
                                 f"nor a network species")
        rows = [line for line in lines[1:] if line.strip()]
        start, stop = block(len(rows), rank, n_ranks)
        try:
            table = np.loadtxt(rows[start:stop], delimiter=",", ndmin=2).reshape(-1, len(header))
        except ValueError as exc:
            raise InputError(f"agent file {path!r}: rows {start + 2}–{stop + 1}: {exc}") from None
        pos = table[:, [header.index(a) for a in axes]]
        counts = np.tile(base_counts, (stop - start, 1))
        for s, name in enumerate(species):
            if name in header and name in readable:
                col = table[:, header.index(name)]
                if np.any(col < 0) or np.any(col != np.round(col)):
                    raise InputError(f"agent file {path!r}: column {name!r} must hold non-negative integers")
                counts[:, s] = col.astype(np.int64)
    else:
        h5py = h5py_module()
        try:
            with h5py.File(path, "r") as f:
                if "position" not in f:
                    raise InputError(f"agent file {path!r} has no dataset 'position' (shape (n, {dim}), µm)")
                ds = f["position"]
                if ds.ndim != 2 or ds.shape[1] != dim:
                    raise InputError(f"agent file {path!r}: 'position' must have shape (n, {dim}), got {ds.shape}")
                start, stop = block(ds.shape[0], rank, n_ranks)
                pos = np.asarray(ds[start:stop], dtype=float)
                counts = np.tile(base_counts, (stop - start, 1))
                for s, name in enumerate(species):
                    if name in f and name in readable:
                        col = np.asarray(f[name][start:stop])
                        if col.shape != (stop - start,) or np.any(col < 0) or np.any(col != np.round(col)):
                            raise InputError(f"agent file {path!r}: dataset {name!r} must hold one "
                                             "non-negative integer per agent")
                        counts[:, s] = col.astype(np.int64)
        except OSError as exc:
            raise InputError(f"agent file {path!r} cannot be read as HDF5: {exc}") from None
    if not np.all(np.isfinite(pos)):
        raise InputError(f"agent file {path!r}: positions must be finite numbers (µm)")
    outside = np.nonzero(np.any((pos < 0) | (pos > np.asarray(size)), axis=1))[0]
    if outside.size:
        row = start + int(outside[0])
        raise InputError(f"agent file {path!r}: agent {row} at {tuple(pos[outside[0]])} µm lies outside the "
                         f"domain [0, {', '.join(f'{s:g}' for s in size)}]")
    ids = np.arange(first_id + start, first_id + stop, dtype=np.int64)
    return ids, pos, counts
