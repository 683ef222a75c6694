"""Exact SSA against closed-form results (VALIDATION cases 6–8), the counter-based
generator against Random123's known answers, tau-leaping and the hybrid method."""

import math

import numpy as np
import pytest

from hybridsim.agents import load_network, simulate_well_mixed
from hybridsim.agents.codegen import ssa_kernel
from hybridsim.agents.compiled import compile_network, modulation_factor
from hybridsim.agents.rng import STREAM_SSA, philox_block, uniforms
from hybridsim.agents.ssa import advance_agents
from hybridsim.errors import InputError


def birth_death(k, gamma, x0=0):
    return {"species": {"X": x0}, "reactions": [
        {"name": "birth", "products": {"X": 1}, "rate": k},
        {"name": "death", "reactants": {"X": 1}, "rate": gamma}]}


def two_stage(k_m=2.0, g_m=0.2, k_p=5.0, g_p=0.05, m0=0, p0=0):
    return {"species": {"M": m0, "P": p0}, "reactions": [
        {"name": "transcription", "products": {"M": 1}, "rate": k_m},
        {"name": "mrna_decay", "reactants": {"M": 1}, "rate": g_m},
        {"name": "translation", "reactants": {"M": 1}, "products": {"M": 1, "P": 1}, "rate": k_p},
        {"name": "protein_decay", "reactants": {"P": 1}, "rate": g_p}]}


