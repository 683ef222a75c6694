"""Per-step summary of a run: ``summary.csv`` in the output directory, written by
rank 0 (one line per step, flushed, so a running job can be followed with
``tail -f``).

Columns: ``step``, ``time`` (min); for each field ``<name>_integral``
(∫c dV, molecules); with agents ``agents``, ``births``, ``deaths``,
``absorbed``, ``migrated``, ``reactions`` (events in the step) and, for each
network species, ``<name>_mean`` and ``<name>_fano`` (variance/mean across
all cells).
"""

from __future__ import annotations

from pathlib import Path

SUMMARY_FILE = "summary.csv"


class SummaryWriter:
    """Appends :meth:`Simulation.summary` rows to ``summary.csv`` (rank 0 writes)."""

    def __init__(self, comm, directory: str | Path, *, restart_step: int | None = None):
        """With ``restart_step``, an existing table is continued: rows after that
        step are dropped."""
        self.comm = comm
        self.path = Path(directory) / SUMMARY_FILE
        self._file = None
        self._columns: list[str] | None = None
        if restart_step is not None and comm.rank == 0 and self.path.is_file():
            lines = self.path.read_text(encoding="utf-8").splitlines()
            if lines:
                kept = [lines[0]] + [x for x in lines[1:] if x.split(",", 1)[0].isdigit()
                                     and int(x.split(",", 1)[0]) < restart_step]
                self.path.write_text("\n".join(kept) + "\n", encoding="utf-8")
                self._columns = lines[0].split(",")
                self._file = open(self.path, "a", encoding="utf-8")

    def write(self, row: dict) -> None:
        if self.comm.rank != 0:
            return
        if self._file is None:
            self._columns = list(row)
            self._file = open(self.path, "w", encoding="utf-8")
            self._file.write(",".join(self._columns) + "\n")
        self._file.write(",".join(_format(row[c]) for c in self._columns) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)
