"""Phenotype rules and killing on contact, on one rank: the response is PhysiCell's
(increasing rules towards one saturation, then decreasing ones towards another, each
group through a multivariate Hill function), a rule's signal may be a species, a field,
the pressure or the touching cells of a type, and a cell touching k cells of a killer
type dies at k times the per-contact rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hybridsim.agents.lifecycle import event_uniforms
from hybridsim.agents.population import CellPopulation
from hybridsim.agents.rng import STREAM_DEATH, STREAM_DIVISION
from hybridsim.agents.rules import respond
from hybridsim.config import parse_config
from hybridsim.config.rules import Rule

CONFIG = """
[domain]
size = [200.0, 200.0]
cells = [4, 4]
[time]
dt = 1.0
t_end = 1.0
[species.oxygen]
D = 100.0
decay = 0.1
[cell_types.tumour]
initial = {{ count = 0 }}
body = {{ radius = 5.0 }}
motility = {{ type = "persistent", speed = 0.5, persistence = 5.0 }}
death = {{ rate = 0.001, contact = {{ immune = 0.05 }} }}
{tumour}
[cell_types.tumour.network]
species = {{ P = 0 }}
reactions = [{{ products = {{ P = 1 }}, rate = 1.0 }}]
[cell_types.immune]
initial = {{ count = 0 }}
body = {{ radius = 4.0 }}
[cell_types.immune.network]
species = {{ X = 0 }}
reactions = [{{ products = {{ X = 1 }}, rate = 1.0 }}]
"""


def rule(up, saturation, half_max, hill):
    return Rule("species", "P", up, saturation, half_max, hill)


def test_the_response_is_physicells():
    """b₀ + (b_max − b₀)·U, then b + (b_min − b)·D, U and D multivariate Hill functions."""
    base = np.array([1.0, 1.0, 1.0, 2.0])
    s1, s2, s3 = np.array([0.0, 1.0, 3.0, 5.0]), np.array([2.0, 0.0, 1.0, 4.0]), np.array([0.0, 0.0, 2.0, 1.0])
    rules = [rule(True, 4.0, 2.0, 2.0), rule(True, 4.0, 1.0, 1.0), rule(False, 0.5, 1.5, 3.0)]
    up = (s1 / 2.0) ** 2 + s2 / 1.0
    down = (s3 / 1.5) ** 3
    b = base + (4.0 - base) * up / (1 + up)
    expected = b + (0.5 - b) * down / (1 + down)
    np.testing.assert_allclose(respond(base, rules, [s1, s2, s3]), expected, rtol=1e-14)
    # at the half-max a single rule goes halfway; far above it, to the saturation
    assert respond(1.0, [rule(True, 3.0, 2.0, 4.0)], [np.array([2.0])])[0] == pytest.approx(2.0)
    assert respond(1.0, [rule(False, 0.0, 2.0, 4.0)], [np.array([2e4])])[0] == pytest.approx(0.0, abs=1e-12)


def _population(tumour: str = ""):
    cfg = parse_config(CONFIG.format(tumour=tumour))
    return cfg, CellPopulation(cfg.agents, cfg.domain.size, seed=4)


def test_a_species_rule_sets_the_speed_and_a_field_rule_the_division_rate():
    rules = """division = { rate = 0.02 }
[[cell_types.tumour.rules]]
signal = "P"
direction = "increases"
behaviour = "migration speed"
saturation = 3.0
half_max = 20.0
hill = 2
[[cell_types.tumour.rules]]
signal = "oxygen"
direction = "decreases"
behaviour = "cycle entry"
saturation = 0.0
half_max = 5.0
hill = 4
"""
    _, pop = _population(rules)
    n = 5000
    rng = np.random.default_rng(2)
    x = rng.integers(0, 200, n)
    pop.store.append(np.arange(n), np.full((n, 2), 50.0), np.column_stack([x, 0 * x]), **pop.new_columns(0, n))
    oxygen = rng.uniform(0.0, 15.0, n)
    pop.carry = {"oxygen": oxygen}
    h = (x / 20.0) ** 2
    np.testing.assert_allclose(pop.speed(), 0.5 + (3.0 - 0.5) * h / (1 + h), rtol=1e-14)
    assert "oxygen" in pop.sampled_fields
    d = (oxygen / 5.0) ** 4
    rate = 0.02 * (1 - d / (1 + d))
    u = event_uniforms(np.arange(n, dtype=np.int64), 4, STREAM_DIVISION, 3)
    np.testing.assert_array_equal(np.sort(pop.store.ids[pop.dividing(10.0, 3)]),
                                  np.nonzero(u < -np.expm1(-rate * 10.0))[0])


def test_a_cell_touching_k_killers_dies_at_k_times_the_contact_rate():
    n, dt = 40000, 2.0
    _, pop = _population()
    pop.store.append(np.arange(n), np.full((n, 2), 50.0), np.zeros((n, 2)), **pop.new_columns(0, n))
    touching = np.random.default_rng(1).integers(0, 4, n)
    pop.store.column("contacts")[:, 1] = touching
    pop.store.column("contacts")[:, 0] = 3  # touching other tumour cells kills no one
    dead = pop.die(dt, step=7)
    rate = 0.001 + 0.05 * touching
    u = event_uniforms(np.arange(n, dtype=np.int64), 4, STREAM_DEATH, 7)
    expected = u < -np.expm1(-rate * dt)
    assert dead == expected.sum()
    assert np.array_equal(np.sort(pop.store.ids), np.nonzero(~expected)[0])
    for k in range(4):  # and the frequencies follow 1 − exp(−(k0 + k·k_c)·dt)
        p = 1 - math.exp(-(0.001 + 0.05 * k) * dt)
        share = expected[touching == k].mean()
        assert abs(share - p) < 5 * math.sqrt(p * (1 - p) / (touching == k).sum())


def test_a_contact_signal_rule_reads_the_touching_cells_of_its_type():
    rules = """[[cell_types.tumour.rules]]
signal = "contact with immune"
direction = "decreases"
behaviour = "migration speed"
saturation = 0.0
half_max = 1.0
hill = 1
"""
    _, pop = _population(rules)
    pop.store.append(np.arange(3), np.full((3, 2), 50.0), np.zeros((3, 2)), **pop.new_columns(0, 3))
    pop.store.column("contacts")[:, 1] = [0, 1, 3]
    np.testing.assert_allclose(pop.speed(), 0.5 * (1 - np.array([0, 1, 3]) / (1 + np.array([0, 1, 3]))))
