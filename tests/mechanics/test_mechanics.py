"""Tissue mechanics against closed forms (VALIDATION cases 13–14).

Active strip: E u' + α c = 0 with a free end gives ε = −α c/E and ΔL = −(α/E)∫c dx;
uniform active stress in a free body gives a uniform isotropic strain −α c/(d·K);
a manufactured solution gives second-order displacement error; multigrid keeps
the Krylov iterations bounded under refinement.
"""

from __future__ import annotations

import numpy as np
import pytest

from hybridsim.config import parse_config
from hybridsim.errors import InputError
from hybridsim.parallel.petsc import init

init([])

E, ALPHA = 2000.0, 30.0


def _lame(E, nu):
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


def _sim(text):
    from hybridsim.simulation import Simulation

    return Simulation(parse_config(text, "test"))


def _diffusing(size, cells, mechanics, *, steps=3):
    """A simulation whose field ``ca`` enters through the x = 0 face (Dirichlet 1) and
    decays, so after a few implicit steps it is non-uniform along x."""
    text = f"""
[domain]
size = {list(size)}
cells = {list(cells)}
[time]
dt = 2.0
t_end = {2.0 * steps}
[solver]
rtol = 1e-12
[species.ca]
D = 100.0
decay = 0.05
boundary = {{ x_min = {{ type = "dirichlet", value = 1.0 }} }}
[mechanics]
{mechanics}
rtol = 1e-12
"""
    sim = _sim(text)
    for _ in range(steps):
        sim.step()
    return sim


def _cell_field(sim, name="ca"):
    return sim.grid.view(sim.fields[name], readonly=True).ravel(order="F")


def test_active_strip_1d_strain_and_shortening():
    sim = _diffusing([200.0], [64], f'E = {E}\nactive = {{ field = "ca", alpha = {ALPHA} }}\n'
                     'boundary = { x_min = "clamped" }')
    c = _cell_field(sim)
    assert c.max() > 5 * c.min() > 0  # a real gradient, from the diffusion solve
    strain = sim.mechanics.strain()[:, 0, 0]
    np.testing.assert_allclose(strain, -ALPHA * c / E, rtol=1e-9, atol=1e-14)
    shortening, _ = sim.mechanics.size_change()
    expected = -ALPHA / E * sim.total("ca")  # −(α/E) ∫ c dx
    assert shortening == pytest.approx(expected, rel=1e-9)
    u_end = sim.mechanics.sample(np.array([[200.0]]))[0, 0]
    assert u_end == pytest.approx(expected, rel=1e-9)
    sim.destroy()


@pytest.mark.parametrize("model,nu", [("plane_strain", 0.0), ("plane_strain", 0.3), ("plane_stress", 0.3)])
def test_active_strip_2d_with_roller_sides(model, nu):
    """Rollers on y = 0 and y = H hold ε_yy = 0, so σ_xx = M ε_xx + α c = 0 with the
    constrained modulus M (= E when ν = 0)."""
    sim = _diffusing([200.0, 40.0], [64, 8],
                     f'E = {E}\nnu = {nu}\nmodel = "{model}"\nactive = {{ field = "ca", alpha = {ALPHA} }}\n'
                     'boundary = { x_min = "clamped", y_min = "roller", y_max = "roller" }')
    lam, mu = _lame(E, nu)
    if model == "plane_stress":
        lam = 2 * lam * mu / (lam + 2 * mu)
    M = lam + 2 * mu
    c = _cell_field(sim)
    eps = sim.mechanics.strain()
    np.testing.assert_allclose(eps[:, 0, 0], -ALPHA * c / M, rtol=1e-8, atol=1e-13)
    assert np.abs(eps[:, 1, 1]).max() < 1e-12 and np.abs(eps[:, 0, 1]).max() < 1e-12
    area_change, _ = sim.mechanics.size_change()
    assert area_change == pytest.approx(-ALPHA / M * sim.total("ca"), rel=1e-8)
    if nu == 0.0:
        np.testing.assert_allclose(eps[:, 0, 0], -ALPHA * c / E, rtol=1e-8, atol=1e-13)
    sim.destroy()


UNIFORM = """
[domain]
size = {size}
cells = {cells}
[time]
dt = 1.0
t_end = 1.0
[species.ca]
D = 1.0
initial = 0.8
[mechanics]
E = {E}
nu = 0.3
{extra}
rtol = 1e-12
"""


