"""Mechanics output: ``mechanics.h5`` plus ``mechanics.xdmf`` for ParaView.

Layout of ``mechanics.h5``::

    /                       attrs: hybridsim_version, model, units, size (µm), cells
    /steps/000000           attrs: time (min), step, size_change (µm^dim), relative_size_change
    /steps/000000/displacement   float64 (nz+1, ny+1, nx+1, 3) on the cell corners, µm
                                 (2D: (ny+1, nx+1, 3), z component 0; 1D: (nx+1, 3), y and
                                 z components 0 — ParaView's 3-component vectors)
    /steps/000000/strain_xx …    float64 (nz, ny, nx): mean strain of each grid cell
    /steps/000000/stress_xx …    float64 (nz, ny, nx): elastic (passive) stress, Pa

Components are ``xx, yy, zz, xy, xz, yz`` as the dimension allows. Every rank
writes its own box, collectively. The XDMF describes the displacement as a node
vector (ready for ParaView's "Warp By Vector", which then deforms a 2D tissue in its
plane and a 1D strip along its line) and the strains and stresses as cell scalars on
the same grid as ``fields.xdmf``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .hdf5 import write_box
from .steps import StepFile
from .xdmf import grid_xdmf

MECHANICS_FILE = "mechanics.h5"
MECHANICS_XDMF = "mechanics.xdmf"
AXES = "xyz"


def components(dim: int) -> list[tuple[str, int, int]]:
    """Independent tensor components ``(name, i, j)`` in ``dim`` dimensions."""
    out = [(AXES[i] * 2, i, i) for i in range(dim)]
    out += [(AXES[i] + AXES[j], i, j) for i in range(dim) for j in range(i + 1, dim)]
    return out


class MechanicsWriter(StepFile):
    """Writes the tissue's displacement, strain and stress; every method is collective."""

    FILE = MECHANICS_FILE
    XDMF = MECHANICS_XDMF

    def __init__(self, sim, directory: str | Path, *, restart_step: int | None = None, warn=print):
        self.sim = sim
        super().__init__(sim.comm, directory, restart_step=restart_step, warn=warn)

    def _write_header(self) -> None:
        config = self.sim.config
        self.file.attrs["model"] = config.mechanics.model
        self.file.attrs["units"] = "displacement µm, stress Pa (the unit of E), time min"
        self.file.attrs["size"] = np.array(config.domain.size)
        self.file.attrs["cells"] = np.array(config.domain.cells)

    def write(self, step: int, time: float) -> None:
        sim = self.sim
        mech = sim.mechanics
        grid = sim.grid
        dim = grid.dim
        change, relative = mech.size_change()
        group = self._new_step(step, time, size_change=change, relative_size_change=relative)
        nodes = tuple(n + 1 for n in reversed(grid.domain.cells))
        box = tuple(slice(s, s + c) for s, c in zip(mech.starts, mech.counts))[::-1]
        u = mech.natural_array()
        padded = np.zeros(u.shape[:-1] + (3,))
        padded[..., :dim] = u
        ds = group.create_dataset("displacement", shape=nodes + (3,), dtype="f8")
        write_box(ds, box + (slice(0, 3),), padded)
        strain = mech.strain()
        stress = mech.stress(strain)
        cells = tuple(reversed(grid.domain.cells))
        cell_box = grid.natural_slices()
        for label, tensor in (("strain", strain), ("stress", stress)):
            for comp, i, j in components(dim):
                data = tensor[:, i, j].reshape(grid.counts, order="F").T
                write_box(group.create_dataset(f"{label}_{comp}", shape=cells, dtype="f8"), cell_box, data)
        self._finish_step(group.name, time)

    def _xdmf_text(self) -> str:
        """Node displacement and cell tensors on the grid of the fields."""
        domain = self.sim.grid.domain
        dim = domain.dim
        names = [f"{label}_{comp}" for label in ("strain", "stress") for comp, _, _ in components(dim)]
        return grid_xdmf(domain.size, domain.cells, names, self._records, MECHANICS_FILE,
                         node_vectors=("displacement",), collection="mechanics")
