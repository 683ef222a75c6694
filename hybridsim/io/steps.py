"""The skeleton of hybridsim's output files: one HDF5 file per kind of output
(fields, agents, mechanics), one group ``/steps/NNNNNN`` per output time with
attributes ``time`` (min), ``step`` and ``ranks`` (how many wrote it), and an XDMF file that rank 0 rewrites
after every output. After a restart the file is continued: outputs written
after the checkpoint's step (by a run that crashed later) are dropped.
"""

from __future__ import annotations

from pathlib import Path

from .. import __version__
from .hdf5 import continue_file, open_file
from .xdmf import write_xdmf


class StepFile:
    """Base of the step writers; every method is collective.

    Subclasses name :attr:`FILE` and :attr:`XDMF`, write their root attributes in
    :meth:`_write_header` and describe the file in :meth:`_xdmf_text`."""

    FILE = ""
    XDMF = ""

    def __init__(self, comm, directory: str | Path, *, restart_step: int | None = None, warn=print):
        self.comm = comm
        self.directory = Path(directory)
        self.path = self.directory / self.FILE
        self._records: list[tuple] = []
        if restart_step is not None:
            self.file, kept = continue_file(self.path, comm, restart_step, warn)
            if self.file is not None:
                steps = self.file["steps"]
                self._records = [self._record(f"/steps/{name}", steps[name]) for name in kept]
                return
        self.file = open_file(self.path, "w", comm)
        self.file.attrs["hybridsim_version"] = __version__
        self._write_header()
        self.file.create_group("steps")

    def _write_header(self) -> None:
        """Root attributes and groups of a new file (after ``hybridsim_version``)."""

    def _record(self, name: str, group) -> tuple:
        """What the XDMF needs of an output read back from the file: ``(group path,
        time)`` by default (as :meth:`_finish_step` is given it)."""
        return name, float(group.attrs["time"])

    def _xdmf_text(self) -> str | None:
        """The XDMF for the outputs so far (None: no XDMF for this file)."""
        raise NotImplementedError

    def _new_step(self, step: int, time: float, **attrs):
        """A new ``/steps`` group for ``step`` at ``time`` (min), with ``attrs``."""
        group = self.file["steps"].create_group(f"{len(self._records):06d}")
        group.attrs["time"] = time
        group.attrs["step"] = step
        group.attrs["ranks"] = self.comm.size  # provenance: the outputs do not depend on it
        for key, value in attrs.items():
            group.attrs[key] = value
        return group

    def _finish_step(self, *record) -> None:
        """Flush the output just written and rewrite the XDMF (rank 0); ``record`` is
        what the XDMF needs of it (group path, time, …)."""
        self.file.flush()
        self._records.append(record)
        if self.comm.rank == 0:
            text = self._xdmf_text()
            if text is not None:
                write_xdmf(self.directory / self.XDMF, text)

    def close(self) -> None:
        self.file.close()
