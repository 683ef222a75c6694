"""Propensity expressions in the cells of a tissue: a law that reads a sampled field by
name gives bitwise the cells and fields of the same model in mass action with a field
modulation, on 2 ranks, with uptake, secretion and chemotaxis; an SBML law reads a field
through the global parameter of the field's name, bitwise as the TOML law; a law that turns
negative in one cell stops every rank with one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np

from hybridsim.config.sbml import read_sbml

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


HILL_TOML = """[network]
species = { L = 0, S = 20 }
parameters = { kc = 0.5, ks = 0.3, K = 0.5 }
reactions = [
  { name = "convert", reactants = { L = 1 }, products = { S = 1 }, propensity = "kc * L" },
  { name = "decay", reactants = { S = 1 }, propensity = "ks * (ligand^2 / (K^2 + ligand^2)) * S" },
]"""
HILL_SBML = 'network = "hill_decay.xml"'  # the same network, with a global parameter `ligand`


def _config(tmp_path, network: str, name: str) -> Path:
    text = (CASES / "closed_exchange.toml").read_text()
    start, end = text.index("[network]"), text.index("[agents]")
    path = tmp_path / name
    if network.startswith("network ="):  # a file: a top-level key, before any table
        path.write_text(network + "\n" + text[:start] + text[end:])
    else:
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


def test_an_sbml_law_reads_the_field_of_its_parameter_name_bitwise_as_the_toml_law(tmp_path, mpirun):
    shutil.copy(CASES / "hill_decay.xml", tmp_path)
    outs = []
    for name, network in (("toml.toml", HILL_TOML), ("sbml.toml", HILL_SBML)):
        out = tmp_path / name.replace(".toml", "")
        result = mpirun.hybridsim(2, "run", str(_config(tmp_path, network, name)), "-o", str(out), "--quiet")
        assert result.returncode == 0, result.stderr
        outs.append(out)
    with h5py.File(outs[0] / "agents.h5") as a, h5py.File(outs[1] / "agents.h5") as b:
        steps = sorted(a["steps"])
        assert steps == sorted(b["steps"])
        for step in steps[::10] + steps[-1:]:
            for key in ("id", "position", "species/L", "species/S"):
                assert np.array_equal(a["steps"][step][key][...], b["steps"][step][key][...]), (step, key)
        assert not np.array_equal(a["steps"][steps[-1]]["species/S"][...], a["steps"][steps[0]]["species/S"][...])
    # in a run with the field the law reads it; outside one the parameter keeps its value in
    # the file, and the law is mass action with c = 0.3 · 2² / (0.5² + 2²)
    assert read_sbml(CASES / "hill_decay.xml", fields=("ligand",)).law_fields == ("ligand",)
    decay = read_sbml(CASES / "hill_decay.xml").reactions[1]
    assert decay.law is None and decay.rate == 0.3 * 4 / 4.25


def test_an_event_setting_a_parameter_that_reads_a_field_is_refused_in_one_line(tmp_path, hybridsim_cli,
                                                                                one_error_line):
    text = (CASES / "hill_decay.xml").read_text().replace('id="ligand" value="2" constant="true"',
                                                           'id="ligand" value="2" constant="false"')
    event = ('<listOfEvents><event id="bump" useValuesFromTriggerTime="true"><trigger initialValue="false" '
             'persistent="true"><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><gt/><ci>S</ci>'
             '<cn type="integer">30</cn></apply></math></trigger><listOfEventAssignments><eventAssignment '
             'variable="ligand"><math xmlns="http://www.w3.org/1998/Math/MathML"><cn>1</cn></math>'
             '</eventAssignment></listOfEventAssignments></event></listOfEvents>')
    (tmp_path / "hill_decay.xml").write_text(text.replace("</listOfReactions>", "</listOfReactions>" + event))
    result = hybridsim_cli("check", str(_config(tmp_path, HILL_SBML, "sbml.toml")))
    one_error_line(result, 2, "an event setting 'ligand', which reads the field 'ligand' in this run")


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
