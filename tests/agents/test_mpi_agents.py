"""Agents on 1, 2 and 4 ranks: agent-only runs are bitwise identical whatever the rank
count (VALIDATION case 9), and division, death, motility and field-modulated rates act."""

from pathlib import Path

import h5py
import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cells.toml"


def _final_agents(path):
    with h5py.File(path, "r") as f:
        steps = sorted(f["steps"])
        g = f["steps"][steps[-1]]
        order = np.argsort(g["id"][...])
        state = {key: g[key][...][order] for key in ("id", "position", "age")}
        state.update({f"species/{s}": g["species"][s][...][order] for s in g["species"]})
        return state, dict(g.attrs), [f["steps"][s].attrs["count"] for s in steps]


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory, mpirun, written_on):
    runs = {}
    for n in (1, 2, 4):
        out = tmp_path_factory.mktemp(f"cells{n}")
        result = mpirun.hybridsim(n, "run", str(EXAMPLE), "-o", str(out), "--quiet", "--t-end", "240")
        assert result.returncode == 0, result.stderr
        assert written_on(out / "agents.h5") == {n}
        runs[n] = _final_agents(out / "agents.h5")
    return runs


@pytest.mark.mpi
@pytest.mark.parametrize("n", (2, 4))
def test_agent_only_example_is_bitwise_identical_on_any_rank_count(example_runs, n):
    reference, ref_attrs, ref_counts = example_runs[1]
    state, attrs, counts = example_runs[n]
    assert attrs["count"] == ref_attrs["count"] and attrs["next_id"] == ref_attrs["next_id"]
    assert counts == ref_counts
    for key, value in reference.items():
        assert np.array_equal(state[key], value), key


@pytest.mark.mpi
def test_example_exercises_division_death_and_motility(example_runs):
    state, attrs, counts = example_runs[1]
    # daughters were born (ids beyond the initial ones) and cells died (count below initial + births)
    initial = counts[0]
    births = attrs["next_id"] - initial
    assert births > 20
    assert attrs["count"] < initial + births
    assert np.unique(state["id"]).size == state["id"].size


FIELD_MODULATED = """
seed = 3
[domain]
size = [100.0, 100.0]
cells = [10, 10]
[time]
dt = 0.5
t_end = 12.0
[species.ligand]
D = 1.0
initial = 1.0
[network]
species = { X = 0 }
reactions = [
  { products = { X = 1 }, rate = { k = 20.0, field = "ligand", hill = { K = 0.5, n = 2 } } },
  { reactants = { X = 1 }, rate = 1.0 },
]
[agents]
initial = { count = 3000 }
motility = { type = "brownian", diffusivity = 20.0 }
"""


@pytest.mark.mpi
def test_rates_follow_the_field_sampled_at_each_cell(tmp_path, mpirun):
    """Birth at k·L²/(K²+L²) with L = 1 everywhere and death at γ = 1: after 12/γ each
    cell's X is Poisson with mean 16 (not k/γ = 20)."""
    cfg = tmp_path / "case.toml"
    cfg.write_text(FIELD_MODULATED)
    result = mpirun.hybridsim(2, "run", str(cfg), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    x = _final_agents(tmp_path / "out" / "agents.h5")[0]["species/X"].astype(float)
    lam = 20.0 * 1.0 / (0.25 + 1.0)
    assert abs(x.mean() - lam) < 5 * np.sqrt(lam / x.size)
    assert abs(x.var() / x.mean() - 1.0) < 5 * np.sqrt((lam + 2 * lam**2) / x.size) / lam


LATTICE_3D = """
seed = 11
[domain]
size = [120.0, 80.0, 60.0]
cells = [12, 8, 6]
periodic = ["z"]
[time]
dt = 0.5
t_end = 40.0
[output]
interval = 10.0
[network]
species = { G = 1, M = 0, P = 200 }
reactions = [
  { name = "on", reactants = { G = 1 }, rate = 0.05 },
  { name = "tx", reactants = { G = 1 }, products = { G = 1, M = 1 }, rate = 4.0 },
  { name = "mdeg", reactants = { M = 1 }, rate = 0.5 },
  { name = "tl", reactants = { M = 1 }, products = { M = 1, P = 1 }, rate = 20.0 },
  { name = "dimer", reactants = { P = 2 }, rate = 0.0005 },
  { name = "pdeg", reactants = { P = 1 }, rate = 0.02 },
]
[agents]
method = "tau-leaping"
initial = [{ lattice = { spacing = 10.0 } }, { count = 300, region = { center = [60.0, 40.0, 30.0], radius = 25.0 } }]
motility = { type = "brownian", diffusivity = { D = 30.0, species = "P", hill = { K = 300.0, n = 2 } } }
division = { threshold = { species = "P", above = 450 }, min_age = 4.0 }
death = { threshold = { species = "G", below = 0 }, min_age = 20.0 }
boundary = { x_min = "absorbing", y_max = "reflecting" }
"""


@pytest.mark.mpi
def test_3d_lattice_brownian_tau_leaping_run_is_bitwise_identical_on_1_2_4_ranks(tmp_path, mpirun, written_on):
    cfg = tmp_path / "case.toml"
    cfg.write_text(LATTICE_3D)
    states = {}
    for n in (1, 2, 4):
        result = mpirun.hybridsim(n, "run", str(cfg), "-o", str(tmp_path / f"out{n}"), "--quiet")
        assert result.returncode == 0, result.stderr
        assert written_on(tmp_path / f"out{n}" / "agents.h5") == {n}
        states[n] = _final_agents(tmp_path / f"out{n}" / "agents.h5")
    reference, attrs, counts = states[1]
    assert attrs["next_id"] > 576 + 300 + 10  # daughters were born (lattice 12·8·6 sites + 300)
    assert counts[-1] != counts[0]
    for n in (2, 4):
        state, other_attrs, other_counts = states[n]
        assert other_counts == counts and other_attrs["next_id"] == attrs["next_id"]
        for key, value in reference.items():
            assert np.array_equal(state[key], value), (n, key)
