"""Reaction–diffusion against closed-form results (VALIDATION.md cases 1–4), serial."""

import math

import numpy as np
import pytest

from hybridsim.config import parse_config
from hybridsim.fields.reaction_diffusion import ReactionDiffusion
from hybridsim.parallel.grid import Grid


def _setup(text: str):
    cfg = parse_config(text)
    grid = Grid(cfg.domain)
    species = cfg.species[0]
    rd = ReactionDiffusion(grid, species, dt=cfg.time.dt, scheme=cfg.time.scheme, solver=cfg.solver)
    return cfg, grid, rd


def _strip(n: int, species: str, *, length=100.0, dt=1.0, scheme="backward_euler", extra="") -> str:
    return f"""
[domain]
size = [{length}]
cells = [{n}]
[time]
dt = {dt}
t_end = 1.0
scheme = "{scheme}"
[solver]
rtol = 1e-13
{extra}
[species.c]
{species}
"""


def _steady_1d(n, species, **kw):
    cfg, grid, rd = _setup(_strip(n, species, **kw))
    c = grid.global_vec()
    rd.steady_state(c)
    x = grid.cell_centers()[:, 0]
    return x, grid.view(c).copy(), grid, rd


def test_decay_length_matches_cosh_profile_with_second_order_convergence():
    D, k, c0, L = 10.0, 0.1, 2.0, 100.0
    ell = math.sqrt(D / k)
    errors = []
    for n in (64, 128, 256, 512):
        x, c, _, _ = _steady_1d(n, f'D = {D}\ndecay = {k}\nboundary.x_min = {{ type = "dirichlet", value = {c0} }}')
        exact = c0 * np.cosh((L - x) / ell) / np.cosh(L / ell)
        errors.append(np.abs(c - exact).max())
    ratios = [a / b for a, b in zip(errors, errors[1:])]
    assert all(3.6 < r < 4.4 for r in ratios), ratios  # second order: halving h divides by ≈ 4
    assert errors[-1] < 1e-3 * c0


def test_inward_flux_boundary_gives_closed_form_profile():
    D, k, q, L = 5.0, 0.2, 0.3, 50.0
    ell = math.sqrt(D / k)
    errors = []
    for n in (50, 100, 200):
        x, c, _, _ = _steady_1d(n, f'D = {D}\ndecay = {k}\nboundary.x_min = {{ type = "neumann", value = {q} }}',
                                length=L)
        exact = q * ell / D * np.cosh((L - x) / ell) / np.sinh(L / ell)
        errors.append(np.abs(c - exact).max())
    assert all(3.6 < a / b < 4.4 for a, b in zip(errors, errors[1:])), errors


def test_michaelis_menten_uptake_satisfies_first_integral_at_second_order():
    # D c'' = vmax c/(km + c), c(0) = c0, c'(L) = 0. Multiplying by c' and integrating:
    # D/2 c'(0)² = vmax [(c0 − cL) − km ln((km + c0)/(km + cL))], with cL = c(L). The
    # discrete solution meets it to O(h²): the defect falls by 4 per halving of h.
    D, vmax, km, c0, L = 4.0, 0.5, 0.8, 3.0, 20.0
    defects = []
    for n in (100, 200, 400, 800):
        dirichlet = f'boundary.x_min = {{ type = "dirichlet", value = {c0} }}'
        x, c, grid, rd = _steady_1d(n, f"D = {D}\nuptake = {{ vmax = {vmax}, km = {km} }}\n{dirichlet}", length=L)
        h = L / n
        slope0 = 2 * (c[0] - c0) / h  # flux through the Dirichlet face
        cL = c[-1] + (c[-1] - c[-2]) / 8  # c at x = L from the last two cell centres (zero slope there)
        lhs = D / 2 * slope0**2
        rhs = vmax * ((c0 - cL) - km * math.log((km + c0) / (km + cL)))
        defects.append(abs(lhs - rhs) / rhs)
        assert (c > 0).all() and (np.diff(c) < 0).all()
    ratios = [a / b for a, b in zip(defects, defects[1:])]
    assert all(3.8 < r < 4.2 for r in ratios), (ratios, defects)
    assert defects[-1] < 1e-5


