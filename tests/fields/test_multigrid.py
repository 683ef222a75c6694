"""Geometric multigrid of the fields with rediscretised coarse operators: each level's
operator against the finite-volume operator assembled independently on the coarse
grid, the same levels on 1 and 3 ranks (odd rank boundaries), Gershgorin's bound on
the smoothers' spectrum, CG's iterations against Galerkin's ``PᵀAP`` and across grid
sizes, and the coarse systems following a new Δt."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from hybridsim.config import parse_config
from hybridsim.fields.multigrid import LevelOperators, MultigridHierarchy, gershgorin_bound
from hybridsim.fields.operator import assemble_operator
from hybridsim.fields.reaction_diffusion import ReactionDiffusion
from hybridsim.parallel.grid import Grid

# layer boundaries at multiples of 4 cells, so D is constant inside every cell of the
# levels coarsened up to twice
CASES = {
    "2d-layered": """
[domain]
size = [64.0, 32.0]
cells = [32, 16]
periodic = ["y"]
[time]
dt = 0.01
t_end = 1.0
[solver]
method = "multigrid"
[species.c]
D = { value = 100.0, layers = { axis = "x", thickness = [16.0, 24.0], values = [20.0, 300.0] } }
decay = { value = 0.5, regions = [{ center = [8.0, 8.0], radius = 100.0, value = 2.0 }] }
boundary.x_min = { type = "dirichlet", value = 2.0 }
boundary.x_max = { type = "neumann", value = 0.1 }
""",
    "3d-tensor": """
[domain]
size = [16.0, 24.0, 32.0]
cells = [8, 12, 16]
[time]
dt = 0.01
t_end = 1.0
[solver]
method = "multigrid"
[species.c]
D = { tensor = [30.0, 50.0, 80.0] }
decay = 0.3
boundary.z_min = { type = "dirichlet", value = 1.0 }
boundary.y_max = { type = "dirichlet", value = 0.0 }
""",
}


def _dense(M) -> np.ndarray:
    """The rows of ``M`` on one rank as a dense array."""
    indptr, indices, values = M.getValuesCSR()
    n_rows, n_cols = M.getSize()
    out = np.zeros((n_rows, n_cols))
    for i in range(n_rows):
        out[i, indices[indptr[i]:indptr[i + 1]]] = values[indptr[i]:indptr[i + 1]]
    return out


def _coarse_config(config, r: int):
    domain = dataclasses.replace(config.domain, cells=tuple(n // r for n in config.domain.cells))
    return dataclasses.replace(config, domain=domain)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("k", [1, 2])
def test_a_level_is_the_coarse_grids_finite_volume_operator_at_galerkin_scale(case, k):
    config = parse_config(CASES[case])
    species = config.species[0]
    grid = Grid(config.domain)
    levels = LevelOperators(MultigridHierarchy(grid), species)
    ours = _dense(levels.operator(k))
    r = 2**k
    coarse_grid = Grid(_coarse_config(config, r).domain)
    L, b, _ = assemble_operator(coarse_grid, species)
    expected = r**grid.dim * _dense(L)
    assert ours.shape == expected.shape
    assert np.abs(ours - expected).max() <= 1e-12 * np.abs(expected).max()
    # and the system of a step: θ L_k + r^dim/Δt
    levels.set_system(0.5, 1.0 / 0.01)
    system = _dense(levels.systems(k)[k - 1])
    assert np.allclose(system, 0.5 * expected + r**grid.dim / 0.01 * np.eye(len(expected)), rtol=0, atol=1e-9)
    for obj in (levels, L, b):
        obj.destroy()


def test_walls_and_decay_are_what_make_a_level_differ_from_the_bare_laplacian():
    """The comparison above fails for a wrong wall or decay term: with both off the
    operator's rows sum to zero, with them on they do not."""
    config = parse_config(CASES["3d-tensor"])
    species = config.species[0]
    levels = LevelOperators(MultigridHierarchy(Grid(config.domain)), species)
    rows = _dense(levels.operator(1)).sum(axis=1)
    assert rows.min() >= 0.3 * 8 * (1 - 1e-12)  # at least the decay of the 8 fine cells
    assert rows.max() > 0.3 * 8 * 1.5  # the Dirichlet walls add to some rows
    levels.destroy()


