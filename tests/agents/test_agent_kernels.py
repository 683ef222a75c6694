"""Agent kernels and bookkeeping on one process: store, motility against closed-form
mean squared displacements, boundaries, binomial division, fates and placement."""

import math

import h5py
import numpy as np
import pytest

from hybridsim.agents.lifecycle import event_uniforms, popcount64, split_counts
from hybridsim.agents.motility import (
    ABSORBING,
    PERIODIC,
    REFLECTING,
    apply_boundaries,
    brownian_step,
    persistent_step,
)
from hybridsim.agents.placement import lattice, uniform
from hybridsim.agents.population import CellPopulation
from hybridsim.agents.rng import STREAM_DEATH
from hybridsim.agents.store import AgentStore
from hybridsim.config import Modulation, Region, load_network
from hybridsim.config.agents import Agents, CellType, Fate, Motility, Placement, Threshold
from hybridsim.errors import InputError
from hybridsim.io.agent_input import from_file

NO_DRIFT = np.zeros((0, 1))


BIRTH_DEATH = {"species": {"X": 0, "Y": 0}, "reactions": [
    {"products": {"X": 1}, "rate": 10.0}, {"reactants": {"X": 1}, "rate": 1.0}]}


def test_store_grows_geometrically_and_keeps_order():
    store = AgentStore(3, 4, persistent=True, capacity=16)
    reallocations, last = 0, store.capacity
    for i in range(5000):
        store.append([i], [[i, 0, 0]], [[i, 0, 0, 1]])
        if store.capacity != last:
            reallocations, last = reallocations + 1, store.capacity
    assert store.n == 5000 and reallocations <= math.ceil(math.log(5000 / 16, 1.5)) + 1
    store.keep(store.ids % 3 == 0)
    assert np.array_equal(store.ids, np.arange(0, 5000, 3))
    assert np.array_equal(store.position[:, 0], store.ids.astype(float))
    # 4 species in 3D with a walk direction: id 8 + position 24 + counts 32 + age 8 + direction 24
    assert store.bytes_per_agent == 96 <= 200


def test_packed_rows_carry_every_column_bit_for_bit():
    a = AgentStore(2, 3, persistent=True)
    rng = np.random.default_rng(0)
    a.append(np.arange(10) * 7, rng.random((10, 2)), rng.integers(0, 2**40, (10, 3)), age=rng.random(10),
             direction=rng.random((10, 2)))
    b = AgentStore(2, 3, persistent=True)
    pick = np.array([9, 2, 5])
    b.append_packed(a.pack(pick))
    for name in a.columns:
        assert np.array_equal(b.column(name), a.column(name)[pick])
    assert a.pack(np.empty(0, dtype=np.int64)).shape == (0, a.row_words)


def test_brownian_mean_squared_displacement_is_2_dim_d_t():
    n, dim, D, dt, steps = 20000, 2, 3.0, 0.5, 8
    pos = np.zeros((n, dim))
    ids = np.arange(n, dtype=np.int64)
    for k in range(steps):
        brownian_step(pos, ids, np.full(n, D), NO_DRIFT, dt, 1, k)
    r2 = (pos**2).sum(axis=1)
    sigma2 = 2 * D * dt * steps
    expected = dim * sigma2
    se = math.sqrt(2 * dim) * sigma2 / math.sqrt(n)  # |Δx|² = σ² χ²_dim
    assert abs(r2.mean() - expected) < 5 * se
    assert abs(pos.mean()) < 5 * math.sqrt(sigma2 / (n * dim))


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_persistent_walk_msd_matches_the_discrete_closed_form(dim):
    """Directions redrawn with probability p = 1 − e^{−Δt/τ} per step give
    ⟨d_i·d_j⟩ = (1−p)^{|i−j|}, so MSD(n) = v²Δt² Σ_ij (1−p)^{|i−j|}."""
    n, v, tau, dt, steps = 20000, 2.0, 5.0, 1.0, 20
    pos = np.zeros((n, dim))
    direction = np.zeros((n, dim))
    ids = np.arange(n, dtype=np.int64)
    for k in range(steps):
        persistent_step(pos, direction, ids, np.full(n, v), tau, NO_DRIFT, dt, 2, k)
    assert np.allclose((direction**2).sum(axis=1), 1.0)
    q = math.exp(-dt / tau)
    i = np.arange(steps)
    expected = v**2 * dt**2 * (q ** np.abs(i[:, None] - i[None, :])).sum()
    r2 = (pos**2).sum(axis=1)
    assert abs(r2.mean() - expected) < 5 * r2.std() / math.sqrt(n), (r2.mean(), expected)
    # ballistic bound: nobody went further than v·t
    assert r2.max() <= (v * dt * steps) ** 2 * (1 + 1e-12)