@pytest.mark.parametrize("scheme,order", [("backward_euler", 1), ("crank_nicolson", 2)])
def test_time_order_on_a_fourier_mode(scheme, order):
    # periodic strip, c = cos(κx): the semi-discrete solution is exp(−λ_h t) cos(κx) with
    # the grid's own eigenvalue λ_h, so what remains is the error of the time scheme alone
    D, k, L, n, t_end = 2.0, 0.5, 10.0, 64, 1.0
    h = L / n
    kappa = 2 * math.pi * 2 / L
    lam = D * (2 - 2 * math.cos(kappa * h)) / h**2 + k
    errors = []
    for steps in (10, 20, 40, 80):
        dt = t_end / steps
        cfg, grid, rd = _setup(_strip(n, f"D = {D}\ndecay = {k}", length=L, dt=dt, scheme=scheme).replace(
            "cells = [64]", 'cells = [64]\nperiodic = ["x"]'))
        c = grid.global_vec()
        x = grid.cell_centers()[:, 0]
        grid.view(c)[...] = np.cos(kappa * x)
        for i in range(steps):
            rd.step(c, i * dt, dt)
        errors.append(np.abs(grid.view(c) - math.exp(-lam * t_end) * np.cos(kappa * x)).max())
    ratios = [a / b for a, b in zip(errors, errors[1:])]
    expected = 2**order
    assert all(abs(r - expected) < 0.15 * expected for r in ratios), ratios


@pytest.mark.parametrize("fractions,values", [((0.5, 0.5), (1.0, 10.0)), ((0.2, 0.3, 0.5), (3.0, 0.5, 8.0))])
def test_layered_medium_flux_across_layers_matches_harmonic_mean(fractions, values):
    L, period, c0 = 100.0, 5.0, 1.0
    thickness = [f * period for f in fractions]
    n = 200  # h = 0.5 µm: layer boundaries fall on cell faces
    D_eff = 1.0 / sum(f / d for f, d in zip(fractions, values))
    species = (f"D = {{ layers = {{ axis = \"x\", thickness = {thickness}, values = {list(values)} }} }}\n"
               f'boundary.x_min = {{ type = "dirichlet", value = {c0} }}\n'
               'boundary.x_max = { type = "dirichlet", value = 0.0 }')
    x, c, _, _ = _steady_1d(n, species, length=L)
    h = L / n
    D_first = values[0]
    flux = 2 * D_first * (c0 - c[0]) / h
    assert flux == pytest.approx(D_eff * c0 / L, rel=1e-9)


def test_layered_medium_flux_along_layers_matches_arithmetic_mean():
    # layers stacked along x, gradient along y: the layers conduct in parallel
    fractions, values, period = (0.4, 0.6), (2.0, 7.0), 5.0
    thickness = [f * period for f in fractions]
    text = f"""
[domain]
size = [20.0, 30.0]
cells = [40, 30]
[time]
dt = 1.0
t_end = 1.0
[species.c]
D = {{ layers = {{ axis = "x", thickness = {thickness}, values = {list(values)} }} }}
boundary.y_min = {{ type = "dirichlet", value = 1.0 }}
boundary.y_max = {{ type = "dirichlet", value = 0.0 }}
"""
    cfg, grid, rd = _setup(text)
    c = grid.global_vec()
    rd.steady_state(c)
    field = grid.view(c)
    D = np.where(np.mod(grid.axis_centers(0), period) < thickness[0], values[0], values[1])
    h = cfg.domain.spacing
    total_flux = float(np.sum(2 * D * (1.0 - field[:, 0]) / h[1] * h[0]))  # per unit depth
    D_mean = sum(f * d for f, d in zip(fractions, values))
    assert total_flux == pytest.approx(D_mean * 1.0 / 30.0 * 20.0, rel=1e-9)


