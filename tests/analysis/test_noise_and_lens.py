"""Noise statistics (Fano factor, autocorrelation, 1/N averaging) and the lens against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from hybridsim.config import parse_network
from hybridsim.errors import InputError

TWO_STAGE = parse_network({"species": {"M": 0, "P": 0}, "reactions": [
    {"name": "transcription", "products": {"M": 1}, "rate": 2.0},
    {"name": "mrna_decay", "reactants": {"M": 1}, "rate": 0.5},
    {"name": "translation", "reactants": {"M": 1}, "products": {"M": 1, "P": 1}, "rate": 10.0},
    {"name": "protein_decay", "reactants": {"P": 1}, "rate": 0.05}]})


def _stationary_birth_death(n_cells=2000, dt=0.25, n_times=801):
    from hybridsim.agents import simulate_well_mixed

    net = {"species": {"X": 40}, "reactions": [{"products": {"X": 1}, "rate": 20.0},
                                               {"reactants": {"X": 1}, "rate": 0.5}]}
    t = 30.0 + dt * np.arange(n_times)  # after 15 relaxation times
    return t, simulate_well_mixed(net, n_cells, t, seed=7)[:, :, 0]


def test_noise_statistics_of_birth_death_cells():
    """Poisson: Fano 1 and CV² = 1/μ; autocorrelation e^{−γt}, correlation time 1/γ = 2 min;
    tissue averages of independent cells: variance ∝ N^−1."""
    from hybridsim.analysis.noise import across_cells, autocorrelation, averaging

    t, x = _stationary_birth_death()
    n_cells = x.shape[1]
    snapshots = x[::40]  # 10 min apart: 5 correlation times, nearly independent
    stats = across_cells(snapshots)
    # relative variance of a sample s²/x̄ (Fano) and of s²/x̄² (CV²) of Poisson counts, μ = 40:
    # both (2 + 1/μ)/n (the covariance of s² and x̄, μ/n, cancels the mean's share in CV²)
    mu = 40.0
    tolerance = 4 * np.sqrt((2 + 1 / mu) / n_cells) / np.sqrt(len(snapshots))
    assert abs(stats.fano.mean() - 1.0) < tolerance
    np.testing.assert_allclose(stats.cv2.mean(), 1 / mu, rtol=tolerance)
    dt = 0.25
    acf = autocorrelation(x, dt)
    # the area Δt(½ + Σρ_k) of e^{−t/τ} exceeds τ by Δt²/(12τ)
    assert abs(acf.time - 2.0 - dt**2 / 24) < 4 * acf.stderr, (acf.time, acf.stderr)
    # Bartlett's variance of the estimated ρ_k of an AR(1) sequence, φ = e^{−γΔt}, from n samples
    phi, k, n = np.exp(-0.5 * dt), np.arange(1, 9), x.size
    sd = np.sqrt(((1 + phi**2) * (1 - phi ** (2 * k)) / (1 - phi**2) - 2 * k * phi ** (2 * k)) / n)
    assert np.all(np.abs(acf.rho[1:9] - phi**k) < 4 * sd), (acf.rho[1:9] - phi**k) / sd
    avg = averaging(snapshots, sizes=[1, 2, 5, 10, 20, 50, 100])
    assert abs(avg.exponent + 1.0) < 4 * avg.exponent_stderr, (avg.exponent, avg.exponent_stderr)


def test_noise_reads_run_output(tmp_path):
    """read_counts follows each cell by id across outputs, whatever order rows are stored in."""
    import h5py

    from hybridsim.analysis.noise import read_counts

    path = tmp_path / "agents.h5"
    with h5py.File(path, "w") as f:
        for k, (ids, counts) in enumerate([([3, 1, 2], [30, 10, 20]), ([2, 3, 9, 1], [21, 31, 91, 11])]):
            g = f.create_group(f"steps/{k:06d}")
            g.attrs["time"] = 5.0 * k
            g["id"] = np.array(ids)
            g["species/P"] = np.array(counts)
    times, counts = read_counts(tmp_path, "P")
    np.testing.assert_array_equal(times, [0.0, 5.0])
    np.testing.assert_array_equal(counts, [[10, 20, 30], [11, 21, 31]])
    with pytest.raises(InputError, match="no species 'Q'"):
        read_counts(path, "Q")


def test_lens_thresholds_and_the_two_stage_levels():
    from hybridsim.analysis.lens import DETERMINISTIC_FROM, EXACT_BELOW, network_lens, recommend

    assert recommend("A", EXACT_BELOW / 2).method == "exact SSA"
    assert recommend("A", EXACT_BELOW * 2).method == "tau-leaping"
    assert recommend("A", DETERMINISTIC_FROM * 2).method == "deterministic"
    assert recommend("A", 400.0).noise == pytest.approx(0.05)
    m, p = network_lens(TWO_STAGE)
    assert m.typical == pytest.approx(4.0, rel=1e-6) and m.method == "exact SSA"
    assert p.typical == pytest.approx(800.0, rel=1e-6) and p.method == "tau-leaping"


LENS_CONFIG = """
[domain]
size = [200.0, 100.0]
cells = [40, 20]
[time]
dt = 1.0
t_end = 10.0
[species.cytokine]
D = 100.0
decay = 0.25
[network]
species = { P = 100 }
reactions = [
  { name = "secretion", reactants = { P = 1 }, products = { P = 1 }, rate = 0.03, secretes = { cytokine = 2 } },
  { name = "turnover", reactants = { P = 1 }, rate = 0.1 },
  { name = "synthesis", products = { P = 1 }, rate = 10.0 }]