def test_boundaries_fold_long_jumps_wrap_and_absorb():
    L = 10.0
    size = np.array([L, L])
    kinds = np.array([[PERIODIC, PERIODIC], [REFLECTING, ABSORBING]])
    pos = np.array([[-2.5, -25.0], [10.0, 3.0], [23.0, 0.0], [1.0, 10.0], [1.0, 10.5], [-1e-17, -4.0]])
    direction = np.tile([1.0, -1.0], (6, 1))
    alive = np.ones(6, dtype=bool)
    apply_boundaries(pos, direction, size, kinds, alive)
    assert np.array_equal(alive, [False, True, True, True, False, True])
    assert pos[1, 0] == 0.0 and pos[2, 0] == pytest.approx(3.0)
    assert pos[0, 0] == pytest.approx(7.5)
    assert pos[3, 1] == 10.0  # on the absorbing face: still inside
    assert 0.0 <= pos[5, 0] < L and pos[5, 1] == 4.0 and direction[5, 1] == 1.0  # reflected and turned back
    kinds = np.array([[REFLECTING, REFLECTING]])
    x = np.array([[-25.0], [37.0], [4.0]])
    alive = np.ones(3, dtype=bool)
    apply_boundaries(x, np.zeros((0, 1)), np.array([L]), kinds, alive)
    assert np.allclose(x[:, 0], [5.0, 3.0, 4.0]) and alive.all()


def test_boundaries_take_bounded_work_for_any_jump_and_count_non_finite_positions():
    """A jump of 1e15 box lengths between reflecting faces folds in one step (the old loop
    took one iteration per crossing, forever for an infinite coordinate); infinite and
    NaN coordinates are counted, not looped over."""
    L = 10.0
    kinds = np.array([[REFLECTING, REFLECTING], [REFLECTING, ABSORBING]])
    pos = np.array([[4.0 + 2e16 * L, 1.0], [np.inf, 1.0], [np.nan, 1.0], [3.0, -np.inf], [-7.0 - 2e3 * L, 2.0]])
    direction = np.tile([1.0, 1.0], (5, 1))
    alive = np.ones(5, dtype=bool)
    assert apply_boundaries(pos, direction, np.array([L, L]), kinds, alive) == 3
    assert 0.0 <= pos[0, 0] <= L  # folded (the exact value is lost to rounding at 1e17)
    assert pos[4, 0] == pytest.approx(7.0) and direction[4, 0] == -1.0  # 2001 crossings: turned back
    assert alive.all()


def test_popcount_matches_python():
    rng = np.random.default_rng(3)
    words = rng.integers(0, 2**63, 1000, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, 1000, dtype=np.uint64)
    assert all(popcount64(w) == bin(int(w)).count("1") for w in words)


@pytest.mark.parametrize("molecules", [1, 63, 64, 65, 1000])
def test_division_splits_molecules_binomially(molecules):
    n = 40000
    counts = np.full((n, 2), molecules, dtype=np.int64)
    counts[:, 1] = 0
    ids = np.arange(n, dtype=np.int64)
    daughter = split_counts(counts, ids, 5, 1)
    assert np.array_equal(daughter + counts, np.tile([molecules, 0], (n, 1)))  # nothing created or lost
    share = daughter[:, 0]
    mean, var = molecules / 2, molecules / 4
    assert abs(share.mean() - mean) < 5 * math.sqrt(var / n)
    # Var(s²) = (μ4 − σ⁴)/n + 2σ⁴/(n(n−1)) with μ4 = Npq(1 + 3(N−2)pq) for Binomial(N, p)
    mu4 = var * (1 + 3 * (molecules - 2) * 0.25)
    se_var = math.sqrt((mu4 - var**2) / n + 2 * var**2 / (n * (n - 1)))
    assert abs(share.var(ddof=1) - var) < 5 * se_var


def _population(**agents):
    net = load_network(BIRTH_DEATH)
    cell = CellType("cell", net, (Placement("uniform", count=1),), **agents)
    cfg = Agents(types=(cell,), boundary=(("reflecting", "reflecting"),) * 2)
    pop = CellPopulation(cfg, (100.0, 100.0), seed=9)
    return pop


def test_events_happen_with_probability_one_minus_exp_minus_rate_dt():
    n, rate, dt = 50000, 0.3, 2.0
    pop = _population(death=Fate(rate=rate))
    pop.store.append(np.arange(n), np.full((n, 2), 50.0), np.zeros((n, 2)))
    deaths = pop.die(dt, step=4)
    p = 1 - math.exp(-rate * dt)
    assert abs(deaths / n - p) < 5 * math.sqrt(p * (1 - p) / n)
    # the dead are exactly those whose death draw fell below p
    u = event_uniforms(np.arange(n, dtype=np.int64), 9, STREAM_DEATH, 4)
    assert np.array_equal(np.sort(pop.store.ids), np.nonzero(u >= p)[0])


def test_division_conserves_molecules_and_separates_daughters():
    pop = _population(division=Fate(threshold=Threshold("X", 50.0)), diameter=6.0)
    n = 1000
    rng = np.random.default_rng(1)
    x = rng.integers(0, 100, n)
    pop.store.append(np.arange(n), np.full((n, 2), 50.0), np.stack([x, 2 * x], axis=1), age=np.full(n, 9.0))
    mothers = pop.dividing(1.0, step=0)
    assert np.array_equal(np.sort(pop.store.ids[mothers]), np.nonzero(x >= 50)[0])
    before = pop.store.counts.sum(axis=0)
    pop.divide(mothers, 1000 + np.arange(mothers.size), step=0)
    store = pop.store
    assert store.n == n + mothers.size
    assert np.array_equal(store.counts.sum(axis=0), before)
    d = store.position[n:] - store.position[mothers]
    assert np.allclose(np.hypot(d[:, 0], d[:, 1]), 6.0)
    assert np.all(store.age[mothers] == 0) and np.all(store.age[n:] == 0)


