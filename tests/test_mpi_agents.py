"""Agents on 1, 2 and 4 ranks: migration never loses or duplicates an agent, and
agent-only runs are bitwise identical whatever the rank count (VALIDATION case 9)."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from mpi import hybridsim, mpirun

CASES = Path(__file__).parent / "mpi_cases"
EXAMPLE = Path(__file__).parent.parent / "examples" / "cells.toml"


@pytest.mark.mpi
@pytest.mark.parametrize("n", (2, 4))
@pytest.mark.parametrize("dim, mode", [(2, "random"), (2, "adversarial"), (3, "random"), (3, "adversarial")])
def test_migration_loses_and_duplicates_nothing(n, dim, mode):
    result = mpirun(n, [str(CASES / "migration.py"), str(dim), mode])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["total"] == report["expected_total"]
    assert report["unique"] == report["total"]
    assert report["same_ids"] and report["payload_intact"]
    assert report["misplaced"] == 0
    assert report["moved"] > report["total"]  # agents really crossed subdomains, many times
    assert report["daughters_ranked_by_mother_id"] and report["next_id_advanced"]


def _final_agents(path):
    with h5py.File(path, "r") as f:
        steps = sorted(f["steps"])
        g = f["steps"][steps[-1]]
        order = np.argsort(g["id"][...])
        state = {key: g[key][...][order] for key in ("id", "position", "age")}
        state.update({f"species/{s}": g["species"][s][...][order] for s in g["species"]})
        return state, dict(g.attrs), [f["steps"][s].attrs["count"] for s in steps]


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory):
    runs = {}
    for n in (1, 2, 4):
        out = tmp_path_factory.mktemp(f"cells{n}")
        result = hybridsim(n, "run", str(EXAMPLE), "-o", str(out), "--quiet", "--t-end", "240")
        assert result.returncode == 0, result.stderr
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
def test_rates_follow_the_field_sampled_at_each_cell(tmp_path):
    """Birth at k·L²/(K²+L²) with L = 1 everywhere and death at γ = 1: after 12/γ each
    cell's X is Poisson with mean 16 (not k/γ = 20)."""
    cfg = tmp_path / "case.toml"
    cfg.write_text(FIELD_MODULATED)
    result = hybridsim(2, "run", str(cfg), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    x = _final_agents(tmp_path / "out" / "agents.h5")[0]["species/X"].astype(float)
    lam = 20.0 * 1.0 / (0.25 + 1.0)
    assert abs(x.mean() - lam) < 5 * np.sqrt(lam / x.size)
    assert abs(x.var() / x.mean() - 1.0) < 5 * np.sqrt((lam + 2 * lam**2) / x.size) / lam