[agents]
diameter = 8.0
initial = { count = 500 }
"""


def test_secreted_field_level_and_continuum_report():
    """Cells at ρ secreting s per min into a field decaying at k hold it near ρ·s/k;
    an ℓ-sized patch holds ρ·ℓ² cells and fluctuates by 1/√(ρ ℓ²)."""
    from hybridsim.analysis.lens import continuum_report, field_lens, typical_fields
    from hybridsim.config import parse_config

    cfg = parse_config(LENS_CONFIG)
    rho = 500 / (200.0 * 100.0)
    s = 0.03 * 100 * 2  # propensity at P = 100 (steady: 10/0.1) times molecules per firing
    value, why = typical_fields(cfg)["cytokine"]
    assert value == pytest.approx(rho * s / 0.25, rel=1e-6) and "secretion" in why
    (lens,) = field_lens(cfg)
    assert lens.typical == pytest.approx(value * 5.0 * 5.0, rel=1e-6)  # per 5×5 µm² voxel
    report = continuum_report(cfg, 500)
    ell = np.sqrt(100.0 / 0.25)
    assert report.variation_length == pytest.approx(ell)
    assert report.cells_per_patch == pytest.approx(rho * ell**2)
    assert report.fluctuation == pytest.approx(1 / np.sqrt(rho * ell**2))
    assert report.cells_for(0.05) == pytest.approx(400.0)


def test_network_method_follows_copy_numbers():
    from hybridsim.analysis.lens import network_lens, network_method

    def net(p):
        return parse_network({"species": {"M": 0, "P": 0}, "reactions": [
            {"products": {"M": 1}, "rate": 2.0}, {"reactants": {"M": 1}, "rate": 0.5},
            {"reactants": {"M": 1}, "products": {"M": 1, "P": 1}, "rate": p * 0.05 / 4.0},
            {"reactants": {"P": 1}, "rate": 0.05}]})

    assert network_method(network_lens(net(800.0)))[0] == "exact"  # leaping would not pay
    assert network_method(network_lens(net(8000.0)))[0] == "hybrid"  # M ≈ 4 exact, P ≈ 8000 leaped


def test_correlation_time_of_a_two_stage_protein():
    """Two-stage expression: the protein's autocovariance is e^{Jτ}Σ (linear network), whose
    area over its variance is (k_p Σ_MP/(γ_m γ_p) + Σ_PP/γ_p)/Σ_PP = 24.76 min here."""
    from hybridsim.agents import simulate_well_mixed
    from hybridsim.analysis.noise import autocorrelation

    km, gm, kp, gp = 2.0, 0.2, 5.0, 0.05
    net = {"species": {"M": 10, "P": 1000}, "reactions": [
        {"products": {"M": 1}, "rate": km}, {"reactants": {"M": 1}, "rate": gm},
        {"reactants": {"M": 1}, "products": {"M": 1, "P": 1}, "rate": kp}, {"reactants": {"P": 1}, "rate": gp}]}
    s_mm = km / gm
    s_mp = kp * s_mm / (gm + gp)
    s_pp = (2 * kp * s_mp + kp * s_mm + gp * km * kp / (gm * gp)) / (2 * gp)
    expected = (kp * s_mp / (gm * gp) + s_pp / gp) / s_pp
    x = simulate_well_mixed(net, 1000, 100.0 + np.arange(801), seed=4)[:, :, 1]
    acf = autocorrelation(x, 1.0)
    tail = expected * np.exp(-acf.lags[-1] / expected)  # area beyond the last lag
    assert abs(acf.time - expected) < 4 * acf.stderr + tail, (acf.time, acf.stderr, expected)
