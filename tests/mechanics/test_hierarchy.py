"""The rediscretised multigrid levels of the elasticity operator: with uniform
materials a coarse operator is the Galerkin product PᵀAP of the finer one (nested Q1
spaces) wherever the faces do not hold the displacement, the interpolation neither
reads nor writes held components, and CG needs as few iterations as with PETSc's
Galerkin coarse operators (-mech_pc_mg_galerkin both)."""

from __future__ import annotations

import numpy as np
import pytest

from hybridsim.config import parse_config
from hybridsim.mechanics.assembly import fixed_rows
from hybridsim.mechanics.elasticity import Elasticity
from hybridsim.parallel.grid import Grid
from hybridsim.parallel.petsc import get_petsc

CONFIG = """
[domain]
size = {size}
cells = {cells}
[time]
dt = 1.0
t_end = 1.0
[species.ca]
D = 1.0
[mechanics]
model = "{model}"
E = {E}
nu = 0.3
active = {{ field = "ca", alpha = 50.0 }}
boundary = {{ x_min = "clamped", y_min = "roller" }}
"""
UNIFORM = {"2d": dict(size=[24.0, 16.0], cells=[12, 8], model="plane_strain", E=1000.0),
           "3d": dict(size=[16.0, 8.0, 8.0], cells=[8, 4, 4], model="solid", E=1000.0)}


def _dense(M) -> np.ndarray:
    return M.convert("dense").getDenseArray().copy()


@pytest.mark.parametrize("case", list(UNIFORM))
def test_a_coarse_operator_is_the_galerkin_product_of_the_finer_one(case):
    cfg = parse_config(CONFIG.format(**UNIFORM[case]))
    mech = Elasticity(Grid(cfg.domain), cfg.mechanics)
    hierarchy = mech.hierarchy
    while len(hierarchy.das) < 2:
        hierarchy._coarsen()
    P = _dense(hierarchy.interpolations[0])
    fine, coarse = _dense(hierarchy.operators[0]), _dense(hierarchy.operators[1])
    coarse_cells = tuple(c // 2 for c in cfg.domain.cells)
    held_fine = fixed_rows(hierarchy.das[0], cfg.domain.cells, cfg.mechanics.boundary)
    held = fixed_rows(hierarchy.das[1], coarse_cells, cfg.mechanics.boundary)
    assert len(held) > 0 and len(held_fine) > 0
    assert not P[held_fine].any() and not P[:, held].any()  # no interpolation into or from held components
    free = np.setdiff1d(np.arange(coarse.shape[0]), held)
    galerkin = P.T @ fine @ P
    scale = np.abs(coarse).max()
    assert np.abs(galerkin[np.ix_(free, free)] - coarse[np.ix_(free, free)]).max() <= 1e-12 * scale
    assert np.allclose(coarse[held][:, held], np.eye(len(held)))
    mech.destroy()


def _finest_smoother_view(mech) -> str:
    import tempfile

    PETSc = get_petsc()
    pc = mech.ksp.getPC()
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/smoother.txt"
        viewer = PETSc.Viewer().createASCII(path, comm=PETSc.COMM_SELF)
        pc.getMGSmoother(pc.getMGLevels() - 1).view(viewer)
        viewer.destroy()
        with open(path) as f:
            return f.read()


def _iterations(case: dict, galerkin: bool, estimated: bool = False, views: list | None = None
                ) -> tuple[int, np.ndarray]:
    PETSc = get_petsc()
    options = PETSc.Options()
    if galerkin:
        options["mech_pc_mg_galerkin"] = "both"
    if estimated:  # PETSc's own estimate on every level (its defaults, given as an option)
        options["mech_mg_levels_ksp_chebyshev_esteig"] = "0,0.1,0,1.1"
    try:
        cfg = parse_config(CONFIG.format(**case))
        grid = Grid(cfg.domain)
        mech = Elasticity(grid, cfg.mechanics)
        centres = grid.cell_centers()
        c = np.exp(-((centres - centres.mean(axis=0)) ** 2).sum(axis=1) / 50.0)
        u = mech.solve(c)
        result = mech.ksp.getIterationNumber(), mech.natural_array(u).copy()
        if views is not None:
            views.append(_finest_smoother_view(mech))
        assert mech.method == "multigrid" and mech.ksp.getPC().getMGLevels() >= 3
        mech.destroy()
        return result
    finally:
        options.delValue("mech_pc_mg_galerkin")
        options.delValue("mech_mg_levels_ksp_chebyshev_esteig")


@pytest.mark.parametrize("E", [1000.0, "{ value = 1000.0, layers = { axis = \"x\", thickness = [20.0, 44.0], "
                                        "values = [300.0, 3000.0] } }"], ids=["uniform", "layered"])
def test_cg_needs_as_few_iterations_as_with_galerkin_coarse_operators(E):
    case = dict(size=[64.0, 64.0], cells=[64, 64], model="plane_strain", E=E)
    ours, u = _iterations(case, galerkin=False)
    theirs, v = _iterations(case, galerkin=True)
    assert ours <= theirs + 2, (ours, theirs)
    assert np.abs(u - v).max() <= 1e-6 * np.abs(v).max()


@pytest.mark.parametrize("case", [dict(size=[64.0, 64.0], cells=[64, 64], model="plane_strain", E=1000.0),
                                  dict(size=[32.0, 32.0, 32.0], cells=[32, 32, 32], model="solid",
                                       E="{ value = 1000.0, layers = { axis = \"z\", thickness = [10.0], "
                                         "values = [100.0] } }")], ids=["2d", "3d-layered"])
def test_the_fine_smoothers_interval_from_the_level_below_costs_no_iteration(case):
    """The finest smoother's Chebyshev interval is taken from 12 Lanczos steps on the
    level below instead of PETSc's estimate on the fine operator: CG needs the same
    iterations and reaches the same displacement."""
    views = []
    ours, u = _iterations(case, galerkin=False, views=views)
    theirs, v = _iterations(case, galerkin=False, estimated=True, views=views)
    assert "estimat" not in views[0].lower() and "estimat" in views[1].lower(), views  # the option reaches it
    assert ours <= theirs, (ours, theirs)
    assert np.abs(u - v).max() <= 1e-6 * np.abs(v).max()
