"""Mechanics output: ``mechanics.h5`` plus ``mechanics.xdmf`` for ParaView.

Layout of ``mechanics.h5``::

    /                       attrs: hybridsim_version, model, units, size (µm), cells
    /steps/000000           attrs: time (min), step, size_change (µm^dim), relative_size_change
    /steps/000000/displacement   float64 (nz+1, ny+1, nx+1, 3) on the cell corners, µm
                                 (2D: z component 0; 1D: shape (nx+1,))
    /steps/000000/strain_xx …    float64 (nz, ny, nx): mean strain of each grid cell
    /steps/000000/stress_xx …    float64 (nz, ny, nx): elastic (passive) stress, Pa

Components are ``xx, yy, zz, xy, xz, yz`` as the dimension allows. Every rank
writes its own box, collectively. The XDMF describes the displacement as a node
vector (in 2D and 3D, ready for ParaView's "Warp By Vector") and the strains and
stresses as cell scalars on the same grid as ``fields.xdmf``. A 1D strip's
displacement is in the HDF5 file only (XDMF has no 1D mesh to hang it on).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import __version__
from .hdf5 import continue_file, open_file, write_box

MECHANICS_FILE = "mechanics.h5"
MECHANICS_XDMF = "mechanics.xdmf"
AXES = "xyz"


def components(dim: int) -> list[tuple[str, int, int]]:
    """Independent tensor components ``(name, i, j)`` in ``dim`` dimensions."""
    out = [(AXES[i] * 2, i, i) for i in range(dim)]
    out += [(AXES[i] + AXES[j], i, j) for i in range(dim) for j in range(i + 1, dim)]
    return out


class MechanicsWriter:
    """Writes the tissue's displacement, strain and stress; every method is collective."""

    def __init__(self, sim, directory: str | Path, *, restart_step: int | None = None, warn=print):
        self.sim = sim
        self.directory = Path(directory)
        self.path = self.directory / MECHANICS_FILE
        self._records: list[tuple[str, float]] = []
        comm = sim.comm
        if restart_step is not None:
            self.file, kept = continue_file(self.path, comm, restart_step, warn)
            if self.file is not None:
                self._records = [(f"/steps/{n}", float(self.file["steps"][n].attrs["time"])) for n in kept]
                return
        self.file = open_file(self.path, "w", comm)
        self.file.attrs["hybridsim_version"] = __version__
        self.file.attrs["model"] = sim.config.mechanics.model
        self.file.attrs["units"] = "displacement µm, stress Pa (the unit of E), time min"
        self.file.attrs["size"] = np.array(sim.config.domain.size)
        self.file.attrs["cells"] = np.array(sim.config.domain.cells)
        self.file.create_group("steps")

    def write(self, step: int, time: float) -> None:
        sim = self.sim
        mech = sim.mechanics
        grid = sim.grid
        dim = grid.dim
        name = f"{len(self._records):06d}"
        group = self.file["steps"].create_group(name)
        group.attrs["time"] = time
        group.attrs["step"] = step
        change, relative = mech.size_change()
        group.attrs["size_change"] = change
        group.attrs["relative_size_change"] = relative
        nodes = tuple(n + 1 for n in reversed(grid.domain.cells))
        box = tuple(slice(s, s + c) for s, c in zip(mech.starts, mech.counts))[::-1]
        u = mech.natural_array()
        if dim == 1:
            write_box(group.create_dataset("displacement", shape=nodes, dtype="f8"), box, u[..., 0])
        else:
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
        self.file.flush()
        self._records.append((f"/steps/{name}", time))
        if sim.comm.rank == 0:
            target = self.directory / MECHANICS_XDMF
            tmp = target.with_suffix(".xdmf.tmp")
            tmp.write_text(xdmf_text(grid.domain.size, grid.domain.cells, self._records))
            os.replace(tmp, target)

    def close(self) -> None:
        self.file.close()


def xdmf_text(size, cells, records) -> str:
    """XDMF 3 for the mechanics output: node displacement (2D/3D) and cell tensors."""
    from .output import xdmf_text as grid_xdmf

    dim = len(cells)
    names = [f"{label}_{comp}" for label in ("strain", "stress") for comp, _, _ in components(dim)]
    return grid_xdmf(size, cells, names, records, h5_name=MECHANICS_FILE,
                     node_vectors=("displacement",) if dim > 1 else (), collection="mechanics")
