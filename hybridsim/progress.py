"""Progress reports for long runs, printed by rank 0 only.

Nothing is shown during the first :data:`QUIET_SECONDS` of wall time, so short
runs stay silent. On a terminal the report is a single self-updating bar; in a
batch log it is one plain line every :data:`LINE_SECONDS`. Under an MPI launcher
the output is always treated as a log: OpenMPI hands every rank a pseudo-terminal
even when ``mpirun``'s own output goes to a file, so ``isatty()`` says nothing there.
"""

from __future__ import annotations

import os
import sys
import time

QUIET_SECONDS = 3.0
LINE_SECONDS = 10.0
BAR_SECONDS = 0.2
MPI_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")
"""Set by mpirun/mpiexec (OpenMPI, MPICH, PMIx) in the ranks' environment."""


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:d}:{s:02d}"


class Progress:
    """Reports step, simulated time, wall time and estimated time left."""

    def __init__(self, t_end: float, *, enabled: bool = True, stream=None):
        self.t_end = t_end
        self.enabled = enabled
        self.stream = stream or sys.stdout
        under_mpi = any(name in os.environ for name in MPI_LAUNCHER_VARIABLES)
        self.tty = self.stream.isatty() and not under_mpi
        self.start = time.perf_counter()
        self._last = self.start
        self._shown = False

    def update(self, step: int, t: float, *, final: bool = False, extra: str = "") -> None:
        """Report ``step`` at simulated time ``t`` (min); ``extra`` is appended
        to the line (e.g. the number of agents)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        wall = now - self.start
        if wall < QUIET_SECONDS and not (final and self._shown):
            return
        interval = BAR_SECONDS if self.tty else LINE_SECONDS
        if not final and now - self._last < interval and self._shown:
            return
        self._last = now
        fraction = min(t / self.t_end, 1.0) if self.t_end > 0 else 1.0
        eta = wall * (1.0 - fraction) / fraction if fraction > 0 else float("nan")
        text = (
            f"step {step}  t = {t:.6g}/{self.t_end:.6g} min  wall {_clock(wall)}  "
            f"eta {_clock(eta) if eta == eta else '?'}{extra}"
        )
        if self.tty:
            width = 24
            filled = int(round(width * fraction))
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {100 * fraction:5.1f}%  {text}\033[K")
            if final:
                self.stream.write("\n")
        else:
            self.stream.write(f"progress: {100 * fraction:5.1f}%  {text}\n")
        self.stream.flush()
        self._shown = True
