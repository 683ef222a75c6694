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
