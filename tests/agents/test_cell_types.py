"""Cell types on one rank: each type's network gives its own statistics (two two-stage
models with different parameters in one run match their closed forms), a type change
keeps the molecules the networks share and does what its rule says with the rest, the
rows regroup by type moving only the misplaced ones, and pair strengths follow the
types' table."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest

from hybridsim.agents.population import CellPopulation
from hybridsim.agents.store import AgentStore
from hybridsim.config import parse_config

TWO_STAGE = """
seed = 5
[domain]
size = [200.0, 200.0]
cells = [4, 4]
[time]
dt = 5.0
t_end = 300.0
[output]
interval = 300.0
[cell_types.fast]
initial = {{ count = {n} }}
[cell_types.fast.network]
species = {{ M = 4, P = 120 }}
reactions = [
  {{ products = {{ M = 1 }}, rate = 2.0 }},
  {{ reactants = {{ M = 1 }}, rate = 0.5 }},
  {{ reactants = {{ M = 1 }}, products = {{ M = 1, P = 1 }}, rate = 3.0 }},
  {{ reactants = {{ P = 1 }}, rate = 0.1 }},
]
[cell_types.slow]
initial = {{ count = {n} }}
[cell_types.slow.network]
species = {{ M = 5, P = 100 }}
reactions = [
  {{ products = {{ M = 1 }}, rate = 1.0 }},
  {{ reactants = {{ M = 1 }}, rate = 0.2 }},
  {{ reactants = {{ M = 1 }}, products = {{ M = 1, P = 1 }}, rate = 1.0 }},
  {{ reactants = {{ P = 1 }}, rate = 0.05 }},
]
"""
# (k_m, γ_m, k_p, γ_p) of each type
PARAMETERS = {"fast": (2.0, 0.5, 3.0, 0.1), "slow": (1.0, 0.2, 1.0, 0.05)}


def test_two_types_with_their_own_two_stage_networks_match_their_closed_forms(tmp_path, hybridsim_cli):
    """Stationary ⟨M⟩ = k_m/γ_m with Fano 1, ⟨P⟩ = k_m k_p/(γ_m γ_p) with Fano
    1 + k_p/(γ_m + γ_p), per type, after 15 protein lifetimes of the slower type;
    tolerances from the samples' own fourth moments."""
    n = 4000
    config = tmp_path / "two_stage.toml"
    config.write_text(TWO_STAGE.format(n=n))
    result = hybridsim_cli("run", str(config), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    rows = np.genfromtxt(tmp_path / "out" / "summary.csv", delimiter=",", names=True)
    with h5py.File(tmp_path / "out" / "agents.h5") as f:
        last = f["steps"][sorted(f["steps"])[-1]]
        kinds = last["type"][...]
        counts = {s: last["species"][s][...] for s in ("M", "P")}
        names = [t.decode() for t in f.attrs["types"]]
    for k, name in enumerate(names):
        k_m, g_m, k_p, g_p = PARAMETERS[name]
        expected = {"M": (k_m / g_m, 1.0), "P": (k_m * k_p / (g_m * g_p), 1.0 + k_p / (g_m + g_p))}
        assert rows[f"{name}_agents"][-1] == n
        for species, (mean, fano) in expected.items():
            x = counts[species][kinds == k].astype(float)
            assert x.size == n
            var = x.var()
            m4 = ((x - x.mean()) ** 4).mean()
            se_mean = math.sqrt(var / n)
            se_fano = math.sqrt((m4 - var**2) / n) / mean + fano * se_mean / mean
            assert abs(x.mean() - mean) < 5 * se_mean, (name, species, x.mean(), mean)
            assert abs(var / x.mean() - fano) < 5 * se_fano, (name, species, var / x.mean(), fano)
            # the summary's per-type columns are these cells' statistics
            assert rows[f"{name}_{species}_mean"][-1] == pytest.approx(x.mean(), rel=1e-12)
            assert rows[f"{name}_{species}_fano"][-1] == pytest.approx(var / x.mean(), rel=1e-9)


CHANGES = """
[domain]
size = [100.0, 100.0]
cells = [2, 2]
[time]
dt = 1.0
t_end = 1.0
[cell_types.a]
initial = {{ count = 0 }}
change = [{{ to = "b", threshold = {{ species = "P", above = 10 }}, unshared = "{unshared}" }}]
[cell_types.a.network]
species = {{ M = 0, P = 0, X = 0 }}
reactions = [{{ products = {{ M = 1 }}, rate = 1.0 }}]
[cell_types.b]
initial = {{ count = 0 }}
[cell_types.b.network]
species = {{ P = 0, Y = 7 }}
reactions = [{{ products = {{ Y = 1 }}, rate = 1.0 }}]
"""


@pytest.mark.parametrize("unshared", ("drop", "keep"))
def test_a_type_change_keeps_shared_molecules_and_treats_the_rest_as_its_rule_says(unshared):
    cfg = parse_config(CHANGES.format(unshared=unshared))
    pop = CellPopulation(cfg.agents, cfg.domain.size, seed=1)
    assert pop.species == ("M", "P", "X", "Y")
    rng = np.random.default_rng(2)
    n = 500
    counts = np.zeros((n, 4), dtype=np.int64)
    counts[:, :3] = rng.integers(0, 20, (n, 3))
    kinds = rng.integers(0, 2, n)
    counts[kinds == 1, 0] = 0  # b cells have no M or X of their own
    counts[kinds == 1, 2] = 0
    counts[kinds == 1, 3] = rng.integers(0, 5, int((kinds == 1).sum()))
    pop.store.append(np.arange(n), rng.uniform(0, 100, (n, 2)), counts, **pop.new_columns(kinds, n))
    before = {int(i): (int(k), c.copy()) for i, k, c in zip(pop.store.ids, pop.type_column(), pop.store.counts)}
    changed = pop.change_types(1.0, step=0)
    expected = {i for i, (k, c) in before.items() if k == 0 and c[1] >= 10}
    assert changed == len(expected) > 0
    for i, k, c in zip(pop.store.ids, pop.type_column(), pop.store.counts):
        kind, old = before[int(i)]
        if int(i) not in expected:
            assert k == kind and np.array_equal(c, old)
            continue
        assert k == 1
        assert c[1] == old[1]  # P is shared: every molecule carries over
        assert c[3] == 7  # Y is new to the cell: the b network's initial count
        if unshared == "drop":
            assert c[0] == 0 and c[2] == 0
        else:
            assert c[0] == old[0] and c[2] == old[2]
    # the rows regroup by type for the next stage, keeping each cell's data
    blocks = pop.blocks()
    assert [kind.name for kind, _ in blocks] == ["a", "b"]
    assert np.all(pop.type_column()[blocks[0][1].rows] == 0) and np.all(pop.type_column()[blocks[1][1].rows] == 1)


def test_regrouping_moves_only_the_rows_out_of_their_types_range():
    store = AgentStore(2, 1, typed=True)
    rng = np.random.default_rng(4)
    n = 1000
    kinds = np.sort(rng.integers(0, 3, n))
    store.append(np.arange(n), rng.uniform(0, 1, (n, 2)), np.arange(n)[:, None], type=kinds)
    bounds = store.group_by_type(3)
    assert np.array_equal(store.ids, np.arange(n))  # already grouped: nothing moves
    assert list(bounds) == [0, *np.cumsum(np.bincount(kinds, minlength=3))]
    store.remove(rng.choice(n, 50, replace=False))
    store.append(n + np.arange(30), rng.uniform(0, 1, (30, 2)), (n + np.arange(30))[:, None],
                 type=rng.integers(0, 3, 30))
    before = dict(zip(store.ids.tolist(), store.position.tolist()))
    placed = store.column("type").copy()
    follow = {"value": store.ids.astype(float) * 2.0}
    bounds = store.group_by_type(3, follow)
    kinds = store.column("type")
    assert np.all(np.diff(kinds) >= 0) and bounds[-1] == store.n
    assert dict(zip(store.ids.tolist(), store.position.tolist())) == before  # rows moved whole
    assert np.array_equal(store.counts[:, 0], store.ids) and np.array_equal(follow["value"], 2.0 * store.ids)
    expected_kind = np.repeat(np.arange(3), np.diff(bounds))
    untouched = placed == expected_kind
    assert untouched.mean() > 0.8  # only the misplaced rows moved


def test_pair_strengths_are_the_geometric_mean_of_the_types_unless_the_table_gives_them():
    from hybridsim.agents.bodies import ContactLaw

    text = CHANGES.format(unshared="drop").replace("initial = { count = 0 }",
                                                   "initial = { count = 0 }\nbody = { radius = 5.0 }")
    text = text.replace("[cell_types.a.network]", "contact = { repulsion = 4.0, adhesion = 0.1 }\n"
                                                  "[cell_types.a.network]")
    text = text.replace("[cell_types.b.network]", "contact = { repulsion = 9.0, adhesion = 0.9 }\n"
                                                  "[cell_types.b.network]")
    law = ContactLaw.of(parse_config(text).agents)
    np.testing.assert_allclose(law.strength, [[4.0, 6.0], [6.0, 9.0]])
    np.testing.assert_allclose(law.adhesion, [[0.1, 0.3], [0.3, 0.9]])
    law = ContactLaw.of(parse_config(text + "[agents.adhesion]\na = { b = 2.0 }\n").agents)
    np.testing.assert_allclose(law.adhesion, [[0.1, 2.0], [2.0, 0.9]])


def test_check_reports_the_memory_per_cell_of_a_multi_type_run_as_the_store_holds_it():
    from hybridsim.agents.description import columns_of, describe_population

    text = CHANGES.format(unshared="drop").replace("initial = { count = 0 }",
                                                   "initial = { count = 0 }\nbody = { radius = 5.0 }")
    cfg = parse_config(text)
    pop = CellPopulation(cfg.agents, cfg.domain.size, seed=1)
    columns = columns_of(cfg.agents, 2)
    assert {"type", "contacts"} <= columns.keys() and columns["counts"] == 8 * 4 and columns["contacts"] == 16
    assert sum(columns.values()) == pop.store.bytes_per_agent
    lines = describe_population(cfg.agents, cfg.domain, 0, 1, [0, 0])
    (memory,) = [line for line in lines if "memory per agent" in line]
    assert f"memory per agent: {pop.store.bytes_per_agent} bytes" in memory and "2 types share one store" in memory


def test_a_type_may_carry_an_sbml_network_next_to_a_toml_one():
    from pathlib import Path

    sbml = Path(__file__).parents[2] / "examples" / "networks" / "two_stage.xml"
    text = CHANGES.format(unshared="keep").replace(
        '[cell_types.b.network]\nspecies = { P = 0, Y = 7 }\nreactions = [{ products = { Y = 1 }, rate = 1.0 }]',
        f'network = "{sbml}"')
    cfg = parse_config(text)
    a, b = cfg.agents.types
    assert b.network.source.endswith("two_stage.xml") and set(b.network.species) == {"M", "P"}
    assert cfg.agents.species == ("M", "P", "X")  # one column per species name, shared by both types
