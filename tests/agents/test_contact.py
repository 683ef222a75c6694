"""Contact forces between cells with bodies, on one rank, against closed forms and
an independent O(N²) sum: equilibrium spacing, the separation ODE, F/ν, Newton's
third law, the interaction cut-off, the simple pressure and the wall."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expi

from hybridsim.agents.contact import POTENTIAL, PRESSURE_SCALE, SPRING, contact_velocities

R_CELL = 8.412710547954228  # µm, PhysiCell's default radius


def velocities(position, radius, *, model=POTENTIAL, strength=10.0, adhesion=0.4, reach=1.25, drag=1.0,
               n_owned=None, size=None, walls=None, wall=0.0, ids=None, bin_size=None):
    """Velocities (µm/min) and pressures from the cell-list kernel."""
    position = np.ascontiguousarray(position, dtype=float)
    m, dim = position.shape
    radius = np.broadcast_to(np.asarray(radius, dtype=float), (m,)).copy()
    n = m if n_owned is None else n_owned
    ids = np.arange(m, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    size = np.full(dim, 1e6) if size is None else np.asarray(size, dtype=float)
    walls = np.zeros((dim, 2), np.int64) if walls is None else np.asarray(walls, dtype=np.int64)
    if bin_size is None:
        bin_size = 2.0 * radius.max() * max(reach, 1.0)
    v = np.empty((n, dim))
    p = np.empty(n)
    owned = (position[:n], radius[:n], ids[:n])
    ghosts = (position[n:], radius[n:], ids[n:])
    contact_velocities(owned, ghosts, bin_size, model, strength, adhesion, reach, drag, size, walls, wall, 0.1, v, p)
    return v, p


def brute_force(position, radius, *, model=POTENTIAL, strength=10.0, adhesion=0.4, reach=1.25, drag=1.0):
    """The same velocities from every pair, written independently (numpy, O(N²))."""
    diff = position[:, None, :] - position[None, :, :]
    d = np.sqrt((diff**2).sum(-1))
    np.fill_diagonal(d, np.inf)
    rsum = radius[:, None] + radius[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        if model == POTENTIAL:
            push = np.where(d < rsum, (1 - d / rsum) ** 2, 0.0)
            pull = np.where(d < reach * rsum, (1 - d / (reach * rsum)) ** 2, 0.0)
            scale = (strength * push - adhesion * pull) / d
        else:
            o = d - rsum
            scale = np.where(o < 0, -strength * rsum * np.log1p(o / rsum),
                             np.where(d < reach * rsum, -adhesion * strength * o * np.exp(-5 * o / rsum), 0.0)) / d
    scale[~np.isfinite(d)] = 0.0
    return (scale[:, :, None] * diff).sum(1) / drag


def two_cells(distance, dim=2):
    position = np.zeros((2, dim))
    position[1, 0] = distance
    return position


def relax_pair(d0, dt, t_end, **law):
    """Forward Euler of a pair's distance with the kernel's velocities."""
    position = two_cells(d0)
    for _ in range(round(t_end / dt)):
        v, _ = velocities(position, R_CELL, **law)
        position += dt * v
    return position[1, 0] - position[0, 0]


def test_potential_equilibrium_spacing_is_the_closed_form():
    """c_r (1 − d/R)² = c_a (1 − d/S)² at d* = (√c_r − √c_a)/(√c_r/R − √c_a/S)."""
    c_r, c_a, a = 10.0, 0.4, 1.25
    R, S = 2 * R_CELL, 2 * a * R_CELL
    expected = (math.sqrt(c_r) - math.sqrt(c_a)) / (math.sqrt(c_r) / R - math.sqrt(c_a) / S)
    assert abs(expected - 16.02) < 0.01  # PhysiCell's default spacing, ≈ 16.02 µm
    for start in (0.6 * R, 1.1 * R):  # from overlap and from stretch
        d = relax_pair(start, 0.1, 600.0, strength=c_r, adhesion=c_a, reach=a)  # relaxes at ~0.1/min
        assert d == pytest.approx(expected, rel=1e-9)


def test_spring_rests_at_the_sum_of_radii():
    for start in (0.7, 1.3):
        d = relax_pair(start * 2 * R_CELL, 0.01, 30.0, model=SPRING, strength=15.0, adhesion=1.0, reach=1.5)
        assert d == pytest.approx(2 * R_CELL, rel=1e-9)


def test_overlapping_pair_separates_along_the_potential_ode():
    """Repulsion only: u = 1 − d/R obeys du/dt = −(2 c_r/R) u², so u(t) = u₀/(1 + 2 c_r u₀ t/R);
    forward Euler converges to it at first order."""
    c_r, R = 10.0, 2 * R_CELL
    d0, t = 0.5 * R, 2.0
    u0 = 1 - d0 / R
    exact = R * (1 - u0 / (1 + 2 * c_r * u0 * t / R))
    errors = [abs(relax_pair(d0, dt, t, strength=c_r, adhesion=0.0, reach=1.0) - exact) for dt in (0.02, 0.01, 0.005)]
    orders = [math.log2(errors[k] / errors[k + 1]) for k in range(2)]
    assert errors[-1] < 2e-3 * R
    assert all(abs(order - 1.0) < 0.1 for order in orders), orders


def test_overlapping_pair_separates_along_the_spring_ode():
    """Spring, overlapping: with y = ln(d/s), dy/dt = −2μ y e^(−y), so 2μt = Ei(y₀) − Ei(y)
    (Ei: the exponential integral); forward Euler converges at first order."""
    mu, s = 15.0, 2 * R_CELL
    d0, t = 0.6 * s, 0.05
    y0 = math.log(d0 / s)
    # invert 2μt = Ei(y0) − Ei(y) for y in (y0, 0) by bisection
    lo, hi = y0, -1e-12
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if expi(y0) - expi(mid) < 2 * mu * t else (lo, mid)
    exact = s * math.exp(0.5 * (lo + hi))
    law = dict(model=SPRING, strength=mu, adhesion=1.0, reach=1.5)
    errors = [abs(relax_pair(d0, dt, t, **law) - exact) for dt in (0.001, 0.0005, 0.00025)]
    orders = [math.log2(errors[k] / errors[k + 1]) for k in range(2)]
    assert all(abs(order - 1.0) < 0.1 for order in orders), orders


def test_a_cell_under_a_constant_force_moves_at_force_over_drag():
    """A neighbour held at a fixed offset (a ghost: not moved) exerts a constant force F;
    the cell's displacement over many substeps is t·F/ν for any drag ν."""
    c_r, offset = 10.0, 1.5 * R_CELL
    force = c_r * (1 - offset / (2 * R_CELL)) ** 2  # per unit drag, µm/min
    for drag in (1.0, 2.5):
        x = np.zeros(2)
        dt, steps = 0.1, 50
        for _ in range(steps):
            position = np.array([x, x + [offset, 0.0]])
            v, _ = velocities(position, R_CELL, strength=c_r, adhesion=0.0, reach=1.0, drag=drag, n_owned=1)
            x = x + dt * v[0]
        assert x[0] == pytest.approx(-steps * dt * force / drag, rel=1e-12)
        assert x[1] == 0.0


