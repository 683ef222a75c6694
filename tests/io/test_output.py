"""Run output: HDF5 in natural order with matching XDMF, parallel h5py under MPI, and the plots."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import h5py
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
            with h5py.File(out / file_name, "r") as f:
                assert tuple(int(d) for d in item.get("Dimensions").split()) == f[path].shape
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
