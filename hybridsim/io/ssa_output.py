"""Output of ``hybridsim ssa``: molecule counts of independent well-mixed cells.

Layout of the file (default ``ssa.h5``)::

    /          attrs: hybridsim_version, species (network species names), seed,
               network (the file it came from), method (exact, tau-leaping, hybrid)
    /time      float64 (outputs,), min
    /counts    int64 (outputs, cells, species), cells in id order

Each rank writes its own block of cells; the file does not depend on the rank count.
"""

from __future__ import annotations

import numpy as np

from .. import __version__
from ..config import Network
from ..parallel.collective import agree
from .hdf5 import open_file


class SsaOutput:
    """The output file of a well-mixed run, opened (collectively) before the work,
    so a bad path costs nothing."""

    def __init__(self, path, comm):
        self.path = path
        self.file = agree(comm, open_file, path, "w", comm)

    def write(self, network: Network, times: np.ndarray, counts: np.ndarray, first_cell: int, n_cells: int, *,
              seed: int, source: str, method: str) -> None:
        """Write this rank's ``counts`` (``(outputs, cells, species)``, cells from
        ``first_cell`` on) of ``n_cells`` in all, and close the file (collective)."""
        f = self.file
        f.attrs["hybridsim_version"] = __version__
        f.attrs["species"] = np.array(network.species, dtype="S")
        f.attrs["seed"] = seed
        f.attrs["network"] = source
        f.attrs["method"] = method
        f.create_dataset("time", data=times)
        ds = f.create_dataset("counts", shape=(times.size, n_cells, network.n_species), dtype="i8")
        if counts.shape[1]:
            ds[:, first_cell:first_cell + counts.shape[1], :] = counts
        f.close()
