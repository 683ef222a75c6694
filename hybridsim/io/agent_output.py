"""Agent output: one HDF5 file per run plus an XDMF point series for ParaView.

Layout of ``agents.h5``::

    /vertices                  int64 (≥ the largest count)  0, 1, 2, …: the connectivity of the
                                                 cells as vertex cells in agents.xdmf
    /                          attrs: hybridsim_version, species (network species names; with
                               several cell types, every type's), types (with [cell_types]: the
                               type names, in the order of their indices)
    /steps/000000              attrs: time (min), step, count, next_id
    /steps/000000/id           int64 (n,)        global ids
    /steps/000000/position     float64 (n, dim)  µm
    /steps/000000/xyz          float64 (n, 3)    1D only: x with y = z = 0, the points of agents.xdmf
    /steps/000000/age          float64 (n,)      min since birth
    /steps/000000/species/<S>  int64 (n,)        molecules of species S
    /steps/000000/reservoir    float64 (n, k)    molecules taken up, not yet whole (with uptake into
                                                 species; in the order of ``[[agents.uptake]]``)
    /steps/000000/volume       float64 (n,)      µm³ (cells with a body, as the next two)
    /steps/000000/radius       float64 (n,)      µm
    /steps/000000/pressure     float64 (n,)      simple pressure (dimensionless)
    /steps/000000/necrotic     int64 (n,)        1 for necrotic cells (with necrosis)
    /steps/000000/type         int64 (n,)        index of the cell's type in ``types`` (with [cell_types])

Each rank writes its agents, sorted by id, at the offset given by an exclusive
scan of the counts (no agent data is gathered). Rows are keyed by ``id``; to
compare runs, sort by it. ``agents.xdmf`` shows the cells as vertex cells (points
when opened; 1D and 2D in the z = 0 plane) coloured by any species, or by ``type``;
with bodies it carries ``radius`` (and ``volume``,
``pressure``) for ParaView's glyphs (Glyph filter, Scale Array: radius, Scale
Factor 2 for spheres of the cells' diameter).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..parallel.collective import offsets
from .steps import StepFile
from .xdmf import VERTICES, points_xdmf

AGENTS_FILE = "agents.h5"
AGENTS_XDMF = "agents.xdmf"


class AgentWriter(StepFile):
    """Writes the agents of every rank at chosen times; every method is collective."""

    FILE = AGENTS_FILE
    XDMF = AGENTS_XDMF

    def __init__(self, comm, directory: str | Path, species: tuple[str, ...], dim: int, *,
                 restart_step: int | None = None, warn=print, body: bool = False, necrosis: bool = False,
                 types: tuple[str, ...] = ()):
        self.species = tuple(species)
        self.types = tuple(types)
        self.dim = dim
        self.body = body
        self.necrosis = necrosis
        super().__init__(comm, directory, restart_step=restart_step, warn=warn)

    def _write_header(self) -> None:
        self.file.attrs["species"] = np.array(self.species, dtype="S")
        if self.types:
            self.file.attrs["types"] = np.array(self.types, dtype="S")

    def _record(self, name: str, group) -> tuple:
        return name, float(group.attrs["time"]), int(group.attrs["count"])

    def write(self, store, step: int, time: float, next_id: int) -> None:
        """Write the agents of ``store`` (an :class:`~hybridsim.agents.store.AgentStore`,
        sorted by id here) as output of ``step`` at ``time`` (min)."""
        store.sort_by_id()
        n = store.n
        start, total = offsets(self.comm, n)
        group = self._new_step(step, time, count=total, next_id=next_id)
        columns = {"id": store.ids, "position": store.position, "age": store.age}
        if self.dim == 1:  # ParaView's readers take points with 3 coordinates from one dataset
            columns["xyz"] = np.column_stack([store.position, np.zeros((n, 2))])
        for s, sp in enumerate(self.species):
            columns[f"species/{sp}"] = store.counts[:, s]
        if store.reservoir is not None:
            columns["reservoir"] = store.reservoir
        if store.has("volume"):
            for name in ("volume", "radius", "pressure"):
                columns[name] = store.column(name)
        if store.has("necrotic"):
            columns["necrotic"] = (store.column("necrotic") > 0).astype(np.int64)
        if store.has("type"):
            columns["type"] = store.column("type")
        for key, data in columns.items():
            ds = group.create_dataset(key, shape=(total,) + data.shape[1:], dtype=data.dtype)
            if n:
                ds[start:start + n] = data
        self._extend(VERTICES, total)
        self._finish_step(group.name, time, total)

    def _extend(self, name: str, total: int) -> None:
        """Make the dataset ``name`` hold at least 0, 1, …, total − 1, growing it
        geometrically (collective)."""
        from ..agents.placement import block

        if name not in self.file:  # a new file, or one continued from before vertex cells
            self.file.create_dataset(name, shape=(0,), maxshape=(None,), chunks=(1 << 16,), dtype="i8")
        ds = self.file[name]
        old = ds.shape[0]
        if total <= old:
            return
        new = max(total, int(old * 1.5))
        ds.resize((new,))
        lo, hi = block(new - old, self.comm.rank, self.comm.size)
        if hi > lo:
            ds[old + lo:old + hi] = np.arange(old + lo, old + hi)

    def _xdmf_text(self) -> str | None:
        scalars = [("id", False), ("age", True)] + [(f"species/{s}", False) for s in self.species]
        if self.body:
            scalars += [("radius", True), ("volume", True), ("pressure", True)]
        if self.necrosis:
            scalars.append(("necrotic", False))
        if self.types:
            scalars.append(("type", False))
        return points_xdmf(self.dim, scalars, self._records, AGENTS_FILE, self.file[VERTICES].shape[0])
