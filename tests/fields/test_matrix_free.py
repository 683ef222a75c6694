"""The matrix-free Jacobi–Chebyshev solver (``solver.method = "chebyshev"``, what
``auto`` picks for ν ≤ 2) against PETSc's CG with Jacobi on the same systems —
non-uniform D, Dirichlet and Neumann walls, periodic axes, decay, Michaelis–Menten
uptake, cells' uptake, Crank–Nicolson, odd grids in 1D, 2D and 3D — its mass balance,
its independence of the rank count, and its errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from hybridsim.config import parse_config
from hybridsim.fields.reaction_diffusion import ReactionDiffusion
from hybridsim.parallel.grid import Grid

LAYERED_2D = """
[domain]
size = [66.0, 42.0]
cells = [33, 21]
periodic = ["y"]
[time]
dt = 0.002
t_end = 1.0
scheme = "SCHEME"
[solver]
method = "METHOD"
rtol = 1e-12
[species.c]
D = { value = 100.0, layers = { axis = "x", thickness = [10.0, 15.0], values = [50.0, 200.0] } }
decay = 0.05
uptake = { vmax = 0.2, km = 1.0 }
initial = { value = 0.5, regions = [{ center = [20.0, 20.0], radius = 9.0, value = 5.0 }] }
boundary.x_min = { type = "dirichlet", value = 2.0 }
boundary.x_max = { type = "neumann", value = 0.1 }
[[species.c.sources]]
rate = { t = [0.0, 0.05], value = [3.0, 0.0] }
region = { center = [40.0, 20.0], radius = 8.0 }
"""
UNIFORM_3D = """
[domain]
size = [26.0, 22.0, 18.0]
cells = [13, 11, 9]
[time]
dt = 0.004
t_end = 1.0
scheme = "SCHEME"
[solver]
method = "METHOD"
rtol = 1e-12
[species.c]
D = 40.0
decay = 0.1
initial = { value = 0.0, regions = [{ center = [8.0, 8.0, 8.0], radius = 5.0, value = 3.0 }] }
boundary.z_min = { type = "dirichlet", value = 1.0 }
[[species.c.sources]]
rate = 0.5
region = { center = [18.0, 12.0, 9.0], radius = 4.0 }
"""
STRIP_1D = """
[domain]
size = [74.0]
cells = [37]
periodic = ["x"]
[time]
dt = 0.01
t_end = 1.0
scheme = "SCHEME"
[solver]
method = "METHOD"
rtol = 1e-12
[species.c]
D = { value = 20.0, regions = [{ center = [30.0], radius = 10.0, value = 80.0 }] }
initial = { value = 1.0, regions = [{ center = [10.0], radius = 6.0, value = 7.0 }] }
"""
CASES = {"layered-2d": LAYERED_2D, "uniform-3d": UNIFORM_3D, "periodic-1d": STRIP_1D}


def _advance(text: str, method: str, scheme: str, steps: int, cells_uptake: bool):
    cfg = parse_config(text.replace("METHOD", method).replace("SCHEME", scheme))
    grid = Grid(cfg.domain)
    species = cfg.species[0]
    rd = ReactionDiffusion(grid, species, dt=cfg.time.dt, scheme=cfg.time.scheme, solver=cfg.solver,
                           agent_uptake=cells_uptake)
    c = grid.global_vec()
    from hybridsim.geometry import evaluate

    grid.view(c)[...] = evaluate(species.initial, grid.cell_centers()).reshape(grid.counts, order="F")
    rate = None
    if cells_uptake:  # a fixed clearance by cells in every other grid cell (1/min)
        rate = grid.global_vec()
        grid.view(rate)[...] = (np.arange(grid.n_local) % 2 * 3.0).reshape(grid.counts, order="F")
    residual = grid.global_vec()
    balance = []
    for k in range(steps):
        rd.step(c, k * cfg.time.dt, cfg.time.dt, agent_rate=rate)
        rd.A.mult(c, residual)
        residual.aypx(-1.0, rd._rhs)  # rhs − A c: sums to 0 when the step conserves mass
        balance.append(abs(residual.sum()) / rd._rhs.norm(1))
    return grid.view(c).copy(), rd, max(balance)


@pytest.mark.parametrize("scheme", ["backward_euler", "crank_nicolson"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_matrix_free_solver_gives_petsc_cgs_solution(case, scheme):
    cells_uptake = case != "periodic-1d"
    ours, rd, balance = _advance(CASES[case], "chebyshev", scheme, 25, cells_uptake)
    theirs, petsc, _ = _advance(CASES[case], "jacobi", scheme, 25, cells_uptake)
    assert rd.method == "chebyshev" and rd.matrix_free is not None and rd.total_iterations >= 25
    assert petsc.method == "jacobi" and petsc.matrix_free is None
    assert np.abs(ours - theirs).max() <= 1e-9 * np.abs(theirs).max()
    assert balance <= 1e-13  # the fused balance correction: Σ(rhs − A c) = 0 to round-off
    assert np.abs(ours - ours.flat[0]).max() > 1e-3  # the field is not trivially uniform


def test_auto_picks_it_for_small_diffusion_numbers_unless_petsc_options_ask_for_cg(monkeypatch):
    from hybridsim.config import Solver
    from hybridsim.fields import solvers

    assert solvers.resolve_method(Solver(), (64, 64), (1, 1), 0.5) == "chebyshev"
    assert solvers.resolve_method(Solver(), (64, 64), (1, 1), 50.0) == "multigrid"
    monkeypatch.setattr(solvers, "_petsc_solver_options", lambda prefix: prefix == "rd_c_")
    assert solvers.resolve_method(Solver(), (64, 64), (1, 1), 0.5, "rd_c_") == "jacobi"
    assert solvers.resolve_method(Solver(), (64, 64), (1, 1), 0.5, "rd_other_") == "chebyshev"


RANKS = (1, 2, 3, 4)


def _run(mpirun, tmp_path, n, text, *extra):
    cfg = tmp_path / "case.toml"
    cfg.write_text(text)
    out = tmp_path / f"out{n}"
    result = mpirun.hybridsim(n, "run", str(cfg), "-o", str(out), "--quiet", *extra)
    assert result.returncode == 0, result.stderr
    return out / "fields.h5"


def _final(path):
    with h5py.File(path, "r") as f:
        steps = sorted(f["steps"])
        return f["steps"][steps[-1]]["c"][...], len(steps)


@pytest.mark.mpi
@pytest.mark.parametrize("case", ["layered-2d", "uniform-3d"])
def test_the_same_field_on_1_2_3_and_4_ranks(tmp_path, case, mpirun):
    text = CASES[case].replace("METHOD", "chebyshev").replace("SCHEME", "crank_nicolson")
    text = text.replace("t_end = 1.0", "t_end = 0.2")
    finals = {n: _final(_run(mpirun, tmp_path, n, text))[0] for n in RANKS}
    reference = finals[1]
    for n in RANKS[1:]:
        # pointwise the iterates are the same; only the balance's global sums round differently
        assert np.abs(finals[n] - reference).max() <= 1e-13 * np.abs(reference).max(), n


CLOSED = """
[domain]
size = [62.0, 46.0]
cells = [31, 23]
[time]
dt = 0.01
t_end = 1.0
[output]
interval = 0.01
[solver]
method = "chebyshev"
[species.c]
D = { value = 40.0, regions = [{ center = [20.0, 20.0], radius = 10.0, value = 160.0 }] }
initial = { value = 0.5, regions = [{ lower = [0.0, 0.0], upper = [16.0, 46.0], value = 6.0 }] }
"""


@pytest.mark.mpi
@pytest.mark.parametrize("n", (1, 3))
def test_closed_walls_conserve_mass_to_round_off(tmp_path, n, mpirun):
    path = _run(mpirun, tmp_path, n, CLOSED)
    with h5py.File(path, "r") as f:
        steps = sorted(f["steps"])
        totals = np.array([f["steps"][s]["c"][...].sum() for s in steps])
        first, last = f["steps"][steps[0]]["c"][...], f["steps"][steps[-1]]["c"][...]
    assert len(steps) == 101
    assert np.abs(totals - totals[0]).max() <= 1e-12 * totals[0]
    assert np.abs(last - first).max() > 0.5  # mass moved


@pytest.mark.mpi
def test_a_solve_out_of_iterations_stops_every_rank_in_one_line(tmp_path, mpirun):
    text = CLOSED.replace('method = "chebyshev"', 'method = "chebyshev"\nrtol = 1e-14\nmax_iterations = 1')
    cfg = tmp_path / "case.toml"
    cfg.write_text(text)
    result = mpirun.hybridsim(3, "run", str(cfg), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 3, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: the reaction–diffusion solve of species 'c' failed at t = 0.01 min")
    assert "DIVERGED_MAX_IT after 1 iterations (raise solver.max_iterations or loosen solver.rtol)" in lines[0]
