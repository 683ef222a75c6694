"""hybridsim analyze on model files: every tool runs, and bad input gives one line."""

from __future__ import annotations

import numpy as np
import pytest

LENS_CONFIG = """
[domain]
size = [200.0, 100.0]
cells = [40, 20]
[time]
dt = 1.0
t_end = 10.0
[species.cytokine]
D = 100.0
decay = 0.25
[network]
species = { P = 100 }
reactions = [
  { name = "secretion", reactants = { P = 1 }, products = { P = 1 }, rate = 0.03, secretes = { cytokine = 2 } },
  { name = "turnover", reactants = { P = 1 }, rate = 0.1 },
  { name = "synthesis", products = { P = 1 }, rate = 10.0 }]
[agents]
diameter = 8.0
initial = { count = 500 }
"""


BINDING_TOML = """
[species]
L = 50
R = 20
C = 0
[[reactions]]
name = "k_on"
reactants = { L = 1, R = 1 }
products = { C = 1 }
rate = 0.01
[[reactions]]
name = "k_off"
reactants = { C = 1 }
products = { L = 1, R = 1 }
rate = 0.2
"""


GROWTH_TOML = "\n".join(
    ["[species]", "L = 10", "R = 20", "C = 0", "X = 100"]
    + [f'[[reactions]]\nname = "{n}"\n{body}' for n, body in [
        ("binding", 'reactants = { L = 1, R = 1 }\nproducts = { C = 1 }\nrate = 500.0'),
        ("unbinding", 'reactants = { C = 1 }\nproducts = { L = 1, R = 1 }\nrate = 2000.0'),
        ("supply", 'products = { L = 1 }\nrate = 1.0'),
        ("decay", 'reactants = { L = 1 }\nrate = 0.05'),
        ("growth", 'reactants = { X = 1 }\nproducts = { X = 2 }\nrate = 0.1'),
        ("inhibition", 'reactants = { C = 1, X = 1 }\nproducts = { C = 1 }\nrate = 0.01')]]) + "\n"


def test_analyze_commands(tmp_path, one_error_line, hybridsim_cli):

    net = tmp_path / "binding.toml"
    net.write_text(BINDING_TOML)
    doses = ["--experiment", "L=5", "--experiment", "L=50", "--experiment", "L=200"]
    steady = hybridsim_cli("analyze", "identifiability", str(net), "--parameters", "k_on,k_off", "--observe", "C",
                  "--times", "steady", *doses, "--noise-abs", "0.5")
    assert steady.returncode == 0, steady.stderr
    assert "rank 1 of 2" in steady.stdout and "identifiable: k_on^1 · k_off^-1" in steady.stdout
    transient = hybridsim_cli("analyze", "identifiability", str(net), "--parameters", "k_on,k_off", "--observe", "C",
                     "--times", "0.5,1,2,5", *doses, "--noise-abs", "0.5")
    assert "rank 2 of 2" in transient.stdout and "s.d. of log k_off ≥" in transient.stdout
    cfg = tmp_path / "lens.toml"
    cfg.write_text(LENS_CONFIG)
    lens = hybridsim_cli("analyze", "lens", str(cfg))
    assert lens.returncode == 0, lens.stderr
    assert "P " in lens.stdout and "tau-leaping" in lens.stdout and "cells as a continuum" in lens.stdout
    growth = tmp_path / "growth.toml"
    growth.write_text(GROWTH_TOML)
    qssa = hybridsim_cli("analyze", "qssa", str(growth), "--t-end", "20")
    assert qssa.returncode == 0, qssa.stderr
    assert "fast reactions: binding, unbinding" in qssa.stdout and "slow variables" in qssa.stdout
    assert "L + C; R + C; X" in qssa.stdout
    worst = qssa.stdout.split("largest difference")[1]
    assert max(float(w.split()[-1]) for w in worst.split(":")[1].split(",")) < 1e-4  # ε ≈ 5e-6
    single = hybridsim_cli("analyze", "qssa", str(net), "--t-end", "5")
    one_error_line(single, 2, "nothing to separate")


def test_analyze_noise_on_run_output(tmp_path, hybridsim_cli):
    from hybridsim.config import parse_config
    from hybridsim.io.output import RunOutput
    from hybridsim.simulation import Simulation

    text = """
[domain]
size = [100.0, 100.0]
cells = [10, 10]
[time]
dt = 0.5
t_end = 40.0
[network]
species = { X = 40 }
reactions = [{ products = { X = 1 }, rate = 20.0 }, { reactants = { X = 1 }, rate = 0.5 }]
[agents]
initial = { count = 400 }
[output]
interval = 0.5
"""
    sim = Simulation(parse_config(text))
    out = RunOutput(sim, tmp_path / "run", [])
    sim.run(out)
    out.close()
    sim.destroy()
    result = hybridsim_cli("analyze", "noise", str(tmp_path / "run"), "--species", "X", "--after", "10")
    assert result.returncode == 0, result.stderr
    assert "correlation time" in result.stdout and (tmp_path / "run" / "plots" / "noise_X.png").is_file()
    last = [line for line in result.stdout.splitlines() if line.strip().startswith("40 ")][0]
    fano = float(last.split()[3])
    assert abs(fano - 1.0) < 4 * np.sqrt(2 / 400)  # Poisson across 400 cells


BAD_ANALYSIS = {
    "unknown parameter": (["identifiability", "{net}", "--parameters", "k_in", "--observe", "C", "--times", "1"],
                          "no reaction named 'k_in'"),
    "unknown species": (["identifiability", "{net}", "--parameters", "k_on", "--observe", "D", "--times", "1"],
                        "cannot observe 'D'"),
    "bad time": (["identifiability", "{net}", "--parameters", "k_on", "--observe", "C", "--times", "soon"],
                 "--times expects numbers (min) or 'steady', got 'soon'"),
    "bad experiment": (["identifiability", "{net}", "--parameters", "k_on", "--observe", "C", "--times", "1",
                        "--experiment", "L"], "--experiment expects NAME=VALUE"),
    "unknown fast reaction": (["qssa", "{net}", "--t-end", "1", "--fast", "bind"], "no reaction named 'bind'"),
    "missing output": (["noise", "{tmp}/nothing", "--species", "X"], "does not exist"),
    "missing structure": (["homogenize", "{tmp}/nothing.npy"], "micro-structure file"),
    "bad spacing": (["homogenize", "{tmp}/board.npy", "--spacing", "1,x"],
                    "--spacing expects numbers separated by commas"),
    "spacing of the wrong length": (["homogenize", "{tmp}/board.npy", "--spacing", "1,1,1"],
                                    "--spacing needs 2 values for a 2D structure"),
}


@pytest.mark.parametrize("case", list(BAD_ANALYSIS))
def test_bad_analysis_input_gives_one_line(tmp_path, case, one_error_line, hybridsim_cli):

    net = tmp_path / "binding.toml"
    net.write_text(BINDING_TOML)
    np.save(tmp_path / "board.npy", _checkerboard(4))
    args, expected = BAD_ANALYSIS[case]
    result = hybridsim_cli("analyze", *[a.format(net=net, tmp=tmp_path) for a in args])
    one_error_line(result, 2, expected)


def _checkerboard(n, D1=1.0, D2=9.0):
    i = np.arange(2 * n)
    X, Y = np.meshgrid(i, i, indexing="ij")
    return np.where(((X // n) + (Y // n)) % 2 == 0, D1, D2)