def test_crank_nicolson_integrates_a_piecewise_linear_source_exactly():
    text = """
[domain]
size = [10.0, 10.0]
cells = [8, 8]
[time]
dt = 0.25
t_end = 4.0
scheme = "crank_nicolson"
[solver]
rtol = 1e-14
[species.c]
D = 1.0
[[species.c.sources]]
rate = { t = [0.0, 1.0, 3.0], value = [0.0, 2.0, 0.5] }
[[species.c.sources]]
rate = 0.3
region = { lower = [0.0, 0.0], upper = [5.0, 2.5] }
"""
    cfg, grid, rd = _setup(text)
    c = grid.global_vec()
    for i in range(16):
        rd.step(c, i * 0.25, 0.25)
    # ∫ rate dt: 1·2/2 + 2·(2+0.5)/2 + 1·0.5 = 4.0 per µm³; region 5 × 2.5 µm² at 0.3 for 4 min
    expected = 4.0 * 100.0 + 0.3 * 12.5 * 4.0
    assert grid.integrate(c) == pytest.approx(expected, rel=1e-12)


def test_zero_flux_walls_conserve_mass_over_many_steps():
    text = """
[domain]
size = [50.0, 40.0]
cells = [20, 16]
[time]
dt = 0.5
t_end = 50.0
[species.c]
D = { value = 30.0, regions = [{ center = [10.0, 10.0], radius = 8.0, value = 3.0 }] }
initial = { value = 0.0, regions = [{ lower = [0.0, 0.0], upper = [12.0, 40.0], value = 5.0 }] }
"""
    cfg, grid, rd = _setup(text)
    c = grid.global_vec()
    grid.view(c)[...] = 5.0 * (grid.cell_centers()[:, 0] < 12.0).reshape(grid.counts, order="F")
    m0 = grid.integrate(c)
    for i in range(100):
        rd.step(c, i * 0.5, 0.5)
    assert abs(grid.integrate(c) - m0) <= 1e-12 * m0
    # and the mass has actually moved: the field is no longer the initial step
    assert grid.view(c)[-1, 0] > 0.1


def test_crank_nicolson_keeps_a_sharp_front_with_uptake_non_negative():
    """A top hat at diffusion number ν = DΔtΣh⁻² = 100 overshoots below zero under
    Crank–Nicolson (to −3.3 within three steps, where Michaelis–Menten uptake turns into
    production); such steps are taken again as two backward-Euler half steps."""
    text = _strip(50, "D = 400.0\nuptake = { vmax = 0.05, km = 0.1 }", dt=1.0, scheme="crank_nicolson")
    cfg, grid, rd = _setup(text)
    c = grid.global_vec()
    x = grid.cell_centers()[:, 0]
    grid.view(c)[...] = np.where(np.abs(x - 50.0) < 10.0, 10.0, 0.0)
    lowest = []
    for i in range(20):
        rd.step(c, float(i), 1.0)
        lowest.append(grid.view(c).min())
    assert min(lowest) >= 0.0, lowest
    assert 0 < rd.fallbacks < 20  # the front steps fell back; once smooth, Crank–Nicolson again


@pytest.mark.parametrize("uptake", ["uptake = { vmax = 0.5, km = 1.0 }", ""])
def test_crank_nicolson_with_michaelis_menten_uptake_is_second_order(uptake):
    """Self-convergence in Δt on a fixed grid (the spatial error cancels): the uptake rate
    is taken at the extrapolated midpoint and weighted like the rest of the operator,
    so errors fall by 4 per halving (taken at cⁿ and fully implicit, by 2)."""
    D, L, n, t_end = 1.0, 10.0, 64, 1.0

    def solve(steps):
        dt = t_end / steps
        text = _strip(n, f"D = {D}\ndecay = 0.1\n{uptake}", length=L, dt=dt, scheme="crank_nicolson")
        cfg, grid, rd = _setup(text.replace("cells = [64]", 'cells = [64]\nperiodic = ["x"]'))
        c = grid.global_vec()
        x = grid.cell_centers()[:, 0]
        grid.view(c)[...] = 1.0 + np.cos(2 * math.pi * x / L)
        for i in range(steps):
            rd.step(c, i * dt, dt)
        return grid.view(c).copy()

    reference = solve(1280)
    errors = [np.abs(solve(steps) - reference).max() for steps in (10, 20, 40, 80)]
    ratios = [a / b for a, b in zip(errors, errors[1:])]
    assert all(abs(r - 4.0) < 0.6 for r in ratios), (ratios, errors)
