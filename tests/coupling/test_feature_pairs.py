"""Documented features combine: every pair of {chemotaxis, division, death, absorbing
faces, uptake, secretion, mechanics, tau-leaping, hybrid method, cells as bodies} runs to the end with
no warning, on 1, 2, 3 or 4 ranks (HYBRIDSIM_ALL_RANKS=1: each pair on all four), and
the cell count's bookkeeping holds in every step; so does each of them with two cell types
that change into one another. Chemotaxis with division and death gives the same cells on
any rank count."""

from __future__ import annotations

import csv
import itertools
import math
import os

import h5py
import numpy as np
import pytest

BASE = """seed = 11
[domain]
size = [60.0, 40.0]
cells = [12, 8]
[time]
dt = 0.5
t_end = 2.0
[species.c]
D = 20.0
decay = 0.1
initial = {{ value = 0.2, regions = [{{ lower = [0.0, 0.0], upper = [30.0, 40.0], value = 1.0 }}] }}
[network]
species = {{ P = 20 }}
reactions = [
  {{ name = "make", products = {{ P = 1 }}, rate = 2.0 }},
  {{ name = "deg", reactants = {{ P = 1 }}, rate = 0.05 }},
{reactions}]
[agents]
initial = {{ count = 120 }}
{agent_keys}
{tables}
"""
# feature → (reactions, keys of [agents], further tables)
FEATURES = {
    "chemotaxis": ("", "", '[agents.chemotaxis]\nfield = "c"\nsensitivity = 50.0\nmax_speed = 5.0\n'),
    "division": ("", "", "[agents.division]\nrate = 0.4\n"),
    "death": ("", "", "[agents.death]\nrate = 0.3\n"),
    "absorbing": ("", "", '[agents.motility]\ntype = "brownian"\ndiffusivity = 30.0\n'
                          '[agents.boundary]\nx_min = "absorbing"\nx_max = "absorbing"\n'),
    "uptake": ("", 'uptake = [{ field = "c", rate = 2.0, into = "P" }]\n', ""),
    "secretion": ('  { name = "secrete", reactants = { P = 1 }, rate = 0.5, secretes = { c = 1 } },\n', "", ""),
    "mechanics": ("", "", '[mechanics]\nE = 1000.0\nnu = 0.3\nactive = { field = "c", alpha = 10.0 }\n'
                          'advect_agents = true\n[mechanics.boundary]\nx_min = "clamped"\n'),
    "tau-leaping": ("", 'method = "tau-leaping"\n', ""),
    "hybrid": ("", 'method = "hybrid"\nhybrid_threshold = 10\n', ""),
    "bodies": ("", "", "[agents.body]\nradius = 2.0\ngrowth = 15.0\ndivision_volume = 50.0\n"
                       "[agents.contact]\nrepulsion = 5.0\ndt = 0.05\nwall = 2.0\n"),
}
EXCLUSIVE = {frozenset(("tau-leaping", "hybrid"))}  # both are values of agents.method
PAIRS = [p for p in itertools.combinations(FEATURES, 2) if frozenset(p) not in EXCLUSIVE]
RANKS = (1, 2, 3, 4)
CASES = [(pair, n) for k, pair in enumerate(PAIRS)
         for n in (RANKS if os.environ.get("HYBRIDSIM_ALL_RANKS") else (RANKS[k % len(RANKS)],))]


def config(*features: str) -> str:
    parts = [FEATURES[f] for f in features]
    return BASE.format(reactions="".join(p[0] for p in parts), agent_keys="".join(p[1] for p in parts),
                       tables="".join(p[2] for p in parts))


