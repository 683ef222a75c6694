"""Run output: HDF5 in natural order with matching XDMF, parallel h5py under MPI, and the plots."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.mpi
def test_example_runs_on_two_ranks_and_writes_hdf5_with_matching_xdmf(tmp_path, mpirun):
    out = tmp_path / "out"
    result = mpirun.hybridsim(2, "run", str(ROOT / "examples" / "gradient_fields.toml"), "-o", str(out), "--t-end", "6")
    assert result.returncode == 0, result.stderr
    assert f"paraview {out / 'fields.xdmf'}" in result.stdout
    with h5py.File(out / "fields.h5", "r") as f:
        steps = sorted(f["steps"])
        times = [f["steps"][s].attrs["time"] for s in steps]
        assert times == pytest.approx([0.0, 3.0, 6.0])  # output.interval = 3 min
        shapes = {name: f["steps"][steps[-1]][name].shape for name in f["steps"][steps[-1]]}
        morphogen = f["steps"][steps[-1]]["morphogen"][...]
    assert shapes == {"morphogen": (128, 128), "inhibitor": (128, 128)}
    # natural order: x is the last axis, so the Dirichlet face x_min is column 0
    assert morphogen[:, 0].min() > morphogen[:, -1].max()
    tree = ET.parse(out / "fields.xdmf")
    grids = tree.findall(".//Grid[@GridType='Uniform']")
    assert len(grids) == len(steps)
    for grid, time in zip(grids, times):
        assert float(grid.find("Time").get("Value")) == pytest.approx(time)
        for item in grid.findall("Attribute/DataItem"):
            file_name, path = item.text.split(":")
            with h5py.File(out / file_name, "r") as f:  # (z, y, x): a 2D grid is one point thick in z
                assert tuple(int(d) for d in item.get("Dimensions").split()) == (1,) + f[path].shape
    plot = subprocess.run([sys.executable, "-m", "hybridsim", "plot", str(out)], capture_output=True,
                          text=True, timeout=120)
    assert plot.returncode == 0, plot.stderr
    assert (out / "plots" / f"morphogen_{steps[-1]}.png").stat().st_size > 1000


def test_h5py_has_mpi_support_under_mpi():
    code = "from hybridsim.io.hdf5 import h5py_module; print(h5py_module().get_config().mpi)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True", result.stderr


def test_plot_draws_agents_of_an_agent_only_run(tmp_path, mpirun, hybridsim_cli):
    out = tmp_path / "cells"
    cells = ROOT / "examples" / "cells.toml"
    result = mpirun.hybridsim(2, "run", str(cells), "-o", str(out), "--quiet", "--t-end", "20")
    assert result.returncode == 0, result.stderr
    result = hybridsim_cli("plot", str(out), "--color", "M")
    assert result.returncode == 0, result.stderr
    assert (out / "plots" / "agents.png").stat().st_size > 1000
    assert (out / "plots" / "agents_timeseries.png").is_file()
    assert not (out / "fields.h5").exists()
    result = hybridsim_cli("plot", str(out), "--color", "Q")
    assert result.returncode == 2 and "--color 'Q' is not a network species" in result.stderr


CASES = ROOT / "tests" / "coupling" / "cases"


@pytest.mark.mpi
def test_plot_overlays_cells_on_the_field_and_draws_the_field_integral(tmp_path, mpirun):
    import subprocess
    import sys


    out = tmp_path / "out"
    result = mpirun.hybridsim(2, "run", str(CASES / "closed_exchange.toml"), "-o", str(out), "--quiet", "--steps", "4")
    assert result.returncode == 0, result.stderr
    result = subprocess.run([sys.executable, "-m", "hybridsim", "plot", str(out), "--color", "S"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    written = result.stdout.split()
    assert any(p.endswith("ligand_000004.png") for p in written) and any("timeseries" in p for p in written)
    import h5py

    with h5py.File(out / "fields.h5", "r") as f:
        assert f.attrs["concentration_unit"] == "molecules/µm²"  # a 2D model


@pytest.mark.parametrize("dim, factor", [(2, 2.0), (3, 5.0 / 3.0)])
def test_the_colony_radius_of_a_uniform_disc_or_ball_is_its_radius(tmp_path, dim, factor):
    """R_g² of a uniform disc is R²/2, of a ball 3R²/5: growth_curve's colony radius
    recovers R within the sampling error of the cells' R_g (a few per mille here)."""
    from hybridsim.io.plot import front_speed, growth_curve

    rng = np.random.default_rng(3)
    path = tmp_path / "agents.h5"
    radii = (40.0, 70.0, 100.0)
    with h5py.File(path, "w") as f:
        for k, R in enumerate(radii):
            points = rng.normal(size=(20000, dim))
            points *= (R * rng.uniform(size=(20000, 1)) ** (1 / dim) / np.linalg.norm(points, axis=1)[:, None])
            g = f.create_group(f"steps/{k:06d}")
            g.attrs["time"] = 60.0 * k
            g["position"] = points + 500.0
    curve = growth_curve(path)
    assert np.allclose(curve["colony_radius"], radii, rtol=0.01)
    assert np.allclose(curve["colony_radius"], np.sqrt(factor) * curve["radius_of_gyration"])
    assert front_speed(curve["time"], curve["colony_radius"]) == pytest.approx(30.0 / 60.0, rel=0.03)


def test_plot_draws_bodies_as_discs_with_a_growth_curve(tmp_path, mpirun, hybridsim_cli):
    out = tmp_path / "bodies"
    result = mpirun.hybridsim(2, "run", str(CASES_BODIES / "bodies_spheroid.toml"), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    result = hybridsim_cli("plot", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "plots" / "agents.png").stat().st_size > 1000
    assert (out / "plots" / "growth.png").stat().st_size > 1000


CASES_BODIES = ROOT / "tests" / "coupling" / "cases"