@pytest.mark.parametrize("model", (POTENTIAL, SPRING))
@pytest.mark.parametrize("dim", (2, 3))
def test_forces_match_a_brute_force_sum_and_obey_newtons_third_law(model, dim):
    rng = np.random.default_rng(11 + dim + 10 * model)
    n = 600
    position = rng.uniform(0, 12.0 * n ** (1 / dim), (n, dim))
    radius = rng.uniform(6.0, 11.0, n)
    law = dict(model=model, strength=10.0 if model == POTENTIAL else 15.0, adhesion=0.4,
               reach=1.25 if model == POTENTIAL else 1.5)
    v, _ = velocities(position, radius, **law)
    reference = brute_force(position, radius, **law)
    scale = np.abs(reference).max()
    assert np.abs(reference).sum() > 0 and (np.abs(v) > 0).mean() > 0.5  # the cells really touch
    assert np.abs(v - reference).max() < 1e-12 * scale
    assert np.abs(v.sum(axis=0)).max() < 1e-12 * scale * n  # forces come in equal and opposite pairs


@pytest.mark.parametrize("model", (POTENTIAL, SPRING))
def test_pair_strengths_by_type_match_a_brute_force_sum_and_contacts_are_counted_by_type(model):
    """Three cell types with symmetric tables of strengths: every pair acts with its
    types' entry (an independent O(N²) sum per pair of types), forces still cancel in
    pairs, and each cell counts its touching neighbours (d < r_i + r_j) by type."""
    rng = np.random.default_rng(3 + model)
    n, dim = 500, 3
    position = rng.uniform(0, 12.0 * n ** (1 / dim), (n, dim))
    radius = rng.uniform(6.0, 11.0, n)
    kinds = rng.integers(0, 3, n)
    strength = np.array([[10.0, 6.0, 3.0], [6.0, 14.0, 8.0], [3.0, 8.0, 5.0]])
    adhesion = np.array([[0.4, 0.1, 0.0], [0.1, 1.5, 0.7], [0.0, 0.7, 0.3]])
    reach = 1.25 if model == POTENTIAL else 1.5
    v, p = np.empty((n, dim)), np.empty(n)
    contacts = np.full((n, 3), -1.0)
    none = (np.empty((0, dim)), np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64))
    contact_velocities((position, radius, np.arange(n), kinds), none, 2 * radius.max() * reach, model, strength,
                       adhesion, reach, 1.0, np.full(dim, 1e6), np.zeros((dim, 2), np.int64), 0.0, 0.1, v, p,
                       contacts)
    reference = np.zeros_like(v)
    for a in range(3):
        for b in range(3):
            # the terms on the cells i of type a from the cells j of type b
            only_b = np.where(kinds == b)[0]
            partial = brute_force_subset(position, radius, only_b, model=model, strength=strength[a, b],
                                         adhesion=adhesion[a, b], reach=reach)
            reference[kinds == a] += partial[kinds == a]
    scale = np.abs(reference).max()
    assert np.abs(v - reference).max() < 1e-12 * scale
    assert np.abs(v.sum(axis=0)).max() < 1e-12 * scale * n
    d = np.sqrt(((position[:, None] - position[None]) ** 2).sum(-1))
    touching = (d < radius[:, None] + radius[None]) & ~np.eye(n, dtype=bool)
    expected = np.stack([(touching & (kinds[None] == t)).sum(1) for t in range(3)], axis=1)
    assert expected.sum() > n and np.array_equal(contacts, expected)


