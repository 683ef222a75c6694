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

from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import RunError, StorageError
from ..parallel.collective import on_root
from ..parallel.grid import Grid
from .agent_output import AgentWriter
from .hdf5 import write_box
from .mechanics_output import MechanicsWriter
from .steps import StepFile
from .xdmf import grid_xdmf

FIELDS_FILE = "fields.h5"
XDMF_FILE = "fields.xdmf"


def prepare_directory(comm, directory: Path) -> None:
    """Create the output directory on rank 0; every rank raises :class:`RunError`
    if that fails (collective)."""
    def make():
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create output directory {str(directory)!r}: {exc.strerror}") from None

    on_root(comm, make)


class RunOutput:
    """The output of a run: fields (``fields.h5``), agents (``agents.h5``) and
    mechanics (``mechanics.h5``), each with its XDMF file, in one directory;
    every method is collective."""

    def __init__(self, sim, directory: str | Path, field_names: list[str], *, restart_step: int | None = None,
                 warn=print):
        """With ``restart_step``, existing files are continued: outputs written after
        that step (by a run that crashed later) are dropped."""
        self.directory = Path(directory)
        prepare_directory(sim.comm, self.directory)
        self.fields = None
        if field_names:
            self.fields = FieldWriter(sim.grid, directory, sim.config, field_names, restart_step=restart_step,
                                      warn=warn)
        self.agents = None
        if sim.population is not None:
            store = sim.population.store
            types = sim.config.agents.type_names if store.has("type") else ()
            self.agents = AgentWriter(sim.comm, directory, sim.population.species, sim.grid.dim,
                                      restart_step=restart_step, warn=warn, body=store.has("radius"),
                                      necrosis=store.has("necrotic"), types=types)
        self.mechanics = None
        if sim.mechanics is not None:
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


class FieldWriter(StepFile):
    """Writes chosen fields at chosen times; every method is collective."""

    FILE = FIELDS_FILE
    XDMF = XDMF_FILE

    def __init__(self, grid: Grid, directory: str | Path, config: Config, names: list[str], *,
                 restart_step: int | None = None, warn=print):
        self.grid = grid
        self.names = list(names)
        self.config = config
        prepare_directory(grid.comm, Path(directory))
        super().__init__(grid.comm, directory, restart_step=restart_step, warn=warn)

    def _write_header(self) -> None:
        config = self.config
        self.file.attrs["config"] = config.source_text
        self.file.attrs["concentration_unit"] = config.concentration_unit
        g = self.file.create_group("grid")
        g.attrs["size"] = np.array(config.domain.size)
        g.attrs["cells"] = np.array(config.domain.cells)
        g.attrs["spacing"] = np.array(config.domain.spacing)
        g.attrs["periodic"] = np.array(config.domain.periodic)

    def write(self, step: int, time: float, fields: dict) -> None:
        """Write ``fields`` (name → global vector) as output of ``step`` at
        ``time`` (min)."""
        group = self._new_step(step, time)
        shape = tuple(reversed(self.grid.domain.cells))
        box = self.grid.natural_slices()
        for species in self.names:
            ds = group.create_dataset(species, shape=shape, dtype="f8")
            data = self.grid.view(fields[species], readonly=True).T
            write_box(ds, box, data)
        self._finish_step(group.name, time)

    def _xdmf_text(self) -> str:
        return grid_xdmf(self.grid.domain.size, self.grid.domain.cells, self.names, self._records, FIELDS_FILE)
