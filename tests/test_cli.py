"""The command line: version, help, check's derived scales, a run's output files."""

import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import h5py
import pytest
from mpi import hybridsim

import hybridsim as package

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hybridsim", *args], capture_output=True, text=True,
                          timeout=120)


def test_version_is_the_package_version():
    result = _cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"hybridsim {package.__version__}"


@pytest.mark.parametrize("command", ["run", "check", "plot", "ssa"])
def test_every_subcommand_has_help(command):
    result = _cli(command, "--help")
    assert result.returncode == 0
    assert f"usage: hybridsim {command}" in result.stdout


def test_check_prints_decay_length_and_damkohler_number(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("""
[domain]
size = [300.0, 100.0]
cells = [60, 20]
[time]
dt = 0.5
t_end = 10.0
[species.morphogen]
D = 250.0
decay = 0.04
""")
    result = _cli("check", str(cfg), "--ranks", "4")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.strip().startswith("morphogen"))
    ell = math.sqrt(250.0 / 0.04)
    numbers = [float(x) for x in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", row)]
    assert numbers[2] == pytest.approx(ell, rel=1e-3)  # ℓ = √(D/k) = 79.06 µm
    assert numbers[3] == pytest.approx((300.0 / ell) ** 2, rel=1e-3)  # Da = (L/ℓ)²
    assert numbers[4] == pytest.approx(300.0**2 / 250.0, rel=1e-3)  # L²/D
    assert "~300 cells and 300 unknowns per rank" in result.stdout  # 1200 cells on 4 ranks


@pytest.mark.mpi
def test_example_runs_on_two_ranks_and_writes_hdf5_with_matching_xdmf(tmp_path):
    out = tmp_path / "out"
    result = hybridsim(2, "run", str(ROOT / "examples" / "gradient_fields.toml"), "-o", str(out), "--t-end", "6")
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


def test_no_petsc4py_name_removed_in_newer_releases_is_used():
    # DMDA.createMatrix is gone in petsc4py ≥ 3.2x, setDMActive changed signature and
    # getVecArray warns under numpy 2: only the compatibility module may touch them
    removed = re.compile(r"\.(createMatrix|getVecArray|setDMActive)\(")
    offenders = [str(p) for p in (ROOT / "hybridsim").rglob("*.py")
                 if p.name != "petsc.py" and removed.search(p.read_text())]
    assert offenders == []


def test_ssa_command_is_rank_independent_and_matches_the_python_api(tmp_path):
    from hybridsim.agents import simulate_well_mixed

    network = ROOT / "examples" / "networks" / "two_stage.toml"
    outputs = []
    for n in (1, 2):
        out = tmp_path / f"ssa{n}.h5"
        result = hybridsim(n, "ssa", str(network), "--cells", "3001", "--t-end", "20", "--dt-out", "7",
                           "--seed", "5", "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert "Fano" in result.stdout
        with h5py.File(out, "r") as f:
            outputs.append((f["time"][...], f["counts"][...], [s.decode() for s in f.attrs["species"]]))
    (t1, c1, s1), (t2, c2, s2) = outputs
    assert list(t1) == [0.0, 7.0, 14.0, 20.0] and s1 == ["M", "P"]
    assert (c1 == c2).all() and (t1 == t2).all()
    assert (c1 == simulate_well_mixed(str(network), 3001, t1, seed=5)).all()


def test_check_reports_memory_per_agent_within_target(tmp_path):
    cfg = tmp_path / "a.toml"
    cfg.write_text("""
[domain]
size = [100.0, 100.0, 100.0]
cells = [10, 10, 10]
[time]
dt = 1.0
t_end = 10.0
[network]
species = { A = 1, B = 2, C = 3, D = 4 }
reactions = [{ reactants = { A = 1 }, products = { B = 1 }, rate = 1.0 }]
[agents]
initial = { lattice = { spacing = 10.0 } }
motility = { type = "persistent", speed = 1.0, persistence = 2.0 }
""")
    result = _cli("check", str(cfg), "--ranks", "4")
    assert result.returncode == 0, result.stderr
    # id + position (3) + counts (4) + age + direction (3), 8 bytes each
    expected = 8 * (1 + 3 + 4 + 1 + 3)
    assert f"memory per agent: {expected} bytes" in result.stdout and expected <= 200
    assert "agents: 1000 initially (lattice)" in result.stdout
    assert "~250 agents" in result.stdout


def test_plot_draws_agents_of_an_agent_only_run(tmp_path):
    out = tmp_path / "cells"
    result = hybridsim(2, "run", str(ROOT / "examples" / "cells.toml"), "-o", str(out), "--quiet", "--t-end", "20")
    assert result.returncode == 0, result.stderr
    result = _cli("plot", str(out), "--color", "M")
    assert result.returncode == 0, result.stderr
    assert (out / "plots" / "agents.png").stat().st_size > 1000
    assert (out / "plots" / "agents_timeseries.png").is_file()
    assert not (out / "fields.h5").exists()
    result = _cli("plot", str(out), "--color", "Q")
    assert result.returncode == 2 and "--color 'Q' is not a network species" in result.stderr
