"""Network input: SBML reads into the same network as TOML; unsupported SBML and bad
TOML are refused in one line naming the construct or the key."""

import math

import numpy as np
import pytest

from hybridsim.agents import load_network, simulate_well_mixed
from hybridsim.agents.assignments import evaluate
from hybridsim.agents.compiled import compile_network
from hybridsim.errors import InputError

EXAMPLES = "examples/networks"


def _poisson_checks(x, lam):
    """Mean within 5 standard errors of λ and Fano factor within 5 standard errors of 1."""
    n = x.size
    assert abs(x.mean() - lam) < 5 * math.sqrt(lam / n), (x.mean(), lam)
    # Var(s²) ≈ (μ4 − σ⁴)/n with μ4 = λ(1 + 3λ) for a Poisson law
    se_fano = math.sqrt((lam + 2 * lam**2) / n) / lam
    assert abs(x.var(ddof=1) / x.mean() - 1.0) < 5 * se_fano, x.var() / x.mean()


def test_sbml_two_stage_model_equals_the_toml_one():
    toml = load_network(f"{EXAMPLES}/two_stage.toml")
    sbml = load_network(f"{EXAMPLES}/two_stage.xml")
    assert sbml.species == toml.species and sbml.initial == toml.initial
    for a, b in zip(compile_network(sbml).__dict__.values(), compile_network(toml).__dict__.values()):
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
    times = [50.0]
    x = simulate_well_mixed(f"{EXAMPLES}/two_stage.xml", 4000, times, seed=6)
    y = simulate_well_mixed(f"{EXAMPLES}/two_stage.toml", 4000, times, seed=6)
    assert np.array_equal(x, y)
    # and the statistics are those of the model: M is Poisson(10) once stationary
    _poisson_checks(x[0, :, 0].astype(float), 10.0)


SBML_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
<model id="m"><listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>
<listOfSpecies><species id="A" compartment="c" initialAmount="5" hasOnlySubstanceUnits="true"
 boundaryCondition="false" constant="false"/></listOfSpecies>
<listOfParameters><parameter id="k" value="1" constant="true"/><parameter id="K" value="2" constant="true"/>
</listOfParameters>"""


REACTION = """<listOfReactions><reaction id="deg" reversible="{rev}"><listOfReactants>
<speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants>
<kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">{law}</math></kineticLaw></reaction>
</listOfReactions>"""


MM = "<apply><divide/><apply><times/><ci>k</ci><ci>A</ci></apply><apply><plus/><ci>K</ci><ci>A</ci></apply></apply>"


MA = "<apply><times/><ci>k</ci><ci>A</ci></apply>"


EVENT = """<listOfEvents><event id="kick" useValuesFromTriggerTime="true"><trigger initialValue="true"
 persistent="true"><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><gt/><ci>A</ci><cn>3</cn></apply>
</math></trigger><listOfEventAssignments><eventAssignment variable="A"><math
 xmlns="http://www.w3.org/1998/Math/MathML"><cn>0</cn></math></eventAssignment></listOfEventAssignments>
