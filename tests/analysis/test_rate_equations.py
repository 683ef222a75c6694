"""Rate equations, sensitivities, QSSA (VALIDATION 15) and identifiability (VALIDATION 16) against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from hybridsim.analysis.identifiability import (
    Experiment,
    forward_sensitivities,
    practical,
    sensitivity_matrix,
    structural,
)
from hybridsim.analysis.qssa import ReducedModel, detect_fast
from hybridsim.analysis.rre import RateEquations
from hybridsim.config import parse_network
from hybridsim.errors import InputError

BIRTH_DEATH = parse_network({"species": {"X": 3}, "reactions": [
    {"name": "birth", "products": {"X": 1}, "rate": 12.0},
    {"name": "death", "reactants": {"X": 1}, "rate": 0.4}]})


TWO_STAGE = parse_network({"species": {"M": 0, "P": 0}, "reactions": [
    {"name": "transcription", "products": {"M": 1}, "rate": 2.0},
    {"name": "mrna_decay", "reactants": {"M": 1}, "rate": 0.5},
    {"name": "translation", "reactants": {"M": 1}, "products": {"M": 1, "P": 1}, "rate": 10.0},
    {"name": "protein_decay", "reactants": {"P": 1}, "rate": 0.05}]})


def test_rate_equations_reproduce_the_birth_death_mean():
    k, g, x0 = 12.0, 0.4, 3.0
    t = np.linspace(0, 10, 21)
    x = RateEquations(BIRTH_DEATH).simulate([x0], t, rtol=1e-11, atol=1e-12)[:, 0]
    np.testing.assert_allclose(x, k / g * (1 - np.exp(-g * t)) + x0 * np.exp(-g * t), rtol=1e-8)


def test_rate_equations_settle_to_the_two_stage_means():
    x = RateEquations(TWO_STAGE).steady_state([0.0, 0.0])
    np.testing.assert_allclose(x, [2.0 / 0.5, 2.0 * 10.0 / (0.5 * 0.05)], rtol=1e-8)


def test_a_missing_field_value_is_named():
    net = parse_network({"species": {"R": 5}, "reactions": [
        {"name": "bind", "reactants": {"R": 1}, "rate": {"k": 1.0, "field": "ligand"}}]})
    with pytest.raises(InputError, match="depends on field 'ligand'"):
        RateEquations(net)
    assert RateEquations(net, fields={"ligand": 2.5}).k[0] == pytest.approx(2.5)


def test_forward_sensitivities_match_the_closed_form():
    k, g, x0 = 12.0, 0.4, 3.0
    t = np.array([0.5, 1.0, 3.0, 8.0])
    _, s = forward_sensitivities(RateEquations(BIRTH_DEATH), [x0], list(t), ["birth", "death"])
    e = np.exp(-g * t)
    d_logk = k / g * (1 - e)
    d_logg = g * (-k / g**2 * (1 - e) + k / g * t * e - x0 * t * e)
    np.testing.assert_allclose(s[:, 0, 0], d_logk, rtol=1e-7)
    np.testing.assert_allclose(s[:, 0, 1], d_logg, rtol=1e-7)


BINDING = parse_network({"species": {"L": 50, "R": 20, "C": 0}, "reactions": [
    {"name": "k_on", "reactants": {"L": 1, "R": 1}, "products": {"C": 1}, "rate": 0.01},
    {"name": "k_off", "reactants": {"C": 1}, "products": {"L": 1, "R": 1}, "rate": 0.2}]})


DOSES = [Experiment(f"L0={L}", initial={"L": L}) for L in (5, 20, 50, 200)]


def test_forward_sensitivities_match_central_differences():
    """An independent check on a nonlinear network: central differences in log θ,
    step 1e-4, agree with the sensitivity equations to the differences' own O(h²)."""
    times = [0.5, 2.0, 6.0, "steady"]
    params = ["k_on", "k_off"]
    _, S = sensitivity_matrix(BINDING, params, ["C", "L"], times, DOSES[:2])
    h = 1e-4
    for p, name in enumerate(params):
        base = {r.name: r.rate for r in BINDING.reactions}
        up = dict(base, **{name: base[name] * np.exp(h)})
        down = dict(base, **{name: base[name] * np.exp(-h)})
        y_up, _ = sensitivity_matrix(BINDING, params, ["C", "L"], times, DOSES[:2], rates=up)
        y_down, _ = sensitivity_matrix(BINDING, params, ["C", "L"], times, DOSES[:2], rates=down)
        np.testing.assert_allclose(S[:, p], (y_up - y_down) / (2 * h), rtol=1e-5, atol=1e-6)


