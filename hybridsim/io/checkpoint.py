"""Parallel checkpoints: write on N ranks, continue on any number of ranks.

One HDF5 file per checkpoint, ``checkpoint-<step>.h5``, written collectively
with the ``mpio`` driver::

    /                    attrs: format_version, hybridsim_version, config_hash, config (TOML
                         text), step, time (min), seed, next_id, agent_count, ranks (how many
                         wrote it), structure (JSON: grid, field names, network species and
                         reactions; with [cell_types] the type table: names, each type's
                         network and the table's hash)
    /fields/<name>       float64, natural grid order, shape (nz, ny, nx); attr checksum
    /agents/<column>     ids, position, counts, age[, direction][, reservoir][, volume, radius,
                         pressure][, hypoxia, necrotic][, type][, contacts] at offsets from
                         an exclusive scan of the ranks' counts; attr checksum
    /mechanics/displacement   float64 (nz+1, ny+1, nx+1, dim) on the cell corners, µm;
                         attr checksum (only with [mechanics])

Checksums are decomposition-independent (:mod:`.checksum`): cells are keyed by
their natural index, agents by id. A checkpoint is written to a hidden
temporary name, flushed (``MPI_File_sync``), fsynced, and only then renamed to
its final name (and the directory fsynced), so a file with a final name is
complete; a crash mid-write leaves only a temporary file, which is ignored and
cleaned up. The newest ``checkpoint.keep`` files are kept.

Reading checks, before anything is changed: the format version, that the grid,
the fields and the network match the run's config, and every checksum. Agents
are read in blocks of rows (:class:`CheckpointState`); the simulation restores
itself from that state (:meth:`hybridsim.simulation.Simulation.restore`) and
sends the agents to their owners, so the reading rank count is free.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..agents.placement import block
from ..errors import InputError, RunError, StorageError
from ..parallel.collective import agree, offsets, on_root
from .checksum import checksum
from .hdf5 import create_unfilled, h5py_module, open_file, write_box

FORMAT_VERSION = 1
_NAME = re.compile(r"^checkpoint-(\d{10})\.h5$")


def checkpoint_directory(config) -> Path:
    return Path(config.checkpoint.directory or Path(config.output.directory) / "checkpoints")


def config_hash(config) -> str:
    return hashlib.sha256(config.source_text.encode()).hexdigest()[:16]


_ABSENT = {"body": False, "necrosis": False, "types": None}
"""Structure entries that checkpoints of point cells (of one type) may lack."""


def _reactions(network) -> list:
    return [[r.name, [list(t) for t in r.reactants], [list(t) for t in r.products]] for r in network.reactions]


def type_table(agents) -> dict:
    """The cell types as a checkpoint records them: names in index order, each with its
    network's species and reactions, and the table's hash."""
    table = [[t.name, list(t.network.species), _reactions(t.network)] for t in agents.types]
    digest = hashlib.sha256(json.dumps(table).encode()).hexdigest()[:16]
    return {"names": [t.name for t in agents.types], "hash": digest, "table": table}


def structure(config) -> dict:
    """What a checkpoint must share with the config that continues it."""
    d = config.domain
    out = {"size": list(d.size), "cells": list(d.cells), "periodic": list(d.periodic),
           "fields": [s.name for s in config.species]}
    agents = config.agents
    if agents is not None:
        reactions = _reactions(agents.types[0].network) if not agents.named else []
        out["network"] = {"species": list(agents.species), "reactions": reactions}
        out["reservoirs"] = len(agents.reservoirs)
        out["persistent"] = agents.persistent
        out["body"] = agents.has_bodies
        out["necrosis"] = agents.necrosis
        if agents.named:
            out["types"] = type_table(agents)
    if config.mechanics is not None:
        out["mechanics"] = True
    return out


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoints with a final name in ``directory``, newest (highest step) first."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)), reverse=True)


_KEYS: dict = {}


def _natural_keys(grid) -> np.ndarray:
    """Natural (x fastest) flat index of every owned cell, in the order of ``grid.view(...).ravel('F')``."""
    cached = _KEYS.get(id(grid))
    if cached is not None and cached[0] is grid:
        return cached[1]
    keys = _box_keys(grid.starts, grid.counts, grid.domain.cells)
    _KEYS.clear()
    _KEYS[id(grid)] = (grid, keys)
    return keys


def _box_keys(starts, counts, shape) -> np.ndarray:
    """Natural (x fastest) flat index of every point of the box ``starts``/``counts``
    of a grid of ``shape`` points, in memory order (x fastest)."""
    idx = np.indices(counts).reshape(len(counts), -1, order="F") + np.array(starts)[:, None]
    return np.ravel_multi_index(tuple(idx), shape, order="F").astype(np.int64)


def _displacement_layout(sim):
    """(on-disk shape, this rank's box, keys of its vertices) of the displacement."""
    mech = sim.mechanics
    shape = tuple(n + 1 for n in sim.config.domain.cells)
    box = tuple(slice(s, s + c) for s, c in zip(mech.starts, mech.counts))[::-1] + (slice(None),)
    return tuple(reversed(shape)) + (sim.grid.dim,), box, _box_keys(mech.starts, mech.counts, shape)


# ----------------------------------------------------------------------------- writing


def write_checkpoint(sim, directory: Path | None = None) -> Path:
    """Write the state of ``sim`` (collective); returns the final path."""
    comm = sim.comm
    directory = Path(directory or checkpoint_directory(sim.config))

    def prepare():
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for stale in directory.glob(".checkpoint-*.h5.tmp"):  # left by a crash during a write
                stale.unlink(missing_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create checkpoint directory {str(directory)!r}: {exc.strerror}") from None

    on_root(comm, prepare)
    # refuse early, with nothing written, when the disk clearly cannot hold it
    local = sum(sim.grid.n_local * 8 for _ in sim.fields)
    if sim.population is not None:
        local += sim.population.store.n * sim.population.store.bytes_per_agent
    needed = comm.allreduce(local)
    stat = on_root(comm, os.statvfs, directory)
    free = stat.f_bavail * stat.f_frsize
    if needed > free:
        raise RunError(f"cannot write a checkpoint to {str(directory)!r}: it needs about {needed / 2**20:.1f} MiB "
                       f"and {free / 2**20:.1f} MiB are free (the previous checkpoints are untouched)")
    name = f"checkpoint-{sim.step_index:010d}.h5"
    final = directory / name
    tmp = directory / f".{name}.tmp"
    f = open_file(tmp, "w", comm)
    failure = None
    try:
        _write_contents(sim, f)
        f.flush()
    except OSError as exc:  # e.g. disk full: every rank still reaches the collective close
        failure = str(exc)
    try:
        f.close()
    except OSError as exc:
        failure = failure or str(exc)
    failures = [x for x in comm.allgather(failure) if x]
    if comm.rank == 0:
        if failures:
            tmp.unlink(missing_ok=True)
        else:
            _fsync(tmp)
            os.replace(tmp, final)
            _fsync(directory)
            for old in list_checkpoints(directory)[sim.config.checkpoint.keep:]:
                old.unlink(missing_ok=True)
    comm.Barrier()
    if failures:
        raise StorageError(f"cannot write checkpoint {str(final)!r}: {failures[0]} "
                           "(the previous checkpoints are untouched)")
    return final


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_contents(sim, f) -> None:
    comm, grid, cfg = sim.comm, sim.grid, sim.config
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["hybridsim_version"] = __version__
    f.attrs["config_hash"] = config_hash(cfg)
    f.attrs["config"] = cfg.source_text
    f.attrs["structure"] = json.dumps(structure(cfg))
    f.attrs["step"] = sim.step_index
    f.attrs["time"] = sim.t
    f.attrs["seed"] = cfg.seed
    f.attrs["next_id"] = sim.next_id
    f.attrs["ranks"] = comm.size
    keys = _natural_keys(grid) if sim.fields else None
    shape = tuple(reversed(cfg.domain.cells))
    box = grid.natural_slices()
    for name, vec in sim.fields.items():
        data = grid.view(vec, readonly=True)
        ds = create_unfilled(f, f"fields/{name}", shape, "f8")
        write_box(ds, box, data.T)
        ds.attrs["checksum"] = checksum(data.ravel(order="F"), keys, comm)
    if sim.mechanics is not None:
        shape, box, vertex_keys = _displacement_layout(sim)
        ds = create_unfilled(f, "mechanics/displacement", shape, "f8")
        write_box(ds, box, sim.mechanics.natural_array())
        ds.attrs["checksum"] = checksum(sim.mechanics.nodal(), vertex_keys, comm)
    store = sim.population.store if sim.population is not None else None
    n = store.n if store is not None else 0
    start, total = offsets(comm, n)
    f.attrs["agent_count"] = total
    if store is None:
        return
    for column in store.columns:
        data = store.column(column)
        ds = create_unfilled(f, f"agents/{column}", (total,) + data.shape[1:], data.dtype)
        if n:
            ds[start:start + n] = data
        ds.attrs["checksum"] = checksum(data, store.ids, comm)


# ----------------------------------------------------------------------------- reading


@dataclass
class CheckpointState:
    """What a checkpoint holds for this rank: its root attributes (``time``, ``step``,
    ``next_id``, …), this rank's box of each field (natural order, ``counts``
    shape), its vertices' displacement (``(n, dim)``, or None) and a block of the
    agents' columns (to be sent to their owners)."""

    attrs: dict
    fields: dict = field(default_factory=dict)
    displacement: np.ndarray | None = None
    agents: dict = field(default_factory=dict)


_DAMAGE = (OSError, KeyError, ValueError, TypeError, RuntimeError, RunError)
"""What h5py and json raise on a damaged file: a truncated one, a damaged local or
global heap, symbol-table node or B-tree, a missing dataset or attribute."""


def _refusing_damage(where: str, func):
    """``func`` with every error a damaged file gives turned into one :class:`InputError` line."""
    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError:
            raise
        except _DAMAGE as exc:
            raise InputError(f"{where} is damaged and cannot be read: {' '.join(str(exc).split())}") from None

    return call


def read_checkpoint(sim, path: Path) -> CheckpointState:
    """Read and verify the checkpoint at ``path`` for ``sim`` (collective), without
    changing ``sim``; raises :class:`InputError` with one line if it is unusable
    (missing, damaged, from another config, or failing a checksum)."""
    comm, grid, cfg = sim.comm, sim.grid, sim.config
    where = f"checkpoint {str(path)!r}"

    def read(func, *args):
        return agree(comm, _refusing_damage(where, func), *args)

    def open_and_check():
        h5py = h5py_module()
        if not Path(path).is_file():
            raise InputError(f"{where} does not exist")
        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            raise InputError(f"{where} cannot be read (truncated or not HDF5): {exc}") from None
        with f:
            attrs = dict(f.attrs)
        version = attrs.get("format_version")
        if version is None:
            raise InputError(f"{where} is not a hybridsim checkpoint (no format_version)")
        if int(version) != FORMAT_VERSION:
            raise InputError(f"{where} has format version {int(version)}; this hybridsim "
                             f"({__version__}) reads version {FORMAT_VERSION}")
        theirs, ours = json.loads(attrs["structure"]), structure(cfg)
        for key in ("size", "cells", "periodic", "types", "fields", "network", "reservoirs", "persistent", "body",
                    "necrosis", "mechanics"):
            there, here = (side.get(key, _ABSENT.get(key)) for side in (theirs, ours))
            if key == "types" and there != here:
                names = [", ".join(side["names"]) if side else "one unnamed type" for side in (there, here)]
                hashes = [side["hash"] if side else "none" for side in (there, here)]
                raise InputError(f"{where} was written for another table of cell types: {names[0]} (hash "
                                 f"{hashes[0]}) there and {names[1]} (hash {hashes[1]}) here")
            if there != here:
                raise InputError(f"{where} does not match this config: {key} is {there} there and {here} here "
                                 f"(config hash {attrs['config_hash']} vs {config_hash(cfg)})")
        return attrs

    attrs = read(open_and_check)
    f = read(open_file, path, "r", comm)
    try:
        state = CheckpointState(attrs)
        keys = _natural_keys(grid)
        box = grid.natural_slices()
        for name in sim.fields:
            def read_field(name=name):
                ds = f["fields"][name]
                return np.ascontiguousarray(ds[box].T), int(ds.attrs["checksum"])

            data, expected = read(read_field)
            if checksum(data.ravel(order="F"), keys, comm) != expected:
                raise InputError(f"{where} is corrupt: field {name!r} fails its checksum")
            state.fields[name] = data
        if sim.mechanics is not None:
            shape, box, vertex_keys = _displacement_layout(sim)

            def read_displacement():
                ds = f["mechanics"]["displacement"]
                return np.ascontiguousarray(ds[box]), int(ds.attrs["checksum"])

            data, expected = read(read_displacement)
            rows = data.reshape(-1, sim.grid.dim)  # (z, y, x, component) → vertices x fastest
            if checksum(rows, vertex_keys, comm) != expected:
                raise InputError(f"{where} is corrupt: the displacement fails its checksum")
            state.displacement = rows
        if sim.population is not None:
            total = int(attrs["agent_count"])
            start, stop = block(total, comm.rank, comm.size)
            columns = sim.population.store.columns

            def read_agents():
                out = {}
                for column in columns:
                    ds = f["agents"][column]
                    out[column] = (np.asarray(ds[start:stop]), int(ds.attrs["checksum"]))
                return out

            raw = read(read_agents)
            for column, (data, expected) in raw.items():
                if checksum(data, raw["ids"][0], comm) != expected:
                    raise InputError(f"{where} is corrupt: agent column {column!r} fails its checksum")
                state.agents[column] = data
    finally:
        read(f.close)
    return state


def read_latest(sim, directory: Path, warn) -> tuple[Path, CheckpointState]:
    """The newest valid checkpoint in ``directory`` and its state for ``sim``;
    unusable newer ones are reported through ``warn`` and skipped (collective)."""
    for path in on_root(sim.comm, list_checkpoints, Path(directory)):
        try:
            state = read_checkpoint(sim, path)
        except InputError as exc:
            if "does not match this config" in str(exc):
                raise
            warn(f"skipping {exc}")
            continue
        return path, state
    raise InputError(f"no usable checkpoint in {str(directory)!r} (run without --restart to start afresh)")


def describe(path: Path) -> list[str]:
    """Lines for ``hybridsim inspect`` (serial; verifies every checksum); a damaged
    file is one :class:`InputError` line."""
    where = f"checkpoint {str(path)!r}"
    if not Path(path).is_file():
        raise InputError(f"{where} does not exist")
    return _refusing_damage(where, _describe)(path, where)


def _describe(path: Path, where: str) -> list[str]:
    from mpi4py import MPI

    h5py = h5py_module()
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{where} cannot be read (truncated or not HDF5): {exc}") from None
    with f:
        attrs = dict(f.attrs)
        if "format_version" not in attrs:
            raise InputError(f"{where} is not a hybridsim checkpoint (no format_version)")
        s = json.loads(attrs["structure"])
        lines = [f"{path}",
                 f"  format version {int(attrs['format_version'])}, written by hybridsim {attrs['hybridsim_version']}",
                 f"  step {int(attrs['step'])}, t = {float(attrs['time']):g} min, seed {int(attrs['seed'])}",
                 f"  config hash {attrs['config_hash']}",
                 f"  grid {'×'.join(map(str, s['cells']))} cells over {' × '.join(f'{x:g}' for x in s['size'])} µm"]
        bad = []
        comm = MPI.COMM_SELF
        cells = tuple(s["cells"])
        keys = np.arange(int(np.prod(cells)), dtype=np.int64)
        for name in s["fields"]:
            ds = f["fields"][name]
            data = ds[...]
            flat = data.T.ravel(order="F")
            if checksum(flat, keys, comm) != int(ds.attrs["checksum"]):
                bad.append(f"field {name}")
            cell_volume = float(np.prod(np.array(s["size"]) / np.array(cells)))
            lines.append(f"  field {name}: ∫c dV = {flat.sum() * cell_volume:.6g}, min {flat.min():.4g}, "
                         f"max {flat.max():.4g}")
        n = int(attrs["agent_count"])
        lines.append(f"  agents: {n}, next id {int(attrs['next_id'])}")
        if "network" in s and "agents" in f:
            ids = f["agents"]["ids"][...]
            for column in f["agents"]:
                data = f["agents"][column][...]
                if checksum(data, ids, comm) != int(f["agents"][column].attrs["checksum"]):
                    bad.append(f"agent column {column}")
            counts = f["agents"]["counts"][...]
            if "types" in s:
                kinds = np.bincount(f["agents"]["type"][...], minlength=len(s["types"]["names"]))
                lines.append("  cell types: " + ", ".join(f"{name} {int(c)}" for name, c in
                                                         zip(s["types"]["names"], kinds))
                             + f" (type table hash {s['types']['hash']})")
            for k, name in enumerate(s["network"]["species"]):
                lines.append(f"  species {name}: total {int(counts[:, k].sum())} molecules in cells")
        if "mechanics" in f:
            ds = f["mechanics"]["displacement"]
            u = ds[...]
            rows = u.reshape(-1, u.shape[-1])
            vertex_keys = np.arange(len(rows), dtype=np.int64)
            if checksum(rows, vertex_keys, comm) != int(ds.attrs["checksum"]):
                bad.append("displacement")
            lines.append(f"  mechanics: largest displacement {np.sqrt((rows**2).sum(axis=1)).max():.4g} µm")
        lines.append("  checksums: " + ("all valid" if not bad else "FAILED for " + ", ".join(bad)))
    return lines