def brute_force_subset(position, radius, sources, **law):
    """:func:`brute_force` with only the cells ``sources`` acting (on every cell)."""
    m = position.shape[0]
    out = np.zeros_like(position)
    for i in range(m):
        others = sources[sources != i]
        if others.size == 0:
            continue
        both = np.concatenate([[i], others])
        out[i] = brute_force(position[both], radius[both], **law)[0]
    return out


@pytest.mark.parametrize("model, reach", ((POTENTIAL, 1.25), (SPRING, 1.5)))
def test_no_force_beyond_the_interaction_distance(model, reach):
    cutoff = reach * 2 * R_CELL
    for d, touching in ((np.nextafter(cutoff, np.inf), False), (cutoff * (1 + 1e-9), False),
                        (cutoff * (1 - 1e-6), True)):
        v, _ = velocities(two_cells(d), R_CELL, model=model, reach=reach, strength=10.0, adhesion=0.4)
        assert (np.abs(v).max() > 0) == touching, d


def test_bitwise_the_same_in_any_memory_order():
    """Forces are summed over bins in a fixed order and, in a bin, by id: permuting
    the rows changes no bit."""
    rng = np.random.default_rng(5)
    n = 2000
    position = rng.uniform(0, 400.0, (n, 2))
    radius = rng.uniform(7.0, 9.0, n)
    v, p = velocities(position, radius)
    perm = rng.permutation(n)
    v2, p2 = velocities(position[perm], radius[perm], ids=np.arange(n)[perm])
    assert np.array_equal(v[perm], v2) and np.array_equal(p[perm], p2)


def test_simple_pressure_is_one_among_twelve_close_packed_neighbours():
    """PhysiCell's normalisation: 12 neighbours (fcc) at d/R = √(π/(2√3)) give pressure 1."""
    d = 2 * R_CELL * math.sqrt(math.pi / (2 * math.sqrt(3)))
    assert 12 * (1 - d / (2 * R_CELL)) ** 2 == pytest.approx(PRESSURE_SCALE, rel=1e-12)
    shells = np.array([(a, b, 0) for a in (-1, 1) for b in (-1, 1)] + [(a, 0, b) for a in (-1, 1) for b in (-1, 1)]
                      + [(0, a, b) for a in (-1, 1) for b in (-1, 1)], dtype=float) / math.sqrt(2)
    position = np.vstack([[0.0, 0.0, 0.0], d * shells]) + 100.0
    v, p = velocities(position, R_CELL)
    assert p[0] == pytest.approx(1.0, rel=1e-12)
    assert np.abs(v[0]).max() < 1e-12  # symmetric: no net force on the centre


def test_wall_pushes_with_physicells_law():
    """A cell at distance δ < r from a walled face moves away at wall·(1 − δ/r)²/ν."""
    size = np.array([100.0, 100.0])
    walls = np.array([[1, 1], [0, 0]])
    for x, sign in ((3.0, 1.0), (97.0, -1.0)):
        v, _ = velocities(np.array([[x, 50.0]]), R_CELL, size=size, walls=walls, wall=4.0, drag=2.0)
        delta = min(x, 100.0 - x)
        assert v[0, 0] == pytest.approx(sign * 4.0 * (1 - delta / R_CELL) ** 2 / 2.0, rel=1e-12)
        assert v[0, 1] == 0.0
    v, _ = velocities(np.array([[50.0, 3.0]]), R_CELL, size=size, walls=walls, wall=4.0)
    assert np.all(v == 0.0)  # no wall on the y faces
