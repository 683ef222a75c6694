"""Mechanics under MPI: the same displacement on 1, 2 and 4 ranks, continuation
from a checkpoint on another rank count, and bad material input refused in one
line on every rank before any solve."""

from pathlib import Path

import h5py
import numpy as np
import pytest

# a field from a source in a disc (non-uniform), per-region stiffness, a clamped face,
# a traction, isotropic or fibre active stress; tight tolerances for both solves
CONFIG = """
[domain]
size = {size}
cells = {cells}
[time]
dt = 1.0
t_end = 2.0
[solver]
rtol = 1e-12
[species.ca]
D = 40.0
decay = 0.05
[[species.ca.sources]]
rate = 2.0
region = {{ center = {centre}, radius = 15.0 }}
[mechanics]
E = {{ value = 1000.0, regions = [{{ center = {centre}, radius = 10.0, value = 3000.0 }}] }}
nu = 0.35
active = {{ field = "ca", alpha = 40.0{fibre} }}
boundary = {{ x_min = "clamped", y_max = {{ traction = {traction} }} }}
rtol = 1e-12
"""
CASES = {
    "2d": dict(size=[96.0, 64.0], cells=[48, 32], centre=[48.0, 32.0], fibre="", traction=[0.0, -2.0]),
    "3d": dict(size=[48.0, 32.0, 32.0], cells=[24, 16, 16], centre=[24.0, 16.0, 16.0],
               fibre=", fibre = [1.0, 1.0, 0.0]", traction=[0.0, -2.0, 0.0]),
}


def _displacement(out):
    with h5py.File(out / "mechanics.h5", "r") as f:
        last = sorted(f["steps"])[-1]
        return f["steps"][last]["displacement"][...]


@pytest.mark.mpi
@pytest.mark.parametrize("case", list(CASES))
def test_same_displacement_on_1_2_and_4_ranks(tmp_path, case, mpirun, written_on):
    cfg = tmp_path / "mech.toml"
    cfg.write_text(CONFIG.format(**CASES[case]))
    results = {}
    for n in (1, 2, 4):
        out = tmp_path / f"out{n}"
        run = mpirun.hybridsim(n, "run", str(cfg), "-o", str(out), "--quiet")
        assert run.returncode == 0, run.stderr
        assert written_on(out / "mechanics.h5") == {n}
        results[n] = _displacement(out)
    scale = np.abs(results[1]).max()
    assert scale > 0.1  # µm: a real deformation
    for n in (2, 4):
        assert np.abs(results[n] - results[1]).max() <= 1e-8 * scale, n


ADVECTED = CONFIG.format(**CASES["2d"]).replace("t_end = 2.0", "t_end = 6.0") + """
advect_agents = true
[checkpoint]
interval = 3.0
keep = 5
[network]
species = { P = 3 }
reactions = [{ products = { P = 1 }, rate = 1.0 }]
[agents]
initial = { count = 400 }
motility = { type = "brownian", diffusivity = 2.0 }
"""


def _checkpoint(out, step):
    with h5py.File(out / "checkpoints" / f"checkpoint-{step:010d}.h5", "r") as f:
        order = np.argsort(f["agents"]["ids"][...])
        return f["mechanics"]["displacement"][...], f["agents"]["position"][...][order]


@pytest.mark.mpi
@pytest.mark.parametrize("n", (1, 4))
def test_written_on_two_ranks_continued_on_n(tmp_path, n, mpirun):
    cfg = tmp_path / "advected.toml"
    cfg.write_text(ADVECTED)
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert mpirun.hybridsim(2, "run", str(cfg), "-o", str(whole), "--quiet").returncode == 0
    assert mpirun.hybridsim(2, "run", str(cfg), "-o", str(part), "--quiet", "--t-end", "3").returncode == 0
    result = mpirun.hybridsim(n, "run", str(cfg), "-o", str(part), "--restart", "latest")
    assert result.returncode == 0, result.stderr
    assert "restarted from" in result.stdout
    u_a, x_a = _checkpoint(whole, 6)
    u_b, x_b = _checkpoint(part, 6)
    assert np.abs(u_a - u_b).max() <= 1e-8 * np.abs(u_a).max()
    assert np.abs(x_a - x_b).max() <= 1e-8 * 96.0  # cells moved with the tissue alike