def test_steady_binding_data_identify_only_the_dissociation_constant():
    """VALIDATION 16: from steady states only K_d = k_off/k_on; null vector ∝ (1, 1)."""
    result = structural(BINDING, ["k_on", "k_off"], ["C"], ["steady"], DOSES)
    assert result.rank == 1
    v = np.asarray(result.null_vectors[0])
    assert abs(v @ np.array([1.0, 1.0])) / (np.linalg.norm(v) * np.sqrt(2)) > 1 - 1e-8
    np.testing.assert_allclose(result.identifiable[0], [1.0, -1.0], atol=1e-6)  # k_on / k_off = 1/K_d
    fisher = practical(BINDING, ["k_on", "k_off"], ["C"], ["steady"], DOSES, noise_abs=0.5, noise_rel=0.05)
    assert fisher.eigenvalues[0] <= 1e-8 * fisher.eigenvalues[-1]
    assert not np.any(np.isfinite(fisher.bounds))
    assert any("singular" in w for w in fisher.warnings)


def test_transient_binding_data_identify_both_rates():
    times = [0.5, 1.0, 2.0, 5.0]
    assert structural(BINDING, ["k_on", "k_off"], ["C"], times, DOSES).rank == 2
    fisher = practical(BINDING, ["k_on", "k_off"], ["C"], times, DOSES, noise_abs=0.5, noise_rel=0.05)
    assert np.all(np.isfinite(fisher.bounds)) and fisher.eigenvalues[0] > 0


def test_cramer_rao_bound_of_a_production_rate():
    """y = (k/γ)(1 − e^{−γt}) is proportional to k, so ∂y/∂log k = y; with noise σ = σ_r·y at
    n times the information on log k is n/σ_r² and the bound is σ_r/√n, exactly."""
    times = [1.0, 2.0, 4.0, 8.0, 16.0]
    net = parse_network({"species": {"X": 0}, "reactions": [
        {"name": "birth", "products": {"X": 1}, "rate": 12.0},
        {"name": "death", "reactants": {"X": 1}, "rate": 0.4}]})
    result = practical(net, ["birth"], ["X"], times, [Experiment()], noise_rel=0.1, replicates=3)
    assert result.bounds[0] == pytest.approx(0.1 / np.sqrt(5 * 3), rel=1e-7)
    loose = practical(net, ["birth"], ["X"], [1.0], [Experiment()], noise_rel=2.0)
    assert any("practically unidentifiable" in w for w in loose.warnings)


def _growth(eps):
    return parse_network({"species": {"L": 10, "R": 20, "C": 0, "X": 100}, "reactions": [
        {"name": "binding", "reactants": {"L": 1, "R": 1}, "products": {"C": 1}, "rate": 0.5 / eps},
        {"name": "unbinding", "reactants": {"C": 1}, "products": {"L": 1, "R": 1}, "rate": 2.0 / eps},
        {"name": "supply", "products": {"L": 1}, "rate": 1.0},
        {"name": "decay", "reactants": {"L": 1}, "rate": 0.05},
        {"name": "growth", "reactants": {"X": 1}, "products": {"X": 2}, "rate": 0.1},
        {"name": "inhibition", "reactants": {"C": 1, "X": 1}, "products": {"C": 1}, "rate": 0.01}]})


def test_qssa_error_decreases_linearly_with_epsilon():
    """VALIDATION 15: ligand–receptor binding (fast) inhibits growth (slow); the
    reduced model's error against the full one is O(ε), over three decades."""
    x0 = np.array([10.0, 20.0, 0.0, 100.0])
    t = np.linspace(0.0, 20.0, 6)
    eps = np.array([1e-1, 1e-2, 1e-3, 1e-4])
    errors = []
    for e in eps:
        rre = RateEquations(_growth(e))
        full = rre.simulate(x0, t, rtol=1e-12, atol=1e-12)
        reduced = ReducedModel(rre, ["binding", "unbinding"]).simulate(x0, t)
        errors.append(np.abs(full[-1, 3] - reduced[-1, 3]) / full[-1, 3])
    slope = np.polyfit(np.log(eps), np.log(errors), 1)[0]
    assert slope == pytest.approx(1.0, abs=0.05), errors
    # the reduced state lies on the binding equilibrium C = R_T·L/(L + K_d)
    rre = RateEquations(_growth(1e-3))
    model = ReducedModel(rre, ["binding", "unbinding"])
    L, R, C, _ = model.simulate(x0, t)[-1]
    assert C == pytest.approx((R + C) * L / (L + 2.0 / 0.5), rel=1e-9)


def test_fast_reactions_are_found_from_the_spectrum():
    x0 = np.array([10.0, 20.0, 0.0, 100.0])
    sep = detect_fast(RateEquations(_growth(1e-3)), x0)
    assert set(sep.fast) == {"binding", "unbinding"}
    assert sep.epsilon < 1e-3
    with pytest.raises(InputError, match="no separation of time scales"):
        detect_fast(RateEquations(TWO_STAGE), np.array([4.0, 800.0]), min_gap=100.0)


def test_the_package_exposes_every_tool():
    import hybridsim.analysis as analysis

    for name in analysis.__all__:
        assert callable(getattr(analysis, name)), name