@pytest.mark.parametrize("counter, key, expected", [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_philox_matches_random123_known_answers(counter, key, expected):
    assert philox_block(counter, key) == expected


def test_uniforms_are_uniform_and_keyed_by_id_not_position():
    ids = np.arange(20000, dtype=np.int64)
    u = uniforms(7, STREAM_SSA, ids, 3, 2)
    assert u.min() > 0.0 and u.max() <= 1.0
    n = u.size
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    # Kolmogorov–Smirnov distance, 5σ-like bound 1.63/sqrt(n) is the 1% level
    s = np.sort(u.ravel())
    d = np.max(np.abs(s - np.arange(1, n + 1) / n))
    assert d < 1.63 / math.sqrt(n)
    # an agent's numbers depend on its id only
    shuffled = ids[::-1].copy()
    assert np.array_equal(uniforms(7, STREAM_SSA, shuffled, 3, 2), u[::-1])
    assert not np.array_equal(uniforms(8, STREAM_SSA, ids[:5], 3, 2), u[:5])
    assert not np.array_equal(uniforms(7, STREAM_SSA, ids[:5], 4, 2), u[:5])


def _poisson_checks(x, lam):
    """Mean within 5 standard errors of λ and Fano factor within 5 standard errors of 1."""
    n = x.size
    assert abs(x.mean() - lam) < 5 * math.sqrt(lam / n), (x.mean(), lam)
    # Var(s²) ≈ (μ4 − σ⁴)/n with μ4 = λ(1 + 3λ) for a Poisson law
    se_fano = math.sqrt((lam + 2 * lam**2) / n) / lam
    assert abs(x.var(ddof=1) / x.mean() - 1.0) < 5 * se_fano, x.var() / x.mean()


def test_birth_death_is_poisson_at_every_time_despite_interval_boundaries():
    """From X(0) = 0, X(t) is Poisson with mean (k/γ)(1 − e^{−γt}) — exactly, so
    checking it after 40 short intervals shows the boundaries do not bias the process."""
    k, gamma, n = 10.0, 1.0, 20000
    times = np.linspace(0.1, 4.0, 40)
    x = simulate_well_mixed(birth_death(k, gamma), n, times, seed=1)[:, :, 0]
    for i in (0, 4, 19, 39):
        _poisson_checks(x[i], k / gamma * (1 - math.exp(-gamma * times[i])))
    # stationary: after 10/γ
    x_long = simulate_well_mixed(birth_death(k, gamma), n, [12.0], seed=2)[0, :, 0]
    _poisson_checks(x_long, k / gamma)


def test_two_stage_means_and_protein_fano_factor():
    k_m, g_m, k_p, g_p = 2.0, 0.2, 5.0, 0.05
    n = 10000
    # start at the means; samples 100 min = 5/γ_p apart are nearly independent
    times = [200.0, 300.0, 400.0, 500.0]
    out = simulate_well_mixed(two_stage(m0=10, p0=1000), n, times, seed=3)
    M = out[:, :, 0].astype(float)
    P = out[:, :, 1].astype(float)
    mean_m, mean_p = k_m / g_m, k_m * k_p / (g_m * g_p)
    fano = 1 + k_p / (g_m + g_p)
    n_eff = M.size
    assert abs(M.mean() - mean_m) < 5 * math.sqrt(mean_m / n_eff)
    assert abs(P.mean() - mean_p) < 5 * math.sqrt(fano * mean_p / n_eff)
    # per-time variances; relative standard error of a variance ≈ √((2 + excess kurtosis)/n),
    # with the excess kurtosis of a gamma law of the same mean and Fano factor
    shape = mean_p / fano
    fanos = P.var(axis=1, ddof=1) / P.mean(axis=1)
    se = fano * math.sqrt((2 + 6 / shape) / n) / math.sqrt(len(times))
    assert abs(fanos.mean() - fano) < 5 * se, (fanos, fano)


def test_variance_of_population_mean_falls_as_one_over_n():
    """Var of the mean of N independent cells' protein-driven phenotype ∝ N^-1."""
    sizes = np.array([10, 32, 100, 316, 1000])
    replicates = 600
    total = int(sizes.sum()) * replicates
    x = simulate_well_mixed(birth_death(10.0, 1.0, x0=10), total, [8.0], seed=4)[0, :, 0]
    phenotype = 2.0 * x / (5.0 + x)  # a speed v0·X/(K+X), µm/min
    variances = []
    start = 0
    for N in sizes:
        block = phenotype[start:start + N * replicates].reshape(replicates, N)
        start += N * replicates
        variances.append(block.mean(axis=1).var(ddof=1))
    logn, logv = np.log(sizes), np.log(variances)
    slope = np.polyfit(logn, logv, 1)[0]
    # each log-variance has standard error √(2/(R−1)); propagate to the slope
    se = math.sqrt(2 / (replicates - 1)) / math.sqrt(((logn - logn.mean()) ** 2).sum())
    assert 3 * se < 0.05
    assert abs(slope + 1) < max(3 * se, 0.02) and abs(slope + 1) < 0.05, (slope, se)


def test_specialised_kernel_equals_generic_kernel_bitwise():
    net = load_network({"species": {"A": 30, "B": 5, "C": 0}, "reactions": [
        {"products": {"A": 1}, "rate": 3.0},
        {"reactants": {"A": 2}, "products": {"B": 1}, "rate": 0.01},
        {"reactants": {"A": 1, "B": 1}, "products": {"C": 2}, "rate": {"k": 0.02, "field": "L",
                                                                       "hill": {"K": 0.5, "n": 2}}},
        {"reactants": {"C": 1}, "rate": {"k": 0.3, "field": "L"}, "secretes": {"L": 2}},
        {"reactants": {"B": 1}, "rate": 0.1}]})
    c = compile_network(net)
    n = 500
    ids = np.arange(1000, 1000 + n, dtype=np.int64)
    factors = np.column_stack([modulation_factor(m, np.linspace(0, 2, n)) for m in net.modulations])
    start = np.tile(np.array(net.initial, dtype=np.int64), (n, 1))
    a, b = start.copy(), start.copy()
    ex_a, ex_b = np.zeros((n, 1), np.int64), np.zeros((n, 1), np.int64)
    state = np.zeros((n, 0)), np.zeros((n, 0), np.int64), np.zeros(3, np.int64)
    ev_a = ssa_kernel(c, net.n_species)(a, ids, c.rate, c.modulated, factors, 5.0, 9, 2, ex_a, *state)
    ev_b = advance_agents(b, ids, c.rate, c.modulated, factors, 5.0, 9, 2, ex_b, *c.kernel_args())
    assert ev_a == ev_b > 1000
    assert np.array_equal(a, b) and np.array_equal(ex_a, ex_b) and ex_a.sum() > 100
    assert a.min() >= 0


def test_field_modulated_rate_scales_the_birth_death_mean():
    net = {"species": {"X": 0}, "reactions": [
        {"products": {"X": 1}, "rate": {"k": 20.0, "field": "ligand", "hill": {"K": 0.5, "n": 2}}},
        {"reactants": {"X": 1}, "rate": 1.0}]}
    L = 1.0
    lam = 20.0 * L**2 / (0.5**2 + L**2)
    x = simulate_well_mixed(net, 20000, [12.0], seed=5, fields={"ligand": L})[0, :, 0]
    _poisson_checks(x, lam)
    with pytest.raises(InputError, match="ligand"):
        simulate_well_mixed(net, 10, [1.0])


def test_trajectories_depend_on_id_and_seed_only():
    net = two_stage()
    a = simulate_well_mixed(net, 300, [5.0, 10.0], seed=11)
    b = simulate_well_mixed(net, 300, [5.0, 10.0], seed=11)
    c = simulate_well_mixed(net, 300, [5.0, 10.0], seed=12)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # the first 100 cells of a larger population are the same cells
    d = simulate_well_mixed(net, 1000, [5.0, 10.0], seed=11)
    assert np.array_equal(a, d[:, :300])


def test_tau_leaping_falls_back_to_exact_events_at_low_copy_numbers():
    """Birth–death with mean 2: every reaction is critical, so the law is exactly Poisson."""
    x = simulate_well_mixed(birth_death(2.0, 1.0), 20000, [10.0], seed=21, method="tau-leaping")[0, :, 0]
    _poisson_checks(x.astype(float), 2.0)


def test_tau_leaping_at_high_copy_numbers_is_fast_and_nearly_unbiased():
    """Birth–death at 1000 copies: the mean is unbiased; explicit Poisson leaps of length τ
    inflate the stationary variance to mean/(1 − γτ/2), so the Fano factor is that, to
    the sampling error. Leaps must be far fewer than events."""
    from hybridsim.agents.integrator import NetworkIntegrator

    net = load_network(birth_death(1000.0, 1.0, x0=1000))
    n = 20000
    counts = np.full((n, 1), 1000, dtype=np.int64)
    integrator = NetworkIntegrator(net, "tau-leaping", 0.01)
    events = integrator.advance(counts, np.arange(n, dtype=np.int64), np.zeros((n, 0)), 10.0, 22, 0)
    assert integrator.leaps * 20 < events
    x = counts[:, 0].astype(float)
    assert abs(x.mean() - 1000.0) < 5 * math.sqrt(1000.0 / n)
    se_fano = math.sqrt((1000.0 + 2 * 1000.0**2) / n) / 1000.0
    tau = 10.0 / (integrator.leaps / n)  # the mean leap: (εx)²/(k + γx) = 0.05 min here
    assert abs(x.var(ddof=1) / x.mean() - 1.0 / (1.0 - 1.0 * tau / 2)) < 5 * se_fano


def test_tau_leaping_keeps_counts_non_negative_and_conserves_what_reactions_conserve():
    """Dimerisation 2X → Y, Y → 2X: X + 2Y is invariant, counts never negative."""
    net = {"species": {"X": 5000, "Y": 0}, "reactions": [
        {"reactants": {"X": 2}, "products": {"Y": 1}, "rate": 0.001},
        {"reactants": {"Y": 1}, "products": {"X": 2}, "rate": 0.5}]}
    out = simulate_well_mixed(net, 2000, [0.5, 2.0, 8.0], seed=23, method="tau-leaping")
    assert out.min() >= 0
    assert np.all(out[..., 0] + 2 * out[..., 1] == 5000)
    exact = simulate_well_mixed(net, 2000, [8.0], seed=23)[0]
    # same stationary mean of Y within the sampling error of both
    se = math.sqrt(out[-1, :, 1].var() / 2000 + exact[:, 1].var() / 2000)
    assert abs(out[-1, :, 1].mean() - exact[:, 1].mean()) < 5 * se


def test_poisson_sampler_matches_mean_and_variance():
    from hybridsim.agents.rng import stream_key
    from hybridsim.agents.tau_leaping import poisson

    k0, k1 = (np.uint64(k) for k in stream_key(3, 7))
    for lam in (0.3, 4.0, 9.99, 10.0, 57.5, 3000.0):
        draws = []
        d = 0
        for agent in range(20000):
            k, d = poisson(lam, k0, k1, agent, 0, 0)
            draws.append(k)
        x = np.array(draws, dtype=float)
        assert x.min() >= 0
        assert abs(x.mean() - lam) < 5 * math.sqrt(lam / x.size), lam
        assert abs(x.var(ddof=1) - lam) < 5 * math.sqrt((lam + 2 * lam**2) / x.size), lam


TELEGRAPH = {"species": {"G": 0, "Gon": 1, "P": 10000}, "reactions": [
    {"name": "on", "reactants": {"G": 1}, "products": {"Gon": 1}, "rate": 0.05},
    {"name": "off", "reactants": {"Gon": 1}, "products": {"G": 1}, "rate": 0.05},
    {"name": "make", "reactants": {"Gon": 1}, "products": {"Gon": 1, "P": 1}, "rate": 2000.0},
    {"name": "decay", "reactants": {"P": 1}, "rate": 0.1}]}


def _mean_and_fano_within_sampling_error(x, mean, fano):
    """Mean within 4 s.e.; Fano factor within 4 s.e. of a sample variance, whose relative
    s.e. is √((κ − 1)/n) with κ the sample's kurtosis (plus the mean's share)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    m, v = x.mean(), x.var(ddof=1)
    kurtosis = ((x - m) ** 4).mean() / v**2
    assert abs(m - mean) < 4 * math.sqrt(v / n), (m, mean)
    rel = math.sqrt((kurtosis - 1) / n) + math.sqrt(v / n) / m
    assert abs(v / m / fano - 1) < 4 * rel, (v / m, fano, rel)


def test_hybrid_reproduces_a_gene_switching_a_protein():
    """Telegraph model: a single gene (0/1 copies, exact) switches a protein of ~10⁴ copies
    (leaped). Stationary mean k_p·p_on/γ and Fano 1 + k_p·k_off/((k_on + k_off)(k_on + k_off + γ))."""
    x = simulate_well_mixed(TELEGRAPH, 3000, [150.0], seed=5, method="hybrid", epsilon=0.01)[-1]
    assert set(np.unique(x[:, 1])) <= {0, 1} and np.all(x[:, 0] + x[:, 1] == 1)
    _mean_and_fano_within_sampling_error(x[:, 2], 2000 * 0.5 / 0.1, 1 + 2000 * 0.05 / (0.1 * 0.2))


def test_hybrid_reproduces_two_stage_expression_with_low_copy_mrna():
    net = {"species": {"M": 4, "P": 8000}, "reactions": [
        {"products": {"M": 1}, "rate": 2.0}, {"reactants": {"M": 1}, "rate": 0.5},
        {"reactants": {"M": 1}, "products": {"M": 1, "P": 1}, "rate": 100.0}, {"reactants": {"P": 1}, "rate": 0.05}]}
    x = simulate_well_mixed(net, 3000, [150.0], seed=6, method="hybrid", epsilon=0.01)[-1]
    _mean_and_fano_within_sampling_error(x[:, 0], 4.0, 1.0)  # mRNA: Poisson, all exact
    _mean_and_fano_within_sampling_error(x[:, 1], 8000.0, 1 + 100 / 0.55)


def test_hybrid_below_the_threshold_is_exact_ssa():
    """Nothing reaches the threshold: every reaction fires exactly (no leap), and the
    birth–death counts are Poisson at every time."""
    from hybridsim.agents.integrator import NetworkIntegrator

    net = load_network({"species": {"X": 0}, "reactions": [{"products": {"X": 1}, "rate": 20.0},
                                                           {"reactants": {"X": 1}, "rate": 1.0}]})
    integrator = NetworkIntegrator(net, "hybrid", threshold=10**6)
    counts = np.zeros((4000, 1), dtype=np.int64)
    integrator.advance(counts, np.arange(4000), np.zeros((4000, 0)), 10.0, 1, 0)
    assert integrator.leaps == 0
    _mean_and_fano_within_sampling_error(counts[:, 0], 20.0, 1.0)


def test_hybrid_rejects_a_bad_threshold():
    from hybridsim.agents.integrator import NetworkIntegrator

    with pytest.raises(InputError, match="threshold must be a positive integer"):
        NetworkIntegrator(load_network(TELEGRAPH), "hybrid", threshold=0)


def test_hybrid_with_a_discrete_reaction_that_depends_on_a_leaped_species():
    """Gene activation at rate k·P with P leaped: the discrete clock holds k·P at its value
    from each leap's start, so the activation rate may be biased by up to ε/2 (ε = 0.01);
    the active fraction g = k⟨P⟩/(k⟨P⟩ + koff) then moves by at most g(1 − g)·ε/2."""
    net = {"species": {"Goff": 1, "Gon": 0, "P": 2000}, "reactions": [
        {"name": "activate", "reactants": {"Goff": 1, "P": 1}, "products": {"Gon": 1, "P": 1}, "rate": 2.5e-4},
        {"name": "inactivate", "reactants": {"Gon": 1}, "products": {"Goff": 1}, "rate": 0.5},
        {"name": "make", "reactants": {"Gon": 1}, "products": {"Gon": 1, "P": 1}, "rate": 200.0},
        {"name": "basal", "products": {"P": 1}, "rate": 20.0},
        {"name": "decay", "reactants": {"P": 1}, "rate": 0.05}]}
    times = np.linspace(50.0, 100.0, 11)  # 5 min apart: the gene's correlation time is under 1 min
    on = {}
    for method in ("exact", "hybrid"):
        x = simulate_well_mixed(net, 4000, times, seed=8, method=method, threshold=50)
        on[method] = x[:, :, 1].astype(float).ravel()
    g = on["exact"].mean()
    assert 0.3 < g < 0.8  # both states are visited
    n = on["exact"].size
    sampling = 4 * math.sqrt(2 * g * (1 - g) / n)
    assert abs(on["hybrid"].mean() - g) <= sampling + g * (1 - g) * 0.01 / 2
