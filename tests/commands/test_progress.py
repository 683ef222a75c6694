"""Progress lines: silent for short runs, then step, time, wall time and ETA."""

import io

from hybridsim import progress as progress_module
from hybridsim.progress import Progress


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_plain_lines_after_the_quiet_period_with_eta(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(progress_module.time, "perf_counter", clock)
    out = io.StringIO()
    p = Progress(t_end=100.0, stream=out)
    clock.now = 1.0
    p.update(10, 10.0)
    assert out.getvalue() == ""  # a short run stays silent
    clock.now = 20.0
    p.update(40, 40.0)  # 40 % done after 20 s: 30 s to go
    line = out.getvalue().strip()
    assert line.startswith("progress:  40.0%") and "step 40" in line
    assert "t = 40/100 min" in line and "wall 0:20" in line and "eta 0:30" in line
    clock.now = 21.0
    p.update(41, 41.0)
    assert out.getvalue().count("\n") == 1  # at most one line per LINE_SECONDS in a log
    clock.now = 50.0
    p.update(100, 100.0, final=True)
    assert out.getvalue().strip().splitlines()[-1].startswith("progress: 100.0%")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_bar_but_not_under_an_mpi_launcher(monkeypatch):
    """OpenMPI gives each rank a pseudo-terminal even when mpirun writes to a batch log,
    so under a launcher the report is plain lines, never a bar's escape sequences."""
    clock = _Clock()
    monkeypatch.setattr(progress_module.time, "perf_counter", clock)
    for name in progress_module.MPI_LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    shown = {}
    for launcher in (None, "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):
        if launcher is not None:
            monkeypatch.setenv(launcher, "4")
        out = _Terminal()
        p = Progress(t_end=10.0, stream=out)
        clock.now += 20.0
        p.update(5, 5.0)
        shown[launcher] = out.getvalue()
        if launcher is not None:
            monkeypatch.delenv(launcher)
    assert shown[None].startswith("\r[") and "\033[K" in shown[None]
    for launcher in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):
        assert shown[launcher].startswith("progress:  50.0%") and "\033" not in shown[launcher]
