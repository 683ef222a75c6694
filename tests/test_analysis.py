"""Analysis tools against closed forms: rate equations, sensitivities, QSSA
(VALIDATION 15) and identifiability (VALIDATION 16)."""

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


# ----------------------------------------------------------------------------- noise

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
    # s.d. of a sample Fano factor of Poisson counts ≈ √(2/n) (and 1/μ more); 21 snapshots
    tolerance = 4 * np.sqrt(2 / n_cells) / np.sqrt(len(snapshots))
    assert abs(stats.fano.mean() - 1.0) < tolerance
    np.testing.assert_allclose(stats.cv2.mean(), 1 / 40.0, rtol=tolerance * 1.2)
    acf = autocorrelation(x, 0.25)
    assert abs(acf.time - 2.0) < 4 * acf.stderr + 0.01, (acf.time, acf.stderr)
    np.testing.assert_allclose(acf.rho[1:9], np.exp(-0.5 * acf.lags[1:9]), atol=0.02)
    avg = averaging(snapshots, sizes=[1, 2, 5, 10, 20, 50, 100])
    assert abs(avg.exponent + 1.0) < 0.05, avg.exponent


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


# ----------------------------------------------------------------------------- lens


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


# ----------------------------------------------------------------------------- command line


def _cli(*args, cwd=None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "hybridsim", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


BINDING_TOML = """
[species]
L = 50
R = 20
C = 0
[[reactions]]
name = "k_on"
reactants = { L = 1, R = 1 }
products = { C = 1 }
rate = 0.01
[[reactions]]
name = "k_off"
reactants = { C = 1 }
products = { L = 1, R = 1 }
rate = 0.2
"""


GROWTH_TOML = "\n".join(
    ["[species]", "L = 10", "R = 20", "C = 0", "X = 100"]
    + [f'[[reactions]]\nname = "{n}"\n{body}' for n, body in [
        ("binding", 'reactants = { L = 1, R = 1 }\nproducts = { C = 1 }\nrate = 500.0'),
        ("unbinding", 'reactants = { C = 1 }\nproducts = { L = 1, R = 1 }\nrate = 2000.0'),
        ("supply", 'products = { L = 1 }\nrate = 1.0'),
        ("decay", 'reactants = { L = 1 }\nrate = 0.05'),
        ("growth", 'reactants = { X = 1 }\nproducts = { X = 2 }\nrate = 0.1'),
        ("inhibition", 'reactants = { C = 1, X = 1 }\nproducts = { C = 1 }\nrate = 0.01')]]) + "\n"


def test_analyze_commands(tmp_path):
    from test_cli_errors import _assert_one_error_line

    net = tmp_path / "binding.toml"
    net.write_text(BINDING_TOML)
    doses = ["--experiment", "L=5", "--experiment", "L=50", "--experiment", "L=200"]
    steady = _cli("analyze", "identifiability", str(net), "--parameters", "k_on,k_off", "--observe", "C",
                  "--times", "steady", *doses, "--noise-abs", "0.5")
    assert steady.returncode == 0, steady.stderr
    assert "rank 1 of 2" in steady.stdout and "identifiable: k_on^1 · k_off^-1" in steady.stdout
    transient = _cli("analyze", "identifiability", str(net), "--parameters", "k_on,k_off", "--observe", "C",
                     "--times", "0.5,1,2,5", *doses, "--noise-abs", "0.5")
    assert "rank 2 of 2" in transient.stdout and "s.d. of log k_off ≥" in transient.stdout
    cfg = tmp_path / "lens.toml"
    cfg.write_text(LENS_CONFIG)
    lens = _cli("analyze", "lens", str(cfg))
    assert lens.returncode == 0, lens.stderr
    assert "P " in lens.stdout and "tau-leaping" in lens.stdout and "cells as a continuum" in lens.stdout
    growth = tmp_path / "growth.toml"
    growth.write_text(GROWTH_TOML)
    qssa = _cli("analyze", "qssa", str(growth), "--t-end", "20")
    assert qssa.returncode == 0, qssa.stderr
    assert "fast reactions: binding, unbinding" in qssa.stdout and "slow variables" in qssa.stdout
    assert "L + C; R + C; X" in qssa.stdout
    worst = qssa.stdout.split("largest difference")[1]
    assert max(float(w.split()[-1]) for w in worst.split(":")[1].split(",")) < 1e-4  # ε ≈ 5e-6
    single = _cli("analyze", "qssa", str(net), "--t-end", "5")
    _assert_one_error_line(single, 2, "nothing to separate")


def test_analyze_noise_on_run_output(tmp_path):
    from hybridsim.config import parse_config
    from hybridsim.io.output import RunOutput
    from hybridsim.simulation import Simulation

    text = """
[domain]
size = [100.0, 100.0]
cells = [10, 10]
[time]
dt = 0.5
t_end = 40.0
[network]
species = { X = 40 }
reactions = [{ products = { X = 1 }, rate = 20.0 }, { reactants = { X = 1 }, rate = 0.5 }]
[agents]
initial = { count = 400 }
[output]
interval = 0.5
"""
    sim = Simulation(parse_config(text))
    out = RunOutput(sim, tmp_path / "run", [])
    sim.run(out)
    out.close()
    sim.destroy()
    result = _cli("analyze", "noise", str(tmp_path / "run"), "--species", "X", "--after", "10")
    assert result.returncode == 0, result.stderr
    assert "correlation time" in result.stdout and (tmp_path / "run" / "plots" / "noise_X.png").is_file()
    last = [line for line in result.stdout.splitlines() if line.strip().startswith("40 ")][0]
    fano = float(last.split()[3])
    assert abs(fano - 1.0) < 4 * np.sqrt(2 / 400)  # Poisson across 400 cells


BAD_ANALYSIS = {
    "unknown parameter": (["identifiability", "{net}", "--parameters", "k_in", "--observe", "C", "--times", "1"],
                          "no reaction named 'k_in'"),
    "unknown species": (["identifiability", "{net}", "--parameters", "k_on", "--observe", "D", "--times", "1"],
                        "cannot observe 'D'"),
    "bad time": (["identifiability", "{net}", "--parameters", "k_on", "--observe", "C", "--times", "soon"],
                 "--times expects numbers (min) or 'steady', got 'soon'"),
    "bad experiment": (["identifiability", "{net}", "--parameters", "k_on", "--observe", "C", "--times", "1",
                        "--experiment", "L"], "--experiment expects NAME=VALUE"),
    "unknown fast reaction": (["qssa", "{net}", "--t-end", "1", "--fast", "bind"], "no reaction named 'bind'"),
    "missing output": (["noise", "{tmp}/nothing", "--species", "X"], "does not exist"),
    "missing structure": (["homogenize", "{tmp}/nothing.npy"], "micro-structure file"),
    "bad spacing": (["homogenize", "{tmp}/board.npy", "--spacing", "1,x"],
                    "--spacing expects numbers separated by commas"),
    "spacing of the wrong length": (["homogenize", "{tmp}/board.npy", "--spacing", "1,1,1"],
                                    "--spacing needs 2 values for a 2D structure"),
}


@pytest.mark.parametrize("case", list(BAD_ANALYSIS))
def test_bad_analysis_input_gives_one_line(tmp_path, case):
    from test_cli_errors import _assert_one_error_line

    net = tmp_path / "binding.toml"
    net.write_text(BINDING_TOML)
    np.save(tmp_path / "board.npy", _checkerboard(4))
    args, expected = BAD_ANALYSIS[case]
    result = _cli("analyze", *[a.format(net=net, tmp=tmp_path) for a in args])
    _assert_one_error_line(result, 2, expected)


# ----------------------------------------------------------------------------- homogenization

def _checkerboard(n, D1=1.0, D2=9.0):
    i = np.arange(2 * n)
    X, Y = np.meshgrid(i, i, indexing="ij")
    return np.where(((X // n) + (Y // n)) % 2 == 0, D1, D2)


@pytest.mark.parametrize("dim", [2, 3])
def test_layers_give_the_harmonic_mean_across_and_the_arithmetic_mean_along(dim):
    """VALIDATION 4, exactly: layers of D = 1, 4, 10 (thicknesses 3, 1, 4 cells) stacked along x."""
    from hybridsim.analysis.homogenization import effective_diffusion

    column = np.repeat([1.0, 4.0, 10.0], [3, 1, 4])
    D = np.broadcast_to(column.reshape((-1,) + (1,) * (dim - 1)), (8,) + (6,) * (dim - 1)).copy()
    result = effective_diffusion(D, spacing=[0.5] + [2.0] * (dim - 1), rtol=1e-12)
    harmonic, arithmetic = 1.0 / np.mean(1.0 / column), np.mean(column)
    expected = np.diag([harmonic] + [arithmetic] * (dim - 1))
    np.testing.assert_allclose(result.tensor, expected, rtol=1e-9, atol=1e-9 * arithmetic)
    assert result.harmonic == pytest.approx(harmonic) and result.arithmetic == pytest.approx(arithmetic)


def test_checkerboard_approaches_the_geometric_mean():
    """2D checkerboard of D₁, D₂: D_eff = √(D₁D₂) I (Keller–Dykhne). The corner singularities
    make the discrete value converge at order < 1; Richardson extrapolation with the observed
    order from three grids lands on √(D₁D₂)."""
    from hybridsim.analysis.homogenization import effective_diffusion

    values = [effective_diffusion(_checkerboard(n), rtol=1e-12).tensor for n in (32, 64, 128)]
    for t in values:
        assert abs(t[0, 1]) < 1e-9 and t[0, 0] == pytest.approx(t[1, 1], rel=1e-9)
    d = np.array([t[0, 0] for t in values])
    assert np.all(np.diff(np.abs(d - 3.0)) < 0)  # closer on every refinement
    order = np.log2((d[1] - d[0]) / (d[2] - d[1]))
    assert 0.5 < order < 1.5
    extrapolated = d[2] + (d[2] - d[1]) / (2**order - 1)
    assert extrapolated == pytest.approx(3.0, rel=2e-3)


HOMOGENIZED = """
[domain]
size = [1.0, 1.0]
cells = [256, 256]
[time]
dt = 1.0e6
t_end = 3.0e6
[solver]
rtol = 1e-12
[species.c]
D = {D}
decay = 4.0
boundary = {{ x_min = {{ type = "dirichlet", value = 1.0 }}, y_min = {{ type = "dirichlet", value = 1.0 }} }}
"""


def test_resolved_layers_and_the_homogenized_tensor_agree_to_order_epsilon():
    """Steady state with sources on two faces: the layered medium (period ε across x) and the
    homogenized run with D = { tensor = [H, A] } hold the same amount, up to O(ε)."""
    from hybridsim.config import parse_config
    from hybridsim.simulation import Simulation

    def amount(D):
        sim = Simulation(parse_config(HOMOGENIZED.format(D=D)))
        for _ in range(3):
            sim.step()
        total = sim.total("c")
        sim.destroy()
        return total

    H, A = 2 / (1 / 1.0 + 1 / 10.0), 5.5
    homogenized = amount(f"{{ tensor = [{H}, {A}] }}")
    eps = np.array([1 / 8, 1 / 16, 1 / 32])
    errors = [abs(amount(f'{{ layers = {{ axis = "x", thickness = [{e / 2}, {e / 2}], values = [1.0, 10.0] }} }}')
                  - homogenized) / homogenized for e in eps]
    slope = np.polyfit(np.log(eps), np.log(errors), 1)[0]
    assert 0.8 < slope < 1.2 and errors[-1] < 1e-3, errors


@pytest.mark.parametrize("tensor,message", [
    ("[1.0]", "must list 2 diagonal entries"),
    ("[[1.0, 0.2], [0.2, 2.0]]", "has off-diagonal entries"),
    ("[1.0, -2.0]", "must be > 0"),
])
def test_bad_tensor_is_refused(tensor, message):
    from hybridsim.config import parse_config

    with pytest.raises(InputError, match=message):
        parse_config(HOMOGENIZED.format(D=f"{{ tensor = {tensor} }}"))


@pytest.mark.mpi
@pytest.mark.parametrize("n", [1, 2, 4])
def test_homogenize_command_on_n_ranks(tmp_path, n):
    from mpi import hybridsim

    path = tmp_path / "board.npy"
    np.save(path, _checkerboard(16))
    result = hybridsim(n, "analyze", "homogenize", str(path))
    assert result.returncode == 0, result.stderr
    row = [line for line in result.stdout.splitlines() if line.strip().startswith("[")][0]
    value = float(row.strip(" []").split(",")[0])
    reference = __import__("hybridsim.analysis.homogenization", fromlist=["x"]).effective_diffusion(
        _checkerboard(16), rtol=1e-10).tensor[0, 0]
    assert value == pytest.approx(reference, rel=1e-5)  # 6 digits printed
    assert "for a run config: D = { tensor = [" in result.stdout


def test_structure_files_read_with_x_along_axis_0(tmp_path):
    """A .txt (rows y), a .png (rows y, top first) and a .npy give the same array."""
    import matplotlib.image

    from hybridsim.analysis.homogenization import read_structure

    D = np.ones((6, 4))  # x, y
    D[:2, :] = 9.0  # the low-x stripe
    D[:, 3] = 9.0  # the top row
    np.save(tmp_path / "d.npy", D)
    np.savetxt(tmp_path / "d.txt", D.T)
    matplotlib.image.imsave(tmp_path / "d.png", (D.T[::-1] > 1).astype(float), cmap="gray", vmin=0, vmax=1)
    np.testing.assert_array_equal(read_structure(str(tmp_path / "d.npy")), D)
    np.testing.assert_array_equal(read_structure(str(tmp_path / "d.txt")), D)
    np.testing.assert_array_equal(read_structure(str(tmp_path / "d.png"), phases=(1.0, 9.0)), D)
    with pytest.raises(InputError, match="needs --phases"):
        read_structure(str(tmp_path / "d.png"))


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


def test_the_package_exposes_every_tool():
    import hybridsim.analysis as analysis

    for name in analysis.__all__:
        assert callable(getattr(analysis, name)), name
