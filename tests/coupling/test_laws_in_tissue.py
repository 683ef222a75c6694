"""Propensity expressions in the cells of a tissue: a law that reads a sampled field by
name gives bitwise the cells and fields of the same model in mass action with a field
modulation, on 2 ranks, with uptake, secretion and chemotaxis; a law that turns negative
in one cell stops every rank with one line."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

CASES = Path(__file__).parent / "cases"
MASS_ACTION = """[network]
species = { L = 0, S = 20 }
reactions = [
  { name = "convert", reactants = { L = 1 }, products = { S = 1 }, rate = 0.5 },
  { name = "secrete", reactants = { S = 1 }, rate = { k = 0.3, field = "ligand" }, secretes = { ligand = 1 } },
]"""
GENERAL = """[network]
species = { L = 0, S = 20 }
parameters = { kc = 0.5, ks = 0.3 }
reactions = [
  { name = "convert", reactants = { L = 1 }, products = { S = 1 }, propensity = "kc * L" },
  { name = "secrete", reactants = { S = 1 }, propensity = "(ks * ligand) * S", secretes = { ligand = 1 } },
]"""


def _config(tmp_path, network: str, name: str) -> Path:
    text = (CASES / "closed_exchange.toml").read_text()
    start, end = text.index("[network]"), text.index("[agents]")
    path = tmp_path / name
    path.write_text(text[:start] + network + "\n" + text[end:])
    return path


def test_a_law_reading_a_field_gives_the_mass_action_run_bitwise(tmp_path, mpirun):
    outs = []
    for name, network in (("mass.toml", MASS_ACTION), ("general.toml", GENERAL)):
        out = tmp_path / name.replace(".toml", "")
        result = mpirun.hybridsim(2, "run", str(_config(tmp_path, network, name)), "-o", str(out), "--quiet")
        assert result.returncode == 0, result.stderr
        outs.append(out)
    with h5py.File(outs[0] / "agents.h5") as a, h5py.File(outs[1] / "agents.h5") as b:
        steps = sorted(a["steps"])
        assert steps == sorted(b["steps"]) and len(steps) > 50
        for step in steps[::10] + steps[-1:]:
            ga, gb = a["steps"][step], b["steps"][step]
            for key in ("id", "position", "species/L", "species/S"):
                assert np.array_equal(ga[key][...], gb[key][...]), (step, key)
        last = a["steps"][steps[-1]]
        assert last["species/S"][...].sum() != 20 * 400  # the cells' counts changed
    rows = [np.genfromtxt(o / "summary.csv", delimiter=",", names=True) for o in outs]
    np.testing.assert_array_equal(rows[0]["ligand_integral"], rows[1]["ligand_integral"])


def test_a_law_turning_negative_stops_every_rank_in_one_line(tmp_path, mpirun, one_error_line):
    network = GENERAL.replace('propensity = "kc * L"', 'propensity = "kc * (L - 1)"')
    result = mpirun.hybridsim(3, "run", str(_config(tmp_path, network, "bad.toml")), "-o", str(tmp_path / "out"),
                              "--quiet", timeout=120)
    one_error_line(result, 2, "bad.toml': its propensity 0.5 * (L - 1) is negative, infinite or not a number")


def test_check_lists_the_laws_and_leaves_the_rate_equations_aside(tmp_path, hybridsim_cli):
    result = hybridsim_cli("check", str(_config(tmp_path, GENERAL, "general.toml")))
    assert result.returncode == 0, result.stderr
    assert "convert: L → S, a = 0.5 * L" in result.stdout
    assert "secrete: S → ∅, a = 0.3 * ligand * S" in result.stdout
    assert "no estimate: the rate equations are built for mass-action networks" in result.stdout
