"""SBML events on the state in the cells of a tissue: each cell keeps its trigger values
(and any parameter an event sets) in the agent store, so case 00033 — dimerisation with
a reset when P2 > 30 — gives in 3000 cells of a tissue on 2 ranks the exact master
equation's mean of P2 at every output; with division, death and motility the cells are
bitwise the same on 1, 2 and 3 ranks, and a run restarted from a checkpoint on another rank
count continues bitwise (the state is in the checkpoint), across a time event that
stops the clock inside a step."""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from hybridsim.analysis.sbml_suite import TISSUE

sys.path.insert(0, str(Path(__file__).parents[1] / "agents"))
from test_sbml_suite import _reset_chain_mean_sd  # noqa: E402  (the exact solution of the case's master equation)

MODEL = Path(__file__).parents[1] / "data" / "sbml-test-suite-stochastic" / "00033" / "00033-sbml-l3v2.xml"
CELLS = 3000
STILL = TISSUE.format(seed=2, model=MODEL, duration=30.0, cells=CELLS)  # cells that do not move, no fields
KICK = """<event id="kick" useValuesFromTriggerTime="true"><trigger initialValue="false" persistent="true">
<math xmlns="http://www.w3.org/1998/Math/MathML"><apply><geq/><csymbol encoding="text"
 definitionURL="http://www.sbml.org/sbml/symbols/time">t</csymbol><cn>12.5</cn></apply></math></trigger>
<listOfEventAssignments><eventAssignment variable="P"><math xmlns="http://www.w3.org/1998/Math/MathML"><cn>100</cn>
</math></eventAssignment><eventAssignment variable="P2"><math xmlns="http://www.w3.org/1998/Math/MathML"><cn>0</cn>
</math></eventAssignment></listOfEventAssignments></event>"""
BUSY = """seed = 4
network = "{model}"
[domain]
size = [90.0, 70.0]
cells = [9, 7]
[time]
dt = 1.0
t_end = 30.0
[output]
interval = 5.0
[checkpoint]
interval = 10.0
keep = 5
[agents]
initial = { count = 300 }
motility = { type = "brownian", diffusivity = 4.0 }
division = { rate = 0.01 }
death = { rate = 0.005 }
"""


def test_case_00033_in_the_cells_of_a_tissue_gives_the_exact_mean(tmp_path, mpirun):
    config = tmp_path / "run.toml"
    config.write_text(STILL)
    result = mpirun.hybridsim(2, "run", str(config), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    rows = np.genfromtxt(tmp_path / "out" / "summary.csv", delimiter=",", names=True)
    mean, sd = _reset_chain_mean_sd(rows["time"])
    live = sd > 0
    z = np.sqrt(CELLS) * (rows["P2_mean"][live] - mean[live]) / sd[live]
    assert np.all(np.abs(z) < 4), z
    assert rows["P2_mean"][-1] < 25 and rows["time"][-1] == 30.0  # resets happened (no reset: P2 → 40)


def _cells(out: Path) -> dict:
    with h5py.File(sorted((out / "checkpoints").glob("checkpoint-*.h5"))[-1]) as f:
        agents = f["agents"]
        order = np.argsort(agents["ids"][...])
        return {k: agents[k][...][order] for k in agents}


@pytest.fixture(scope="module")
def busy_runs(tmp_path_factory, mpirun):
    root = tmp_path_factory.mktemp("events")
    model = root / "reset_and_kick.xml"  # 00033's reset on the state, and a time event inside a step
    model.write_text(MODEL.read_text().replace("</listOfEvents>", KICK + "</listOfEvents>"))
    config = root / "busy.toml"
    config.write_text(BUSY.replace("{model}", str(model)))
    runs = {}
    for n in (1, 2, 3):
        result = mpirun.hybridsim(n, "run", str(config), "-o", str(root / f"out{n}"), "--quiet")
        assert result.returncode == 0, result.stderr
        runs[n] = root / f"out{n}"
    return config, runs


@pytest.mark.mpi
@pytest.mark.parametrize("n", (2, 3))
def test_cells_with_events_are_bitwise_the_same_on_any_rank_count(busy_runs, n):
    _, runs = busy_runs
    a, b = _cells(runs[1]), _cells(runs[n])
    assert "network_state" in a and a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), (n, key)
    rows = np.genfromtxt(runs[1] / "summary.csv", delimiter=",", names=True)
    assert rows["births"].sum() > 0 and rows["deaths"].sum() > 0
    # the kick at t = 12.5 set every cell back to P = 100, P2 = 0: 2.5 min later the mean P2
    # is near 9.8 (the master equation from that start), at t = 10 it was over 20
    at = {t: m for t, m in zip(rows["time"], rows["P2_mean"])}
    assert at[15.0] < 13.0 and at[10.0] > 18.0, at
    # every cell's trigger value is whether its P2 is above 30 now (it was checked when P2 last changed)
    assert np.array_equal(a["network_state"][:, 0], (a["counts"][:, 1] > 30).astype(float))


@pytest.mark.mpi
def test_a_restart_on_another_rank_count_continues_the_events_bitwise(busy_runs, tmp_path, mpirun):
    config, runs = busy_runs
    out = tmp_path / "out"
    assert mpirun.hybridsim(2, "run", str(config), "-o", str(out), "--quiet", "--t-end", "10").returncode == 0
    result = mpirun.hybridsim(3, "run", str(config), "-o", str(out), "--quiet", "--restart", "latest")
    assert result.returncode == 0, result.stderr
    a, b = _cells(runs[1]), _cells(out)
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def test_a_parameter_an_event_sets_is_kept_per_cell_in_the_store(tmp_path, mpirun):
    """The event of the model fires in every cell at t = 0 (initialValue false), setting
    X = 50 and the death rate g = 0.2/min, which each cell then keeps in its
    ``network_state``: X decays as a pure death process, mean 50·e^(−0.2 t)."""
    from test_propensity import START_EVENT

    model = tmp_path / "start.xml"
    model.write_text(START_EVENT)
    config = tmp_path / "run.toml"
    config.write_text(TISSUE.format(seed=2, model=model, duration=6.0, cells=CELLS))
    result = mpirun.hybridsim(2, "run", str(config), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    rows = np.genfromtxt(tmp_path / "out" / "summary.csv", delimiter=",", names=True)
    t = rows["time"][1:]
    p = np.exp(-0.2 * t)
    assert np.all(np.abs(rows["X_mean"][1:] - 50 * p) < 4 * np.sqrt(50 * p * (1 - p) / CELLS))
    with h5py.File(sorted((tmp_path / "out" / "checkpoints").glob("checkpoint-*.h5"))[-1]) as f:
        state = f["agents"]["network_state"][...]
    assert np.all(state[:, 0] == 0.2) and np.all(state[:, 1] == 1.0)  # g, and the trigger X >= 0 holds
