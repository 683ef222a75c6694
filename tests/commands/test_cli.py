"""The command line: version, help, check's derived scales and memory, every example valid, ssa."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

import hybridsim as package

ROOT = Path(__file__).resolve().parents[2]


def test_version_is_the_package_version(hybridsim_cli):
    result = hybridsim_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"hybridsim {package.__version__}"


@pytest.mark.parametrize("command", ["run", "check", "plot", "ssa"])
def test_every_subcommand_has_help(command, hybridsim_cli):
    result = hybridsim_cli(command, "--help")
    assert result.returncode == 0
    assert f"usage: hybridsim {command}" in result.stdout


def test_check_prints_decay_length_and_damkohler_number(tmp_path, hybridsim_cli):
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
    result = hybridsim_cli("check", str(cfg), "--ranks", "4")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.strip().startswith("morphogen"))
    ell = math.sqrt(250.0 / 0.04)
    numbers = [float(x) for x in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", row)]
    assert numbers[2] == pytest.approx(ell, rel=1e-3)  # ℓ = √(D/k) = 79.06 µm
    assert numbers[3] == pytest.approx((300.0 / ell) ** 2, rel=1e-3)  # Da = (L/ℓ)²
    assert numbers[4] == pytest.approx(300.0**2 / 250.0, rel=1e-3)  # L²/D
    assert "~300 cells and 300 unknowns per rank" in result.stdout  # 1200 cells on 4 ranks


def test_ssa_command_is_rank_independent_and_matches_the_python_api(tmp_path, mpirun):
    from hybridsim.agents import simulate_well_mixed

    network = ROOT / "examples" / "networks" / "two_stage.toml"
    outputs = []
    for n in (1, 2):
        out = tmp_path / f"ssa{n}.h5"
        result = mpirun.hybridsim(n, "ssa", str(network), "--cells", "3001", "--t-end", "20", "--dt-out", "7",
                           "--seed", "5", "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert "Fano" in result.stdout
        with h5py.File(out, "r") as f:
            outputs.append((f["time"][...], f["counts"][...], [s.decode() for s in f.attrs["species"]]))
    (t1, c1, s1), (t2, c2, s2) = outputs
    assert list(t1) == [0.0, 7.0, 14.0, 20.0] and s1 == ["M", "P"]
    assert (c1 == c2).all() and (t1 == t2).all()
    assert (c1 == simulate_well_mixed(str(network), 3001, t1, seed=5)).all()


def test_check_reports_memory_per_agent_within_target(tmp_path, hybridsim_cli):
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
    result = hybridsim_cli("check", str(cfg), "--ranks", "4")
    assert result.returncode == 0, result.stderr
    # id + position (3) + counts (4) + age + direction (3), 8 bytes each
    expected = 8 * (1 + 3 + 4 + 1 + 3)
    assert f"memory per agent: {expected} bytes" in result.stdout and expected <= 200
    assert "agents: 1000 initially (lattice)" in result.stdout
    assert "~250 agents" in result.stdout




EXAMPLES = ROOT / "examples"


@pytest.mark.parametrize("name", ["morphogen", "cytokine", "growth_inhibition", "calcium_strip", "cells",
                                  "gradient_fields", "spheroid", "monolayer"])
def test_every_example_is_valid(name):

    result = subprocess.run([sys.executable, "-m", "hybridsim", "check", str(EXAMPLES / f"{name}.toml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


@pytest.mark.parametrize("name", ["calcium_strip", "morphogen", "gradient_fields", "cytokine"])
def test_check_names_the_solver_the_run_uses(name, mpirun, hybridsim_cli, tmp_path):
    example = str(EXAMPLES / f"{name}.toml")
    for n in (1, 2, 3):
        run = mpirun.hybridsim(n, "run", example, "-o", str(tmp_path / f"out{n}"), "--steps", "1")
        assert run.returncode == 0, run.stderr
        used = dict(re.findall(r"^  species (\w+): (\w+) solver", run.stdout, re.M))
        check = hybridsim_cli("check", example, "--ranks", str(n))
        assert check.returncode == 0, check.stderr
        predicted = {s: check_line.split()[-1] for s in used
                     for check_line in check.stdout.splitlines() if check_line.split()[:1] == [s]}
        assert used and predicted == used, (n, used, check.stdout)


def test_ranks_print_nothing_but_rank_zero_lines_even_with_colorama_installed(tmp_path, mpirun):
    """numba colours its messages with colorama when it is installed, and colorama then
    writes a colour reset at every process's exit — on every rank, landing in batch logs
    in front of error lines. With colorama importable, a run on 4 ranks prints rank 0's
    lines only and no escape sequence."""
    env = {"PYTHONPATH": ":".join(filter(None, [str(Path(__file__).parent / "cases"),
                                                 os.environ.get("PYTHONPATH")]))}
    result = mpirun.hybridsim(4, "run", str(EXAMPLES / "cells.toml"), "-o", str(tmp_path / "out"), "--steps", "2",
                              env=env)
    bad = mpirun.hybridsim(4, "run", str(tmp_path / "absent.toml"), env=env)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout + result.stderr and result.stderr == ""
    assert result.stdout.count(f"hybridsim {package.__version__}:") == 1  # the banner, once
    assert bad.returncode == 2 and bad.stdout == "" and len(bad.stderr.splitlines()) == 1, bad.stderr