</event></listOfEvents>"""


DELAYED = EVENT.replace("<listOfEventAssignments>", '<delay><math xmlns="http://www.w3.org/1998/Math/MathML">'
                        "<cn>1</cn></math></delay><listOfEventAssignments>")


RATE_RULE = """<listOfRules><rateRule variable="A"><math xmlns="http://www.w3.org/1998/Math/MathML"><cn>1</cn>
</math></rateRule></listOfRules>"""


TIMED_LAW = "<apply><times/><ci>k</ci><ci>A</ci><csymbol encoding=\"text\" " \
    "definitionURL=\"http://www.sbml.org/sbml/symbols/time\">t</csymbol></apply>"


@pytest.mark.parametrize("body, message", [
    (REACTION.format(rev="true", law=MA), "reversible reaction 'deg'"),
    (REACTION.format(rev="false", law=MA) + DELAYED, "event 'kick' has a delay"),
    (RATE_RULE + REACTION.format(rev="false", law=MA), "rate rule on 'A'"),
    (REACTION.format(rev="false", law=TIMED_LAW), "the kinetic law of reaction 'deg' reading the time"),
    (REACTION.format(rev="false", law="<apply><sin/><ci>A</ci></apply>"), "uses 'sin\\(A\\)', outside the supported"),
    ("", "declares no reactions"),
])
def test_unsupported_sbml_is_rejected_naming_the_construct(tmp_path, body, message):
    path = tmp_path / "model.xml"
    path.write_text(SBML_HEAD + body + "</model></sbml>")
    with pytest.raises(InputError, match=message):
        load_network(str(path))


SQUARED = """<listOfReactions><reaction id="dim" reversible="false"><listOfReactants>
<speciesReference species="A" stoichiometry="2" constant="true"/></listOfReactants>
<kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">{law}</math></kineticLaw></reaction>
</listOfReactions>"""


@pytest.mark.parametrize("law, c", [
    ("<apply><divide/><apply><times/><ci>k</ci><ci>A</ci><apply><minus/><ci>A</ci><cn>1</cn></apply></apply>"
     "<cn>2</cn></apply>", 1.0),  # k·A(A−1)/2 = k·C(A, 2), k = 1
    ("<apply><times/><ci>k</ci><ci>A</ci><apply><minus/><ci>A</ci><cn>1</cn></apply></apply>", 2.0),  # 2k·C(A, 2)
    ("<apply><times/><ci>k</ci><apply><power/><ci>A</ci><cn>2</cn></apply></apply>", None),  # k·A² is not
])
def test_a_stochastic_law_is_the_propensity_itself(tmp_path, law, c):
    """SBML's kinetic law is the propensity: the falling factorial A(A−1) is 2·C(A, 2)
    (the mass-action kernel's constant), and k·A², which no constant times C(A, 2)
    equals, is kept as the expression it is rather than misread as mass action."""
    path = tmp_path / "model.xml"
    path.write_text(SBML_HEAD + SQUARED.format(law=law) + "</model></sbml>")
    reaction = load_network(str(path)).reactions[0]
    if c is None:
        assert reaction.law is not None
        assert evaluate(reaction.law, {"A": np.array([5.0, 7.0])}) == pytest.approx([25.0, 49.0])
        return
    assert reaction.law is None and reaction.rate == pytest.approx(c)


def test_broken_sbml_names_the_line(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text(SBML_HEAD + "<listOfReactions><reaction")
    with pytest.raises(InputError, match="is not valid SBML"):
        load_network(str(path))


@pytest.mark.parametrize("network, message", [
    ({"species": {"M": 0}, "reactions": [{"products": {"Q": 1}, "rate": 1.0}]},
     r"network.reactions\[0\].products.Q is not a species of the network"),
    ({"species": {"M": -1}, "reactions": [{"products": {"M": 1}, "rate": 1.0}]},
     "network.species.M must be a non-negative integer initial count"),
    ({"species": {"M": 0}, "reactions": [{"products": {"M": 1}, "rate": -2.0}]},
     r"network.reactions\[0\].rate must be ≥ 0"),
    ({"species": {"M": 0}, "reactions": [{"products": {"M": 1}, "rates": 2.0}]},
     r"network.reactions\[0\].rate is required"),
    ({"species": {"M": 0}, "reactions": [{"products": {"M": 1}, "rate": 2.0, "rat": 1}]},
     r"network.reactions\[0\].rat is not a known key .*did you mean 'rate'"),
    ({"species": {"M": 0}, "reactions": [{"products": {"M": 1.5}, "rate": 2.0}]},
     r"products.M must be a non-negative integer"),
    ({"species": {"M": 0}, "reactions": []}, "network.reactions must be a non-empty list"),
    ({"species": {"M": 0}, "reactions": [{"products": {"M": 1}, "rate": {"k": 1.0, "field": "L",
                                                                          "hill": {"K": 0}}}]},
     r"hill.K must be > 0"),
])
def test_bad_network_gives_one_line_naming_the_key(network, message):
    with pytest.raises(InputError, match=message) as info:
        load_network(network)
    assert "\n" not in str(info.value)


def test_missing_network_file_is_named():
    with pytest.raises(InputError, match="network file 'nope.toml' does not exist"):
        load_network("nope.toml")