def test_gershgorin_bounds_the_jacobi_scaled_spectrum_tightly():
    config = parse_config(CASES["2d-layered"])
    grid = Grid(config.domain)
    species = config.species[0]
    rd = ReactionDiffusion(grid, species, dt=0.01, scheme="backward_euler", solver=config.solver)
    bound = gershgorin_bound(rd.A)
    A = _dense(rd.A)
    d = np.sqrt(np.diag(A))
    largest = np.linalg.eigvalsh(A / d[:, None] / d[None, :]).max()
    assert largest <= bound
    assert bound <= 1.02 * largest
    rd.destroy()


def _iterations(text: str, cells, options: dict[str, str], steps: int = 3) -> tuple[list[int], np.ndarray]:
    from petsc4py import PETSc

    config = parse_config(text.replace("CELLS", str(list(cells))))
    grid = Grid(config.domain)
    db = PETSc.Options()
    for key, value in options.items():
        db[key] = value
    try:
        rd = ReactionDiffusion(grid, config.species[0], dt=config.time.dt, scheme="backward_euler",
                               solver=config.solver)
    finally:
        for key in options:
            db.delValue(key)
    c = grid.global_vec()
    x = grid.cell_centers()
    grid.view(c)[...] = np.exp(-((x - 0.3 * np.array(config.domain.size)) ** 2).sum(axis=1) / 50.0).reshape(
        grid.counts, order="F")
    its = []
    for n in range(steps):
        rd.step(c, n * config.time.dt, config.time.dt)
        its.append(rd.iterations)
    field = grid.view(c).copy()
    rd.destroy()
    c.destroy()
    return its, field


STIFF = """
[domain]
size = [64.0, 64.0]
cells = CELLS
[time]
dt = 1.0
t_end = 3.0
[solver]
method = "multigrid"
rtol = 1e-10
[species.c]
D = { value = 100.0, layers = { axis = "x", thickness = [16.0], values = [1.0] } }
decay = 0.01
boundary.y_min = { type = "dirichlet", value = 0.0 }
"""


def test_cg_needs_about_galerkins_iterations_and_as_many_on_a_finer_grid():
    ours, field = _iterations(STIFF, [64, 64], {})
    theirs, reference = _iterations(STIFF, [64, 64], {"rd_pc_mg_galerkin": "both"})
    finer, _ = _iterations(STIFF, [256, 256], {})
    assert max(ours) <= max(theirs) + 2, (ours, theirs)
    assert max(finer) <= max(ours) + 1, (finer, ours)
    assert np.abs(field - reference).max() <= 1e-7 * np.abs(reference).max()


def test_the_coarse_systems_follow_a_new_time_step():
    config = parse_config(CASES["2d-layered"])
    grid = Grid(config.domain)
    rd = ReactionDiffusion(grid, config.species[0], dt=0.01, scheme="crank_nicolson", solver=config.solver)
    c = grid.global_vec()
    c.set(1.0)
    rd.step(c, 0.0, 0.01)
    rd.step(c, 0.01, 0.03)
    for k, system in enumerate(rd.levels.systems(2), start=1):
        L = _dense(rd.levels.operator(k))
        expected = 0.5 * L + 4**k / 0.03 * np.eye(len(L))
        assert np.abs(_dense(system) - expected).max() <= 1e-12 * np.abs(expected).max()
    rd.destroy()
    c.destroy()


@pytest.mark.parametrize("n", [3])
def test_levels_and_both_prolongations_on_3_ranks_are_those_on_1(n, mpirun, tmp_path):
    script = Path(__file__).with_name("levels_check.py")
    one = mpirun(1, [str(script), str(tmp_path / "one.npz")])
    many = mpirun(n, [str(script), str(tmp_path / "many.npz")])
    assert one.returncode == 0 and many.returncode == 0, one.stderr + many.stderr
    a, b = np.load(tmp_path / "one.npz"), np.load(tmp_path / "many.npz")
    assert sorted(a.files) == sorted(b.files)
    for name in a.files:
        assert np.array_equal(a[name], b[name]), name
        if "shell" in name:  # the matrix-free prolongation is the assembled one, both ways
            assert a[name].all() and b[name].all(), name


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


