"""Field output: one HDF5 file per run plus an XDMF time series for ParaView.

Layout of ``fields.h5``::

    /                 attrs: hybridsim_version, config (the TOML text), concentration_unit
    /grid             attrs: size (µm, x y z), cells, spacing (µm), periodic
    /steps/000000     attrs: time (min), step
    /steps/000000/<species>   float64, shape (nz, ny, nx) / (ny, nx) / (nx,)

Arrays are in natural grid order with x varying fastest, whatever the number of
ranks that wrote them: each rank writes its own box, collectively, with no
communication of field data. ``fields.xdmf`` (rewritten by rank 0 after every
output, so a running or crashed simulation can be opened) describes the same
data as cell-centred attributes on a uniform grid.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import __version__
from ..config import Config
from ..errors import RunError, StorageError
from ..parallel.grid import Grid
from .hdf5 import continue_file, open_file, write_box

FIELDS_FILE = "fields.h5"
XDMF_FILE = "fields.xdmf"


def prepare_directory(comm, directory: Path) -> None:
    """Create the output directory on rank 0; every rank raises :class:`RunError`
    if that fails (collective)."""
    error = None
    if comm.rank == 0:
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            error = f"cannot create output directory {str(directory)!r}: {exc.strerror}"
    error = comm.bcast(error, root=0)
    if error:
        raise RunError(error)


class RunOutput:
    """The output of a run: fields (``fields.h5``), agents (``agents.h5``) and
    mechanics (``mechanics.h5``), each with its XDMF file, in one directory;
    every method is collective."""

    def __init__(self, sim, directory: str | Path, field_names: list[str], *, restart_step: int | None = None,
                 warn=print):
        """With ``restart_step``, existing files are continued: outputs written after
        that step (by a run that crashed later) are dropped."""
        from .agent_output import AgentWriter

        self.directory = Path(directory)
        prepare_directory(sim.comm, self.directory)
        self.fields = None
        if field_names:
            self.fields = FieldWriter(sim.grid, directory, sim.config, field_names, restart_step=restart_step,
                                      warn=warn)
        self.agents = None
        if sim.population is not None:
            self.agents = AgentWriter(sim.comm, directory, sim.config.network.species, sim.grid.dim,
                                      restart_step=restart_step, warn=warn)
        self.mechanics = None
        if sim.mechanics is not None:
            from .mechanics_output import MechanicsWriter

            self.mechanics = MechanicsWriter(sim, directory, restart_step=restart_step, warn=warn)

    def write(self, sim) -> None:
        """Write the current state of ``sim`` (a :class:`~hybridsim.simulation.Simulation`).

        A failed write (disk full, quota) on any rank becomes a :class:`RunError` on
        every rank once all have reached the end of the write, so none is left
        waiting in a collective call."""
        failure = None
        for writer, args in ((self.fields, (sim.step_index, sim.t, sim.fields)),
                             (self.agents, (sim.population.store if sim.population else None, sim.step_index, sim.t,
                                            sim.next_id)),
                             (self.mechanics, (sim.step_index, sim.t))):
            if writer is None:
                continue
            try:
                writer.write(*args)
            except OSError as exc:
                failure = failure or f"{writer.path}: {exc}"
        failures = [x for x in sim.comm.allgather(failure) if x]
        if failures:
            raise StorageError(f"cannot write output {failures[0]}")

    def close(self) -> None:
        for writer in (self.fields, self.agents, self.mechanics):
            if writer is not None:
                writer.close()


class FieldWriter:
    """Writes chosen fields at chosen times; every method is collective."""

    def __init__(self, grid: Grid, directory: str | Path, config: Config, names: list[str], *,
                 restart_step: int | None = None, warn=print):
        self.grid = grid
        self.directory = Path(directory)
        self.names = list(names)
        self.config = config
        self._records: list[tuple[str, float]] = []  # (group, time) for the XDMF
        prepare_directory(grid.comm, self.directory)
        self.path = self.directory / FIELDS_FILE
        if restart_step is not None:
            self.file, kept = continue_file(self.path, grid.comm, restart_step, warn)
            if self.file is not None:
                self._records = [(f"/steps/{name}", float(self.file["steps"][name].attrs["time"])) for name in kept]
                return
        self.file = open_file(self.path, "w", grid.comm)
        self.file.attrs["hybridsim_version"] = __version__
        self.file.attrs["config"] = config.source_text
        self.file.attrs["concentration_unit"] = config.concentration_unit
        g = self.file.create_group("grid")
        g.attrs["size"] = np.array(config.domain.size)
        g.attrs["cells"] = np.array(config.domain.cells)
        g.attrs["spacing"] = np.array(config.domain.spacing)
        g.attrs["periodic"] = np.array(config.domain.periodic)
        self.file.create_group("steps")

    def write(self, step: int, time: float, fields: dict) -> None:
        """Write ``fields`` (name → global vector) as output of ``step`` at
        ``time`` (min)."""
        name = f"{len(self._records):06d}"
        group = self.file["steps"].create_group(name)
        group.attrs["time"] = time
        group.attrs["step"] = step
        shape = tuple(reversed(self.grid.domain.cells))
        box = self.grid.natural_slices()
        for species in self.names:
            ds = group.create_dataset(species, shape=shape, dtype="f8")
            data = self.grid.view(fields[species], readonly=True).T
            write_box(ds, box, data)
        self.file.flush()
        self._records.append((f"/steps/{name}", time))
        if self.grid.comm.rank == 0:
            self._write_xdmf()

    def _write_xdmf(self) -> None:
        text = xdmf_text(self.grid.domain.size, self.grid.domain.cells, self.names, self._records)
        target = self.directory / XDMF_FILE
        tmp = target.with_suffix(".xdmf.tmp")
        tmp.write_text(text)
        os.replace(tmp, target)

    def close(self) -> None:
        self.file.close()


def xdmf_text(size, cells, names, records, h5_name: str = FIELDS_FILE, node_vectors=(),
              collection: str = "fields") -> str:
    """XDMF 3 description of cell-centred fields ``names`` on a uniform grid, plus
    3-component vectors ``node_vectors`` on its nodes (2D and 3D only).

    A 1D grid is described as a 2D grid one cell high, since XDMF has no 1D
    co-rectilinear mesh.
    """
    dim = len(cells)
    spacing = [s / n for s, n in zip(size, cells)]
    if dim == 1:
        topo, geo = "2DCoRectMesh", "ORIGIN_DXDY"
        node_dims = f"2 {cells[0] + 1}"
        origin, steps = "0 0", f"{spacing[0]} {spacing[0]}"
        data_dims = f"1 {cells[0]}"
    else:
        topo = f"{dim}DCoRectMesh"
        geo = "ORIGIN_DXDY" if dim == 2 else "ORIGIN_DXDYDZ"
        node_dims = " ".join(str(n + 1) for n in reversed(cells))
        origin = " ".join("0" for _ in cells)
        steps = " ".join(repr(h) for h in reversed(spacing))
        data_dims = " ".join(str(n) for n in reversed(cells))
    geo_dims = 2 if dim == 1 else dim
    lines = [
        '<?xml version="1.0" ?>',
        '<!DOCTYPE Xdmf SYSTEM "Xdmf.dtd" []>',
        '<Xdmf Version="3.0">',
        " <Domain>",
        f'  <Grid Name="{collection}" GridType="Collection" CollectionType="Temporal">',
    ]
    for group, time in records:
        lines += [
            f'   <Grid Name="{group}" GridType="Uniform">',
            f'    <Time Value="{time!r}"/>',
            f'    <Topology TopologyType="{topo}" Dimensions="{node_dims}"/>',
            f'    <Geometry GeometryType="{geo}">',
            f'     <DataItem Dimensions="{geo_dims}" NumberType="Float" Precision="8" Format="XML">{origin}</DataItem>',
            f'     <DataItem Dimensions="{geo_dims}" NumberType="Float" Precision="8" Format="XML">{steps}</DataItem>',
            "    </Geometry>",
        ]
        for name in node_vectors:
            lines += [
                f'    <Attribute Name="{name}" AttributeType="Vector" Center="Node">',
                f'     <DataItem Dimensions="{node_dims} 3" NumberType="Float" Precision="8" '
                f'Format="HDF">{h5_name}:{group}/{name}</DataItem>',
                "    </Attribute>",
            ]
        for name in names:
            lines += [
                f'    <Attribute Name="{name}" AttributeType="Scalar" Center="Cell">',
                f'     <DataItem Dimensions="{data_dims}" NumberType="Float" Precision="8" '
                f'Format="HDF">{h5_name}:{group}/{name}</DataItem>',
                "    </Attribute>",
            ]
        lines.append("   </Grid>")
    lines += ["  </Grid>", " </Domain>", "</Xdmf>", ""]
    return "\n".join(lines)