def _summary(out):
    with open(out / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("pair,n", CASES, ids=[f"{a}+{b}-{n}ranks" for (a, b), n in CASES])
def test_every_pair_of_features_runs_cleanly(tmp_path, pair, n, mpirun):
    cfg = tmp_path / "pair.toml"
    cfg.write_text(config(*pair))
    out = tmp_path / "out"
    result = mpirun.hybridsim(n, "run", str(cfg), "-o", str(out), "--quiet", timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # no warning, and nothing else either
    rows = _summary(out)
    assert [int(r["step"]) for r in rows] == list(range(5))
    for before, after in zip(rows, rows[1:]):
        change = int(after["births"]) - int(after["deaths"]) - int(after["absorbed"])
        assert int(after["agents"]) == int(before["agents"]) + change
    assert all(math.isfinite(float(r["c_integral"])) and float(r["c_integral"]) >= 0 for r in rows)
    with h5py.File(out / "agents.h5", "r") as f:
        last = f["steps"][sorted(f["steps"])[-1]]
        position = last["position"][...]
        assert len(position) == int(rows[-1]["agents"])
        assert np.all((position >= 0) & (position <= np.array([60.0, 40.0])))


def _final_cells(out):
    with h5py.File(out / "agents.h5", "r") as f:
        last = f["steps"][sorted(f["steps"])[-1]]
        order = np.argsort(last["id"][...])
        return last["id"][...][order], last["position"][...][order], last["species"]["P"][...][order]


def test_chemotaxis_with_division_and_death_gives_the_same_cells_on_any_rank_count(tmp_path, mpirun):
    """Each cell drifts by the gradient at its own position (a daughter by her mother's):
    the cells agree across rank counts up to the fields' round-off, which enters the
    drift only."""
    cfg = tmp_path / "chemo.toml"
    cfg.write_text(config("chemotaxis", "division", "death", "absorbing"))
    runs = {}
    for n in RANKS[:3]:
        result = mpirun.hybridsim(n, "run", str(cfg), "-o", str(tmp_path / f"out{n}"), "--quiet", "--t-end", "4")
        assert result.returncode == 0, result.stderr
        runs[n] = _final_cells(tmp_path / f"out{n}")
    ids, position, counts = runs[1]
    assert 50 < len(ids) < 500
    for n in RANKS[1:3]:
        assert np.array_equal(runs[n][0], ids), n
        assert np.array_equal(runs[n][2], counts), n
        assert np.abs(runs[n][1] - position).max() < 1e-9, n


TYPED = """seed = 13
[domain]
size = [60.0, 40.0]
cells = [12, 8]
[time]
dt = 0.5
t_end = 2.0
[species.c]
D = 20.0
decay = 0.1
initial = {{ value = 0.2, regions = [{{ lower = [0.0, 0.0], upper = [30.0, 40.0], value = 1.0 }}] }}
[agents]
{shared}
[cell_types.a]
initial = {{ count = 60 }}
change = [{{ to = "b", rate = 0.1, threshold = {{ species = "P", above = 24 }} }}]
{a}
[cell_types.a.network]
species = {{ P = 20 }}
reactions = [
  {{ name = "make", products = {{ P = 1 }}, rate = 2.0 }},
  {{ name = "deg", reactants = {{ P = 1 }}, rate = 0.05 }},
{reactions}]
[cell_types.b]
initial = {{ count = 60 }}
{b}
[cell_types.b.network]
species = {{ P = 0, Q = 3 }}
reactions = [{{ products = {{ Q = 1 }}, rate = 0.5 }}, {{ reactants = {{ P = 1 }}, rate = 0.2 }}]
{tables}
"""
# feature → (reactions of type a, shared [agents] keys, keys of type a, keys of type b, further tables)
TYPED_FEATURES = {
    "chemotaxis": ("", "", 'chemotaxis = { field = "c", sensitivity = 50.0, max_speed = 5.0 }', "", ""),
    "division": ("", "", "division = { rate = 0.4 }", "division = { rate = 0.2 }", ""),
    "death": ("", "", "death = { rate = 0.3 }", "", ""),
    "absorbing": ("", 'boundary = { x_min = "absorbing", x_max = "absorbing" }',
                  'motility = { type = "brownian", diffusivity = 30.0 }',
                  'motility = { type = "brownian", diffusivity = 10.0 }', ""),
    "uptake": ("", "", 'uptake = [{ field = "c", rate = 2.0, into = "P" }]', 'uptake = [{ field = "c", rate = 1.0 }]',
               ""),
    "secretion": ('  { name = "secrete", reactants = { P = 1 }, rate = 0.5, secretes = { c = 1 } },\n', "", "", "", ""),
    "mechanics": ("", "", "", "", FEATURES["mechanics"][2]),
    "tau-leaping": ("", 'method = "tau-leaping"', "", "", ""),
    "hybrid": ("", 'method = "hybrid"\nhybrid_threshold = 10', "", "", ""),
    "bodies": ("", "", "body = { radius = 2.0, growth = 15.0, division_volume = 50.0 }", "body = { radius = 1.5 }",
               "[agents.contact]\nrepulsion = 5.0\ndt = 0.05\nwall = 2.0\n[agents.adhesion]\na = { b = 0.1 }\n"),
}
TYPED_CASES = [(f, RANKS[k % len(RANKS)]) for k, f in enumerate(TYPED_FEATURES)]


@pytest.mark.parametrize("feature,n", TYPED_CASES, ids=[f"types+{f}-{n}ranks" for f, n in TYPED_CASES])
def test_every_feature_runs_with_two_cell_types_that_change_into_one_another(tmp_path, feature, n, mpirun):
    reactions, shared, a, b, tables = TYPED_FEATURES[feature]
    cfg = tmp_path / "typed.toml"
    cfg.write_text(TYPED.format(reactions=reactions, shared=shared, a=a, b=b, tables=tables))
    out = tmp_path / "out"
    result = mpirun.hybridsim(n, "run", str(cfg), "-o", str(out), "--quiet", timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
    rows = _summary(out)
    assert [int(r["step"]) for r in rows] == list(range(5))
    assert sum(int(r["type_changes"]) for r in rows) > 0
    for before, after in zip(rows, rows[1:]):
        change = int(after["births"]) - int(after["deaths"]) - int(after["absorbed"])
        assert int(after["agents"]) == int(before["agents"]) + change
        assert int(after["agents"]) == int(after["a_agents"]) + int(after["b_agents"])
    with h5py.File(out / "agents.h5", "r") as f:
        last = f["steps"][sorted(f["steps"])[-1]]
        assert len(last["type"]) == int(rows[-1]["agents"])
        assert np.all((last["position"][...] >= 0) & (last["position"][...] <= np.array([60.0, 40.0])))
        # only type b's network makes Q, and no b cell turns into an a
        assert np.all(last["species"]["Q"][...][last["type"][...] == 0] == 0)