COMBINED = """seed = 5
[domain]
size = [128.0, 128.0]
cells = [64, 64]
[time]
dt = 0.5
t_end = 4.0
[solver]
method = "multigrid"
rtol = 1e-12
[output]
interval = 0.5
[checkpoint]
interval = 2.0
keep = 5
[species.c]
D = { value = 200.0, layers = { axis = "y", thickness = [40.0], values = [50.0] } }
decay = 0.1
initial = { value = 0.2, regions = [{ lower = [0.0, 0.0], upper = [64.0, 128.0], value = 1.0 }] }
boundary.x_min = { type = "dirichlet", value = 1.0 }
[network]
species = { P = 20 }
reactions = [
  { name = "make", products = { P = 1 }, rate = 2.0 },
  { name = "secrete", reactants = { P = 1 }, rate = 0.5, secretes = { c = 1 } },
]
[agents]
initial = { count = 300 }
uptake = [{ field = "c", rate = 2.0 }]
[agents.division]
rate = 0.2
[agents.death]
rate = 0.1
"""


@pytest.mark.mpi
def test_multigrid_fields_with_cells_dividing_dying_taking_up_and_secreting_across_ranks_and_a_restart(
        tmp_path, mpirun):
    """A stiff field (ν = 50) solved by multigrid while cells take it up, secrete into it,
    divide and die: the same field on 1 and 3 ranks, and a run written on 3 ranks and
    continued from its checkpoint on 2 ends where the uninterrupted one does."""
    import h5py

    cfg = tmp_path / "combined.toml"
    cfg.write_text(COMBINED)

    def run(n, out, *extra):
        result = mpirun.hybridsim(n, "run", str(cfg), "-o", str(tmp_path / out), "--quiet", *extra)
        assert result.returncode == 0, result.stderr
        assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr
        with h5py.File(tmp_path / out / "fields.h5", "r") as f:
            return f["steps"][sorted(f["steps"])[-1]]["c"][...]

    one, three = run(1, "one"), run(3, "three")
    run(3, "part", "--t-end", "2")
    continued = run(2, "part", "--restart", "latest")
    scale = np.abs(one).max()
    assert scale > 0.1
    assert np.abs(three - one).max() <= 1e-8 * scale
    assert np.abs(continued - three).max() <= 1e-8 * scale


def _finest_smoother_view(rd, tmp_path) -> str:
    from petsc4py import PETSc

    pc = rd.ksp.getPC()
    path = tmp_path / "smoother.txt"
    viewer = PETSc.Viewer().createASCII(str(path), comm=PETSc.COMM_SELF)
    pc.getMGSmoother(pc.getMGLevels() - 1).view(viewer)
    viewer.destroy()
    return path.read_text()


@pytest.mark.parametrize("options, ours", [
    ({}, True),
    # another species' options do not reach this one
    ({"rd_other_pc_mg_galerkin": "both", "rd_other_mg_levels_ksp_chebyshev_esteig": "0,0.1,0,1.1"}, True),
    ({"rd_c_mg_levels_ksp_chebyshev_esteig": "0,0.1,0,1.1"}, False),  # the species' own: PETSc estimates
    ({"rd_mg_levels_ksp_chebyshev_esteig": "0,0.1,0,1.1"}, False),  # every species'
], ids=["defaults", "other-species", "own", "all-species"])
def test_smoothers_target_gershgorins_interval_unless_options_say_otherwise(options, ours, tmp_path):
    from petsc4py import PETSc

    config = parse_config(STIFF.replace("CELLS", "[64, 64]"))
    grid = Grid(config.domain)
    db = PETSc.Options()
    for key, value in options.items():
        db[key] = value
    try:
        rd = ReactionDiffusion(grid, config.species[0], dt=config.time.dt, scheme="backward_euler",
                               solver=config.solver)
    finally:
        for key in options:
            db.delValue(key)
    text = _finest_smoother_view(rd, tmp_path)
    bound = gershgorin_bound(rd.A)
    if ours:
        assert f"eigenvalue targets used: min {0.2 * bound:g}, max {1.1 * bound:g}" in text, text
        assert "estimat" not in text.lower(), text
        assert rd.ksp.getPC().getMGInterpolation(1).getType() == "python"  # rediscretised path
    else:
        assert "estimat" in text.lower(), text
    rd.destroy()