BAD = {
    "nu of one half": ("nu = 0.35", "nu = 0.5", "mechanics.nu must be < 0.5 for the compressible model (got 0.5)"),
    "non-positive E": ("value = 1000.0, regions", "value = -5.0, regions",
                       "mechanics.E.value must be > 0 Pa (got -5)"),
    "rigid-body motion left free": ('x_min = "clamped", ', 'x_min = "roller", ',
                                    "mechanics.boundary leaves rigid-body motion free (nothing holds the tissue "
                                    "along y)"),
    "unknown face kind": ('x_min = "clamped"', 'x_min = "glued"',
                          "mechanics.boundary.x_min must be one of 'free', 'clamped', 'roller', 'traction'"),
    "active field is not a species": ('field = "ca"', 'field = "calcium"',
                                      "mechanics.active.field names 'calcium', which is not a species"),
}


@pytest.mark.mpi
@pytest.mark.parametrize("case", list(BAD))
def test_bad_material_input_gives_one_line_before_any_solve(tmp_path, case, mpirun, one_error_line):
    old, new, expected = BAD[case]
    text = CONFIG.format(**CASES["2d"])
    assert old in text
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text.replace(old, new))
    out = tmp_path / "out"
    result = mpirun.hybridsim(2, "run", str(cfg), "-o", str(out))
    one_error_line(result, 2, expected)
    assert not Path(out).exists()  # refused before anything was written


@pytest.mark.mpi
def test_petsc_options_switch_the_mechanics_preconditioner(tmp_path, mpirun):
    """The default on a grid that halves is geometric multigrid; -mech_pc_type gamg (with the
    rigid-body modes) must work as well and give the same displacement."""
    cfg = tmp_path / "mech.toml"
    cfg.write_text(CONFIG.format(**CASES["2d"]))
    out = {}
    for label, extra in (("mg", []), ("gamg", ["-mech_pc_type", "gamg"])):
        run = mpirun.hybridsim(2, "run", str(cfg), "-o", str(tmp_path / label), *extra)
        assert run.returncode == 0, run.stderr
        assert ("geometric multigrid" if label == "mg" else "GAMG") in run.stdout
        out[label] = _displacement(tmp_path / label)
    assert np.abs(out["mg"] - out["gamg"]).max() <= 1e-8 * np.abs(out["mg"]).max()


SMALL = """
[domain]
size = {size}
cells = {cells}
[time]
dt = 1.0
t_end = 2.0
[species.ca]
D = 10.0
decay = 0.1
boundary = {{ x_min = {{ type = "dirichlet", value = 1.0 }} }}
[mechanics]
E = 1000.0
active = {{ field = "ca", alpha = 10.0 }}
boundary = {{ x_min = "clamped" }}
"""


@pytest.mark.mpi
@pytest.mark.parametrize("dim", [1, 3])
def test_mechanics_output_and_plots_in_1d_and_3d(tmp_path, dim, mpirun):
    import re

    size, cells = ([100.0], [32]) if dim == 1 else ([32.0] * 3, [16] * 3)
    cfg = tmp_path / "m.toml"
    cfg.write_text(SMALL.format(size=size, cells=cells))
    out = tmp_path / "out"
    run = mpirun.hybridsim(2, "run", str(cfg), "-o", str(out))
    assert run.returncode == 0, run.stderr
    plot = mpirun.hybridsim(1, "plot", str(out))
    assert plot.returncode == 0, plot.stderr
    for name in ("mechanics.png", "size_change.png"):
        assert (out / "plots" / name).is_file()
    with h5py.File(out / "mechanics.h5", "r") as f:
        step = f["steps"][sorted(f["steps"])[-1]]
        u = step["displacement"][...]
        assert u.shape == ((33, 3) if dim == 1 else (17, 17, 17, 3))  # ParaView's 3-component vectors
        assert step.attrs["relative_size_change"] < 0  # calcium contracts the tissue
        shapes = {name: step[name].shape for name in step}
    xdmf = (out / "mechanics.xdmf").read_text()
    items = re.findall(r'DataItem Dimensions="([\d ]+)"[^>]*Format="HDF">mechanics.h5:/steps/\d+/(\w+)<', xdmf)
    assert items and any(name == "displacement" for _, name in items)
    for dims, name in items:
        pad = 3 - dim  # XDMF dimensions (z, y, x) with the missing axes of length 1 first
        expected = (1,) * pad + shapes[name]
        assert tuple(int(v) for v in dims.split()) == expected, name