@pytest.mark.parametrize("dim", [2, 3])
def test_uniform_active_stress_contracts_isotropically(dim):
    size, cells = ([120.0, 80.0], [24, 16]) if dim == 2 else ([60.0, 40.0, 30.0], [12, 8, 6])
    faces = ", ".join(f'{a}_min = "roller"' for a in "xyz"[:dim])  # symmetry planes, other faces free
    sim = _sim(UNIFORM.format(size=size, cells=cells, E=E, extra=f'active = {{ field = "ca", alpha = {ALPHA} }}\n'
                              f"boundary = {{ {faces} }}"))
    lam, mu = _lame(E, 0.3)
    bulk_d = 2 * (lam + mu) if dim == 2 else 3 * lam + 2 * mu  # d·K (plane strain in 2D)
    e = -ALPHA * 0.8 / bulk_d
    eps = sim.mechanics.strain()
    np.testing.assert_allclose(eps, np.broadcast_to(e * np.eye(dim), eps.shape), atol=1e-10 * abs(e))
    _, relative = sim.mechanics.size_change()
    assert relative == pytest.approx(dim * e, rel=1e-9)
    # u = e·x at every vertex
    mech = sim.mechanics
    axes = [np.arange(s, s + n) * h for s, n, h in zip(mech.starts, mech.counts, sim.grid.spacing)]
    x = np.stack([m.ravel(order="F") for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    np.testing.assert_allclose(mech.nodal(), e * x, atol=1e-9 * abs(e) * max(size))
    sim.destroy()


def test_fibre_active_stress_gives_uniaxial_contraction_3d():
    """σ_act = α c e_x⊗e_x in a free body: uniaxial stress, ε_xx = −αc/E, ε_yy = ε_zz = ν αc/E."""
    sim = _sim(UNIFORM.format(size=[60.0, 40.0, 30.0], cells=[12, 8, 6], E=E,
                              extra=f'active = {{ field = "ca", alpha = {ALPHA}, fibre = [2.0, 0.0, 0.0] }}\n'
                              'boundary = { x_min = "roller", y_min = "roller", z_min = "roller" }'))
    s = ALPHA * 0.8 / E
    expected = np.diag([-s, 0.3 * s, 0.3 * s])
    eps = sim.mechanics.strain()
    np.testing.assert_allclose(eps, np.broadcast_to(expected, eps.shape), atol=1e-10 * s)
    sim.destroy()


def test_traction_on_a_bar_gives_hookes_law():
    """A 3D bar pulled by a traction T on x = L with symmetry rollers: ε_xx = T/E, ε_yy = −ν T/E."""
    T = 15.0
    faces = f'x_min = "roller", y_min = "roller", z_min = "roller", x_max = {{ traction = [{T}, 0, 0] }}'
    sim = _sim(UNIFORM.format(size=[60.0, 20.0, 20.0], cells=[12, 4, 4], E=E, extra=f"boundary = {{ {faces} }}"))
    eps = sim.mechanics.strain()
    np.testing.assert_allclose(eps, np.broadcast_to(np.diag([T / E, -0.3 * T / E, -0.3 * T / E]), eps.shape),
                               atol=1e-9 * T / E)
    stress = sim.mechanics.stress(eps)
    np.testing.assert_allclose(stress[:, 0, 0], T, rtol=1e-8)
    sim.destroy()


def _manufactured(n, nu=0.3):
    """Unit square, clamped, body force of u = (s, s)·U with s = sin πx sin πy: returns
    the largest nodal error relative to U and the iteration count."""
    from hybridsim.mechanics.elasticity import Elasticity
    from hybridsim.parallel.grid import Grid

    cfg = parse_config(f"""
[domain]
size = [1.0, 1.0]
cells = [{n}, {n}]
[time]
dt = 1.0
t_end = 1.0
[species.c]
D = 1.0
[mechanics]
E = {E}
nu = {nu}
rtol = 1e-12
boundary = {{ x_min = "clamped", x_max = "clamped", y_min = "clamped", y_max = "clamped" }}
""")
    grid = Grid(cfg.domain)
    mech = Elasticity(grid, cfg.mechanics)
    lam, mu = _lame(E, nu)
    U = 1e-3
    pi = np.pi

    def force(p):
        x, y = p[:, 0], p[:, 1]
        s = np.sin(pi * x) * np.sin(pi * y)
        cc = np.cos(pi * x) * np.cos(pi * y)
        # f = −[(λ+μ)∇(∇·u) + μΔu]: ∇(∇·u) = π²(cc − s)(1, 1), Δu = −2π² s (1, 1)
        f = U * (-(lam + mu) * pi**2 * (cc - s) + 2 * mu * pi**2 * s)
        return np.stack([f, f], axis=1)

    load = mech.body_force_load(force)
    mech.solve(None, extra_load=load)
    axes = [np.arange(s, s + c) / n for s, c in zip(mech.starts, mech.counts)]
    X, Y = (m.ravel(order="F") for m in np.meshgrid(*axes, indexing="ij"))
    exact = U * np.sin(pi * X) * np.sin(pi * Y)
    error = np.abs(mech.nodal() - exact[:, None]).max() / U
    its = mech.iterations
    load.destroy()
    mech.destroy()
    grid.destroy()
    return error, its


def test_manufactured_solution_converges_at_second_order():
    ns = [8, 16, 32, 64]
    errors = [_manufactured(n)[0] for n in ns]
    orders = np.diff(np.log(errors)) / np.diff(np.log(1.0 / np.array(ns)))
    assert errors[-1] < 2e-3
    assert np.all(orders > 1.85), (errors, orders)


def test_krylov_iterations_bounded_under_refinement():
    """GAMG with the rigid-body modes: 4× finer in each direction costs at most a few
    more iterations (not 4× as many, as an unpreconditioned or one-level method would)."""
    coarse = _manufactured(32)[1]
    fine = _manufactured(128)[1]
    assert fine <= 1.5 * coarse + 3, (coarse, fine)


def test_materials_per_region_carry_the_same_stress_in_series():
    """A 1D strip of two materials pulled by a traction: each strains by T/E_i."""
    T = 4.0
    sim = _sim(f"""
[domain]
size = [100.0]
cells = [40]
[time]
dt = 1.0
t_end = 1.0
[species.ca]
D = 1.0
[mechanics]
E = {{ value = 1000.0, regions = [{{ lower = [50.0], upper = [100.0], value = 4000.0 }}] }}
boundary = {{ x_min = "clamped", x_max = {{ traction = [{T}] }} }}
rtol = 1e-12
""")
    strain = sim.mechanics.strain()[:, 0, 0]
    x = sim.grid.cell_centers()[:, 0]
    np.testing.assert_allclose(strain, np.where(x < 50.0, T / 1000.0, T / 4000.0), rtol=1e-9)
    sim.destroy()


def test_cells_move_with_the_tissue():
    """No motility, a uniform contraction u = e·x with symmetry rollers at the origin:
    every cell ends at (1 + e)·x₀, whatever the number of solves."""
    from dataclasses import replace

    from hybridsim.simulation import Simulation

    text = UNIFORM.format(size=[120.0, 80.0], cells=[24, 16], E=E,
                          extra=f'active = {{ field = "ca", alpha = {ALPHA} }}\nadvect_agents = true\n'
                          'boundary = { x_min = "roller", y_min = "roller" }') + """
[network]
species = { P = 1 }
reactions = [{ products = { P = 1 }, rate = 0.0 }]
[agents]
initial = { count = 300 }
"""
    text = text.replace("t_end = 1.0", "t_end = 3.0")
    cfg = parse_config(text, "test")
    start = Simulation(replace(cfg, mechanics=None))  # the same placement, never moved by the tissue
    sim = Simulation(cfg)
    for _ in range(3):
        sim.step()
    lam, mu = _lame(E, 0.3)
    e = -ALPHA * 0.8 / (2 * (lam + mu))
    a, b = start.population.store, sim.population.store
    x0 = a.position[np.argsort(a.ids)]
    x = b.position[np.argsort(b.ids)]
    assert np.abs(x - x0).max() > 0.5  # they did move
    assert len(x) == 300
    np.testing.assert_allclose(x, (1 + e) * x0, rtol=1e-9)
    start.destroy()
    sim.destroy()


def _iterations_3d(n):
    from hybridsim.mechanics.elasticity import Elasticity
    from hybridsim.parallel.grid import Grid

    cfg = parse_config(UNIFORM.format(size=[1.0, 1.0, 1.0], cells=[n, n, n], E=E,
                                      extra='active = { field = "ca", alpha = 1.0 }\nboundary = { x_min = "clamped" }'))
    grid = Grid(cfg.domain)
    mech = Elasticity(grid, cfg.mechanics)
    r2 = ((grid.cell_centers() - 0.5) ** 2).sum(axis=1)
    mech.solve(np.exp(-r2 / 0.02))
    its = mech.iterations
    mech.destroy()
    grid.destroy()
    return its


def test_krylov_iterations_bounded_under_refinement_3d():
    coarse, fine = _iterations_3d(8), _iterations_3d(32)
    assert fine <= 1.5 * coarse + 3, (coarse, fine)


def test_geometric_multigrid_and_gamg_give_the_same_displacement():
    from hybridsim.mechanics.elasticity import Elasticity
    from hybridsim.parallel.grid import Grid

    text = UNIFORM.format(size=[64.0, 32.0], cells=[64, 32], E=E,
                          extra='active = { field = "ca", alpha = 1.0 }\nboundary = { x_min = "clamped" }')
    results = {}
    for solver in ("multigrid", "gamg"):
        cfg = parse_config(text + f'solver = "{solver}"\n')
        grid = Grid(cfg.domain)
        mech = Elasticity(grid, cfg.mechanics)
        assert mech.method == solver
        x = grid.cell_centers()
        mech.solve(np.exp(-((x - [32.0, 16.0]) ** 2).sum(axis=1) / 50.0))
        results[solver] = mech.nodal().copy()
        mech.destroy()
        grid.destroy()
    scale = np.abs(results["gamg"]).max()
    assert np.abs(results["multigrid"] - results["gamg"]).max() <= 1e-9 * scale


def test_multigrid_on_a_grid_that_does_not_halve_is_refused():
    from hybridsim.mechanics.elasticity import Elasticity
    from hybridsim.parallel.grid import Grid

    cfg = parse_config(UNIFORM.format(size=[15.0, 15.0], cells=[15, 15], E=E,
                                      extra='boundary = { x_min = "clamped" }\nsolver = "multigrid"'))
    grid = Grid(cfg.domain)
    with pytest.raises(InputError, match="mechanics.solver = 'multigrid' needs domain.cells divisible by 2"):
        Elasticity(grid, cfg.mechanics)
    grid.destroy()


def _divergence_free(n, nu, integration):
    """Unit square, clamped, u = ∇×ψ with ψ = (sin πx sin πy)² (zero on the walls, div u = 0),
    loaded by f = −μΔu: the solution exists as ν → ½, where full Q1 integration locks.
    Returns the largest nodal error relative to max|u| = π."""
    from hybridsim.mechanics.elasticity import Elasticity, lame
    from hybridsim.parallel.grid import Grid

    cfg = parse_config(f"""
[domain]
size = [1.0, 1.0]
cells = [{n}, {n}]
[time]
dt = 1.0
t_end = 1.0
[species.c]
D = 1.0
[mechanics]
E = {E}
nu = {nu}
rtol = 1e-12
max_iterations = 20000
integration = "{integration}"
boundary = {{ x_min = "clamped", x_max = "clamped", y_min = "clamped", y_max = "clamped" }}
""")
    grid = Grid(cfg.domain)
    mech = Elasticity(grid, cfg.mechanics)
    _, mu = lame(np.array(E), np.array(nu), "plane_strain")
    pi = np.pi

    def force(p):
        x, y = p[:, 0], p[:, 1]
        laplacian = np.stack([2 * pi**3 * np.sin(2 * pi * y) * (2 * np.cos(2 * pi * x) - 1),
                              -2 * pi**3 * np.sin(2 * pi * x) * (2 * np.cos(2 * pi * y) - 1)], axis=1)
        return -mu * laplacian

    load = mech.body_force_load(force)
    mech.solve(None, extra_load=load)
    axes = [np.arange(s, s + c) / n for s, c in zip(mech.starts, mech.counts)]
    X, Y = (m.ravel(order="F") for m in np.meshgrid(*axes, indexing="ij"))
    exact = np.stack([pi * np.sin(pi * X) ** 2 * np.sin(2 * pi * Y), -pi * np.sin(2 * pi * X) * np.sin(pi * Y) ** 2],
                     axis=1)
    error = np.abs(mech.nodal() - exact).max() / pi
    load.destroy()
    mech.destroy()
    grid.destroy()
    return error


def test_selective_integration_converges_at_second_order_when_nearly_incompressible():
    """ν = 0.499: selectively reduced integration converges at order 2 (errors 1.3e-2,
    3.3e-3, 8.4e-4), full integration locks (0.86, 0.62, 0.29: no convergence)."""
    ns = np.array([8, 16, 32])
    selective = np.array([_divergence_free(n, 0.499, "selective") for n in ns])
    orders = np.diff(np.log(selective)) / np.diff(np.log(1.0 / ns))
    assert np.all(orders > 1.85) and selective[-1] < 2e-3, (selective, orders)
    locked = _divergence_free(32, 0.499, "full")
    assert locked > 100 * selective[-1]
    # with ν far from ½ both integrations converge alike
    assert _divergence_free(32, 0.3, "selective") < 2 * _divergence_free(32, 0.3, "full") + 1e-3


def test_nearly_incompressible_full_integration_is_warned_about(tmp_path, hybridsim_cli):
    text = """
[domain]
size = [10.0, 10.0]
cells = [8, 8]
[time]
dt = 1.0
t_end = 1.0
[species.c]
D = 1.0
[mechanics]
E = 100.0
nu = 0.49
boundary = { x_min = "clamped" }
"""
    cfg = tmp_path / "soft.toml"
    cfg.write_text(text)
    check = hybridsim_cli("check", str(cfg))
    assert check.returncode == 0 and "warning: mechanics.nu reaches 0.49" in check.stdout, check.stdout
    cfg.write_text(text.replace("nu = 0.49", 'nu = 0.49\nintegration = "selective"'))
    check = hybridsim_cli("check", str(cfg))
    assert check.returncode == 0 and "warning" not in check.stdout and "selective integration" in check.stdout
