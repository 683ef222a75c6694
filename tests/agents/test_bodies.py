"""Cells with bodies on one rank: growth, division inside the mother, contact
inhibition, necrosis and the pressure gate of the cell-cycle rules, against the
closed forms of docs/bodies.md."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from hybridsim.agents.bodies import contact_step, radius_of, substep_bytes
from hybridsim.agents.description import columns_of
from hybridsim.agents.population import CellPopulation
from hybridsim.config import parse_config

CONFIG = """
[domain]
size = [400.0, 400.0{z}]
cells = [10, 10{zc}]
[time]
dt = 1.0
t_end = 10.0
[species.oxygen]
D = 100.0
[network]
species = {{ M = 0, A = 0, B = 0, C = 0 }}
reactions = [{{ products = {{ M = 1 }}, rate = 1.0 }}]
[agents]
initial = {{ count = 10 }}
{agents}
"""


def population(agents: str, dim: int = 2, n: int = 0, seed: int = 3) -> CellPopulation:
    cfg = parse_config(CONFIG.format(agents=agents, z=", 400.0" if dim == 3 else "", zc=", 10" if dim == 3 else ""))
    pop = CellPopulation(cfg.agents, cfg.domain.size, seed)
    if n:
        rng = np.random.default_rng(seed)
        pop.store.append(np.arange(n), rng.uniform(100, 300, (n, dim)), np.zeros((n, 4)), **pop.body_columns(n))
    return pop


def test_constant_growth_then_division_halves_the_volume_inside_the_mother():
    pop = population("[agents.body]\ngrowth = 20.0\ndivision_volume = 4000.0", n=50)
    v0 = pop.body.volume
    steps = math.ceil((4000.0 - v0) / 20.0)
    for _ in range(steps - 1):
        pop.grow(1.0, {})
        assert pop.dividing(1.0, 0).size == 0
    np.testing.assert_allclose(pop.store.column("volume"), v0 + 20.0 * (steps - 1), rtol=1e-12)
    pop.grow(1.0, {})
    mothers = pop.dividing(1.0, 0)
    assert mothers.size == 50
    before = pop.store.column("volume").copy()
    r_mother = pop.store.column("radius").copy()
    centre = pop.store.position.copy()
    pop.divide(mothers, 1000 + np.arange(50), step=0)
    volume, radius, position = (pop.store.column(c) for c in ("volume", "radius", "position"))
    np.testing.assert_allclose(volume[:50] + volume[50:], before, rtol=1e-14)  # volume is conserved
    np.testing.assert_allclose(radius, radius_of(volume), rtol=1e-14)
    for daughters in (position[:50], position[50:]):
        # each daughter lies inside the mother's sphere: |offset| + r_d = r
        reach = np.linalg.norm(daughters - centre, axis=1) + radius[:50]
        np.testing.assert_allclose(reach, r_mother, rtol=1e-12)
    np.testing.assert_allclose(position[:50] + position[50:], 2 * centre, rtol=1e-12)


def test_contact_inhibition_stops_growth_above_the_arrest_pressure():
    pop = population("[agents.body]\ngrowth = 10.0\narrest_pressure = 0.5", n=4)
    pop.store.column("pressure")[...] = [0.0, 0.49, 0.5, 2.0]
    v0 = pop.store.column("volume").copy()
    pop.grow(2.0, {})
    np.testing.assert_allclose(pop.store.column("volume") - v0, [20.0, 20.0, 0.0, 0.0])


def test_growth_by_field_follows_the_hill_law():
    pop = population("[agents.body]\ngrowth = { k = 30.0, field = 'oxygen', hill = { K = 2.0, n = 2 } }", n=3)
    oxygen = np.array([0.0, 2.0, 6.0])
    v0 = pop.store.column("volume").copy()
    pop.grow(1.0, {"oxygen": oxygen})
    np.testing.assert_allclose(pop.store.column("volume") - v0, 30.0 * oxygen**2 / (4.0 + oxygen**2), rtol=1e-12)
    assert pop.sampled_fields == ("oxygen",)


def test_necrosis_starts_after_the_delay_shrinks_exponentially_and_removes():
    after, shrink, remove_at = 30.0, 0.05, 0.2
    pop = population(f"[agents.body]\ngrowth = 5.0\n[agents.necrosis]\nfield = 'oxygen'\nbelow = 1.0\n"
                     f"after = {after}\nshrink = {shrink}\nremove_at = {remove_at}", n=2)
    oxygen = {"oxygen": np.array([0.5, 2.0])}  # cell 0 starves, cell 1 does not
    v_necrotic = None
    for minute in range(1, 200):
        removed = pop.grow(1.0, oxygen)
        necrotic = pop.store.column("necrotic")
        if minute < after:
            assert necrotic[0] == 0
        if minute == after:
            assert necrotic[0] > 0
            v_necrotic = pop.store.column("volume")[0]
        if removed:
            break
        oxygen = {"oxygen": oxygen["oxygen"][: pop.n]}
    # dV/dt = −shrink·V from the moment it turned: removal after ln(1/remove_at)/shrink min
    assert minute == after + math.ceil(math.log(1 / remove_at) / shrink)
    assert v_necrotic == pytest.approx(pop.body.volume + 5.0 * (after - 1), rel=1e-12)  # it grew until it turned
    assert pop.n == 1 and pop.store.ids[0] == 1
    assert pop.store.column("volume")[0] == pytest.approx(pop.body.volume + 5.0 * minute, rel=1e-12)


def test_necrotic_cells_neither_divide_nor_move_nor_take_up_nor_chemotax():
    pop = population("motility = { type = 'brownian', diffusivity = 5.0 }\n"
                     "uptake = [{ field = 'oxygen', rate = 2.0 }]\n"
                     "[agents.chemotaxis]\nfield = 'oxygen'\nsensitivity = 10.0\n"
                     "[agents.body]\ndivision_volume = 3000.0\n[agents.necrosis]\nfield = 'oxygen'\nbelow = 1.0", n=2)
    pop.store.column("volume")[...] = 3500.0
    pop.store.column("necrotic")[0] = 3500.0
    assert list(pop.dividing(1.0, 0)) == [1]
    np.testing.assert_array_equal(pop.speed(), [0.0, 5.0])
    np.testing.assert_array_equal(pop.uptake_rates(pop.agents.uptakes[0]), [0.0, 2.0])
    gradient = np.array([[0.5, -0.2], [0.5, -0.2]])
    np.testing.assert_array_equal(pop.chemotactic_drift(gradient), [[0.0, 0.0], [5.0, -2.0]])
    before = pop.store.position.copy()
    pop.move(1.0, 0)
    assert np.array_equal(pop.store.position[0], before[0]) and not np.array_equal(pop.store.position[1], before[1])


def test_pressure_gates_division_and_death():
    pop = population("[agents.body]\n[agents.division]\nthreshold = { species = 'M', above = 0 }\n"
                     "pressure = { below = 1.0 }\n[agents.death]\nthreshold = { species = 'M', above = 0 }\n"
                     "pressure = { above = 3.0 }", n=3)
    pop.store.column("pressure")[...] = [0.5, 2.0, 4.0]
    assert list(pop.dividing(1.0, 0)) == [0]
    assert pop.die(1.0, 0) == 1 and sorted(pop.store.ids) == [0, 1]


def test_memory_per_cell_with_mechanics_is_at_most_216_bytes():
    """4-species network, 3D, necrosis on: the store's columns plus everything a mechanics
    substep allocates, measured, per cell (the figure `hybridsim check` prints)."""
    n = 20000
    pop = population("[agents.body]\n[agents.necrosis]\nfield = 'oxygen'\nbelow = 1.0", dim=3)
    rng = np.random.default_rng(0)
    pop.store.reserve(n)
    pop.store.append(np.arange(n), rng.uniform(0, 16.0 * n ** (1 / 3), (n, 3)), np.zeros((n, 4)),
                     **pop.body_columns(n))
    resident = sum(columns_of(pop.agents, 3).values())
    assert resident == pop.store.bytes_per_agent
    no_ghosts = (np.empty((0, 3)), np.empty(0), np.empty(0, np.int64))
    size, kinds = np.full(3, 1e6), np.ones((3, 2), np.int64)
    contact_step(pop.store, pop.body, no_ghosts, 21.0, size, kinds, 0.1)  # compile outside the measurement
    tracemalloc.start()
    contact_step(pop.store, pop.body, no_ghosts, 21.0, size, kinds, 0.1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak / n <= substep_bytes(3)  # what check says a substep adds
    assert resident + peak / n <= 216, (resident, peak / n)
