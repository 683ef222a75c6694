"""Ranks without cells, and runs whose cells are all gone, pass through every collective
path: sampling, deposition, uptake, migration, output, summaries, checkpoints, restart
on another rank count and plots."""

from __future__ import annotations

import csv

import h5py
import numpy as np
import pytest

CORNER = """seed = 5
[domain]
size = [100.0, 50.0]
cells = [20, 10]
[time]
dt = 0.5
t_end = 2.0
[checkpoint]
interval = 1.0
[species.c]
D = 10.0
decay = 0.1
initial = 1.0
[network]
species = { P = 10 }
reactions = [{ name = "secrete", reactants = { P = 1 }, rate = 0.5, secretes = { c = 1 } }]
[agents]
initial = { count = 60, region = { lower = [0.0, 0.0], upper = [20.0, 50.0] } }
uptake = [{ field = "c", rate = 2.0, into = "P" }]
[agents.chemotaxis]
field = "c"
sensitivity = 5.0
DEATH
"""


def _rows(out):
    with open(out / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("n,m", [(2, 3), (4, 1), (3, 4)])
def test_cells_in_one_corner_leave_ranks_empty_and_everything_still_works(tmp_path, n, m, mpirun):
    cfg = tmp_path / "corner.toml"
    cfg.write_text(CORNER.replace("DEATH", ""))
    out = tmp_path / "out"
    result = mpirun.hybridsim(n, "run", str(cfg), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert int(_rows(out)[-1]["agents"]) == 60
    result = mpirun.hybridsim(m, "run", str(cfg), "-o", str(out), "--quiet", "--restart", "latest", "--t-end", "3")
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    assert [int(r["step"]) for r in rows] == list(range(7)) and int(rows[-1]["agents"]) == 60
    inspect = mpirun.hybridsim(1, "inspect", str(sorted((out / "checkpoints").glob("checkpoint-*.h5"))[-1]))
    assert inspect.returncode == 0 and "checksums: all valid" in inspect.stdout, inspect.stderr


def test_a_run_whose_cells_all_die_finishes_writes_and_restarts(tmp_path, mpirun, hybridsim_cli):
    cfg = tmp_path / "gone.toml"
    cfg.write_text(CORNER.replace("DEATH", "[agents.death]\nrate = 20.0\n"))
    out = tmp_path / "out"
    result = mpirun.hybridsim(3, "run", str(cfg), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    assert int(rows[-1]["agents"]) == 0 and rows[-1]["P_mean"] == "nan"
    with h5py.File(out / "agents.h5", "r") as f:
        assert f["steps"][sorted(f["steps"])[-1]]["id"].shape == (0,)
    result = mpirun.hybridsim(2, "run", str(cfg), "-o", str(out), "--quiet", "--restart", "latest", "--t-end", "3")
    assert result.returncode == 0, result.stderr
    assert int(_rows(out)[-1]["step"]) == 6
    plot = hybridsim_cli("plot", str(out))
    assert plot.returncode == 0, plot.stderr
    assert np.isfinite(float(_rows(out)[-1]["c_integral"]))


TYPED_CORNER = """seed = 5
[domain]
size = [100.0, 50.0]
cells = [20, 10]
[time]
dt = 0.5
t_end = 2.0
[checkpoint]
interval = 1.0
[species.c]
D = 10.0
decay = 0.1
initial = 1.0
[cell_types.a]
initial = { count = 40, region = { lower = [0.0, 0.0], upper = [20.0, 50.0] } }
body = { radius = 2.0 }
uptake = [{ field = "c", rate = 2.0, into = "P" }]
chemotaxis = { field = "c", sensitivity = 5.0 }
change = [{ to = "b", rate = 0.05 }]
DEATH
[cell_types.a.network]
species = { P = 10 }
reactions = [{ name = "secrete", reactants = { P = 1 }, rate = 0.5, secretes = { c = 1 } }]
[cell_types.b]
initial = { count = 0 }
body = { radius = 3.0 }
[cell_types.b.network]
species = { P = 0, Q = 1 }
reactions = [{ products = { Q = 1 }, rate = 1.0 }]
"""


@pytest.mark.parametrize("death", ("", "death = { rate = 20.0 }"), ids=("cells in a corner", "all die"))
def test_two_types_one_starting_empty_in_a_corner_restart_on_another_rank_count(tmp_path, mpirun, hybridsim_cli,
                                                                                 death):
    cfg = tmp_path / "typed.toml"
    cfg.write_text(TYPED_CORNER.replace("DEATH", death))
    out = tmp_path / "out"
    result = mpirun.hybridsim(3, "run", str(cfg), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    assert int(rows[0]["b_agents"]) == 0 and rows[0]["b_Q_mean"] == "nan"
    if not death:
        assert int(rows[-1]["agents"]) == 40 and int(rows[-1]["b_agents"]) > 0
    result = mpirun.hybridsim(2, "run", str(cfg), "-o", str(out), "--quiet", "--restart", "latest", "--t-end", "3")
    assert result.returncode == 0, result.stderr
    assert int(_rows(out)[-1]["step"]) == 6
    inspect = mpirun.hybridsim(1, "inspect", str(sorted((out / "checkpoints").glob("checkpoint-*.h5"))[-1]))
    assert inspect.returncode == 0 and "checksums: all valid" in inspect.stdout, inspect.stderr
    plot = hybridsim_cli("plot", str(out))
    assert plot.returncode == 0, plot.stderr