def test_speed_follows_protein_through_the_hill_function():
    pop = _population(motility=Motility("persistent", speed=4.0, persistence=2.0,
                                        modulation=Modulation("X", "hill", 20.0, 1.0)))
    x = np.array([0, 20, 60])
    pop.store.append(np.arange(3), np.zeros((3, 2)), np.stack([x, x], axis=1))
    assert np.allclose(pop.speed(), 4.0 * x / (20.0 + x))


def test_lattice_sites_split_between_ranks_without_overlap():
    p = Placement("lattice", spacing=(10.0, 10.0), region=Region(center=(50.0, 50.0), radius=30.0))
    whole = lattice(p, (100.0, 100.0), 7, (5.0, 5.0), (0, 0), (20, 20))
    left = lattice(p, (100.0, 100.0), 7, (5.0, 5.0), (0, 0), (9, 20))
    right = lattice(p, (100.0, 100.0), 7, (5.0, 5.0), (9, 0), (11, 20))
    assert np.array_equal(np.sort(np.concatenate([left[0], right[0]])), np.sort(whole[0]))
    inside = ((whole[1] - 50.0) ** 2).sum(axis=1) <= 30.0**2
    assert inside.all() and whole[0].size == np.count_nonzero(
        ((np.stack(np.meshgrid(np.arange(5, 100, 10), np.arange(5, 100, 10)), -1).reshape(-1, 2) - 50.0) ** 2)
        .sum(axis=1) <= 900)


def test_uniform_placement_fills_the_region_evenly():
    p = Placement("uniform", count=40000, region=Region(center=(20.0, 30.0), radius=15.0))
    ids, pos = uniform(p, (100.0, 50.0), 0, 0, 1, seed=4)
    r2 = ((pos - [20.0, 30.0]) ** 2).sum(axis=1)
    assert r2.max() <= 15.0**2
    # in a disc, r²/R² is uniform on [0, 1]
    assert abs((r2 / 225.0).mean() - 0.5) < 5 * math.sqrt(1 / 12 / ids.size)
    a, _ = uniform(p, (100.0, 50.0), 0, 1, 3, seed=4)
    _, pos_a = uniform(Placement("uniform", count=40000, region=p.region), (100.0, 50.0), 0, 1, 3, seed=4)
    assert np.array_equal(pos_a, pos[a])  # a rank's block is the same agents as in the serial placement


def test_positions_and_counts_from_csv_and_hdf5(tmp_path):
    species, base = ("M", "P"), np.array([1, 2])
    csv = tmp_path / "cells.csv"
    csv.write_text("x,y,P\n1.5,2.0,7\n3.0,4.0,9\n99.0,0.0,0\n")
    ids, pos, counts = from_file(Placement("file", file=str(csv)), (100.0, 50.0), species, base, 10, 0, 1)
    assert np.array_equal(ids, [10, 11, 12]) and np.allclose(pos[1], [3.0, 4.0])
    assert np.array_equal(counts, [[1, 7], [1, 9], [1, 0]])
    h5 = tmp_path / "cells.h5"
    with h5py.File(h5, "w") as f:
        f["position"] = pos
        f["M"] = np.array([5, 6, 7])
    ids, pos2, counts = from_file(Placement("file", file=str(h5)), (100.0, 50.0), species, base, 0, 1, 2)
    assert np.array_equal(ids, [1, 2]) and np.array_equal(pos2, pos[1:]) and np.array_equal(counts, [[6, 2], [7, 2]])
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1.0,200.0\n")
    with pytest.raises(InputError, match=r"agent 0 at \(1.0, 200.0\) µm lies outside the domain"):
        from_file(Placement("file", file=str(bad)), (100.0, 50.0), species, base, 0, 0, 1)
    bad.write_text("x,q\n1.0,2.0\n")
    with pytest.raises(InputError, match="header has no column 'y'"):
        from_file(Placement("file", file=str(bad)), (100.0, 50.0), species, base, 0, 0, 1)


def test_remove_takes_exactly_the_given_rows():
    store = AgentStore(2, 1)
    n = 1000
    store.append(np.arange(n), np.random.default_rng(0).random((n, 2)), np.arange(n)[:, None] * 3)
    before = {int(i): tuple(store.position[k]) for k, i in enumerate(store.ids)}
    gone = np.random.default_rng(1).choice(n, 137, replace=False)
    store.remove(gone)
    assert store.n == n - 137
    assert set(store.ids.tolist()) == set(range(n)) - set(gone.tolist())
    assert all(tuple(store.position[k]) == before[int(i)] for k, i in enumerate(store.ids))
    assert np.array_equal(store.counts[:, 0], 3 * store.ids)
