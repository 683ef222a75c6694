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

    def __init__(self, comm, directory: str | Path):
        self.comm = comm
        self.path = Path(directory) / SUMMARY_FILE
        self._file = None
        self._columns: list[str] | None = None

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
