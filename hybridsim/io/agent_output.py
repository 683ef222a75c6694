"""Agent output: one HDF5 file per run plus an XDMF point series for ParaView.

Layout of ``agents.h5``::

    /                          attrs: hybridsim_version, species (network species names)
    /steps/000000              attrs: time (min), step, count, next_id
    /steps/000000/id           int64 (n,)        global ids
    /steps/000000/position     float64 (n, dim)  µm
    /steps/000000/age          float64 (n,)      min since birth
    /steps/000000/species/<S>  int64 (n,)        molecules of species S
    /steps/000000/reservoir    float64 (n, k)    molecules taken up, not yet whole (with uptake into
                                                 species; in the order of ``[[agents.uptake]]``)

Each rank writes its agents, sorted by id, at the offset given by an exclusive
scan of the counts (no agent data is gathered). Rows are keyed by ``id``; to
compare runs, sort by it. ``agents.xdmf`` shows the cells as points coloured by
any species (2D and 3D).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import __version__
from ..agents.store import AgentStore
from .hdf5 import continue_file, open_file

AGENTS_FILE = "agents.h5"
AGENTS_XDMF = "agents.xdmf"


class AgentWriter:
    """Writes the agents of every rank at chosen times; every method is collective."""

    def __init__(self, comm, directory: str | Path, species: tuple[str, ...], dim: int, *,
                 restart_step: int | None = None, warn=print):
        self.comm = comm
        self.directory = Path(directory)
        self.species = tuple(species)
        self.dim = dim
        self._records: list[tuple[str, float, int]] = []
        self.path = self.directory / AGENTS_FILE
        if restart_step is not None:
            self.file, kept = continue_file(self.path, comm, restart_step, warn)
            if self.file is not None:
                steps = self.file["steps"]
                self._records = [(f"/steps/{n}", float(steps[n].attrs["time"]), int(steps[n].attrs["count"]))
                                 for n in kept]
                return
        self.file = open_file(self.path, "w", comm)
        self.file.attrs["hybridsim_version"] = __version__
        self.file.attrs["species"] = np.array(self.species, dtype="S")
        self.file.create_group("steps")

    def write(self, store: AgentStore, step: int, time: float, next_id: int) -> None:
        store.sort_by_id()
        n = store.n
        total = self.comm.allreduce(n)
        start = self.comm.exscan(n)  # collective; None on rank 0
        start = start if self.comm.rank > 0 else 0
        name = f"{len(self._records):06d}"
        group = self.file["steps"].create_group(name)
        group.attrs["time"] = time
        group.attrs["step"] = step
        group.attrs["count"] = total
        group.attrs["next_id"] = next_id
        columns = {"id": store.ids, "position": store.position, "age": store.age}
        for s, sp in enumerate(self.species):
            columns[f"species/{sp}"] = store.counts[:, s]
        if store.reservoir is not None:
            columns["reservoir"] = store.reservoir
        for key, data in columns.items():
            ds = group.create_dataset(key, shape=(total,) + data.shape[1:], dtype=data.dtype)
            if n:
                ds[start:start + n] = data
        self.file.flush()
        self._records.append((f"/steps/{name}", time, total))
        if self.comm.rank == 0 and self.dim > 1:
            self._write_xdmf()

    def _write_xdmf(self) -> None:
        geometry = "XY" if self.dim == 2 else "XYZ"
        lines = ['<?xml version="1.0" ?>', '<Xdmf Version="3.0">', " <Domain>",
                 '  <Grid Name="agents" GridType="Collection" CollectionType="Temporal">']
        for group, time, total in self._records:
            lines += [
                f'   <Grid Name="{group}" GridType="Uniform">',
                f'    <Time Value="{time!r}"/>',
                f'    <Topology TopologyType="Polyvertex" NumberOfElements="{total}"/>',
                f'    <Geometry GeometryType="{geometry}">',
                f'     <DataItem Dimensions="{total} {self.dim}" NumberType="Float" Precision="8" '
                f'Format="HDF">{AGENTS_FILE}:{group}/position</DataItem>',
                "    </Geometry>",
            ]
            for key in ["id", "age"] + [f"species/{s}" for s in self.species]:
                number = "Float" if key == "age" else "Int"
                lines += [
                    f'    <Attribute Name="{key.split("/")[-1]}" AttributeType="Scalar" Center="Node">',
                    f'     <DataItem Dimensions="{total}" NumberType="{number}" Precision="8" '
                    f'Format="HDF">{AGENTS_FILE}:{group}/{key}</DataItem>',
                    "    </Attribute>",
                ]
            lines.append("   </Grid>")
        lines += ["  </Grid>", " </Domain>", "</Xdmf>", ""]
        target = self.directory / AGENTS_XDMF
        tmp = target.with_suffix(".xdmf.tmp")
        tmp.write_text("\n".join(lines))
        os.replace(tmp, target)

    def close(self) -> None:
        self.file.close()
