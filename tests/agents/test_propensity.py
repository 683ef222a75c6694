"""General propensities: expressions compiled into the SSA kernel (TOML ``propensity``
and SBML kinetic laws), their dependency graph, rules and state events, each checked
against the mass-action kernel bit for bit or against an exact distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hybridsim.agents import load_network, simulate_well_mixed
from hybridsim.agents.integrator import NetworkIntegrator
from hybridsim.config import expression
from hybridsim.errors import InputError

K_M, G_M, K_P, G_P = 2.0, 0.2, 5.0, 0.05


def two_stage(general: bool) -> dict:
    """The two-stage model in mass action, or with every propensity an expression —
    translation written without M on either side, so only the dependency graph built
    from what the expression reads keeps its propensity up to date when M changes."""
    if not general:
        return {"species": {"M": 0, "P": 0}, "reactions": [
            {"name": "tx", "products": {"M": 1}, "rate": K_M},
            {"name": "md", "reactants": {"M": 1}, "rate": G_M},
            {"name": "tl", "reactants": {"M": 1}, "products": {"M": 1, "P": 1}, "rate": K_P},
            {"name": "pd", "reactants": {"P": 1}, "rate": G_P}]}
    return {"species": {"M": 0, "P": 0}, "parameters": {"km": K_M, "gm": G_M, "kp": K_P, "gp": G_P},
            "reactions": [
                {"name": "tx", "products": {"M": 1}, "propensity": "km"},
                {"name": "md", "reactants": {"M": 1}, "propensity": "gm * M"},
                {"name": "tl", "products": {"P": 1}, "propensity": "kp * M"},
                {"name": "pd", "reactants": {"P": 1}, "propensity": "gp * P"}]}


def test_expressions_give_the_mass_action_trajectories_bit_for_bit():
    """Same random numbers, same selection rule, same propensities: the expression
    kernel reproduces the mass-action kernel's counts exactly, cell by cell."""
    times = [5.0, 40.0, 120.0]
    a = simulate_well_mixed(two_stage(False), 3000, times, seed=11)
    b = simulate_well_mixed(two_stage(True), 3000, times, seed=11)
    assert np.array_equal(a, b)
    assert a[-1, :, 1].mean() > 100  # protein made: the test exercised translation


def _birth_death_stationary(birth, death, n_max=2000):
    """Exact stationary law of a birth–death chain: p(n)/p(n−1) = birth(n−1)/death(n)."""
    p = [1.0]
    for n in range(1, n_max):
        p.append(p[-1] * birth(n - 1) / death(n))
    p = np.array(p) / np.sum(p)
    n = np.arange(n_max)
    mean = p @ n
    return mean, p @ n**2 - mean**2


def test_a_michaelis_menten_death_gives_the_exact_stationary_law():
    """Birth at 10/min, death at vmax·S/(Km + S): the runs' mean and variance equal
    the exact stationary law's (detailed balance) within 5 standard errors."""
    net = {"species": {"S": 0}, "parameters": {"vmax": 50.0, "Km": 20.0}, "reactions": [
        {"products": {"S": 1}, "rate": 10.0},
        {"reactants": {"S": 1}, "propensity": "vmax * S / (Km + S)"}]}
    n = 4000
    x = simulate_well_mixed(net, n, [300.0], seed=2)[0, :, 0].astype(float)
    mean, var = _birth_death_stationary(lambda k: 10.0, lambda k: 50.0 * k / (20.0 + k))
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / n), (x.mean(), mean)
    assert abs(x.var(ddof=1) - var) < 5 * var * math.sqrt(2.0 / n) * 1.5, (x.var(), var)


def test_a_hill_response_to_a_field_written_in_the_law_is_poisson():
    """Production at k·Lⁿ/(Kⁿ + Lⁿ) of the sampled field L, decay at γ·X: X is
    Poisson with mean k·h(L)/γ (the field read by name inside the expression)."""
    net = {"species": {"X": 0}, "parameters": {"k": 40.0, "K": 0.5, "n": 2.0, "g": 0.5}, "reactions": [
        {"products": {"X": 1}, "propensity": "k * L^n / (K^n + L^n)"},
        {"reactants": {"X": 1}, "propensity": "g * X"}]}
    assert load_network(net).fields == ("L",)
    cells, level = 4000, 0.8
    lam = 40.0 * level**2 / (0.25 + level**2) / 0.5
    x = simulate_well_mixed(net, cells, [40.0], seed=4, fields={"L": level})[0, :, 0].astype(float)
    assert abs(x.mean() - lam) < 5 * math.sqrt(lam / cells)
    assert abs(x.var(ddof=1) / x.mean() - 1) < 5 * math.sqrt((lam + 2 * lam**2) / cells) / lam


def test_piecewise_min_and_max_switch_a_rate_at_a_count():
    """Production at 20/min below X = 15 and 2/min from there (piecewise), decay at
    min(X, 1e9)·0.1: the exact stationary law of that chain."""
    net = {"species": {"X": 0}, "reactions": [
        {"products": {"X": 1}, "propensity": "piecewise(20, X < 15, 2)"},
        {"reactants": {"X": 1}, "propensity": "0.1 * min(X, 1e9) + 0 * max(X, 1)"}]}
    n = 4000
    x = simulate_well_mixed(net, n, [200.0], seed=8)[0, :, 0].astype(float)
    mean, var = _birth_death_stationary(lambda k: 20.0 if k < 15 else 2.0, lambda k: 0.1 * k)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / n), (x.mean(), mean)


@pytest.mark.parametrize("law, text", [("X - 3", r"X - 3"), ("1 / (X - 2)", r"1 / \(X - 2\)"),
                                       ("piecewise(1, X > 5)", r"1 if X > 5 else nan"),
                                       ("exp(X * 400)", r"exp\(X \* 400\)")])
def test_a_propensity_that_turns_negative_or_infinite_stops_with_the_reaction_and_the_cell(law, text):
    """At X = 2: X − 3 < 0, 1/(X − 2) = 1/0, a piecewise without its otherwise is NaN,
    e^800 overflows: each stops with the reaction, its expression as written, the cell
    and its counts (numba divides by zero as numpy does; nothing hangs on infinity)."""
    net = {"species": {"X": 2}, "reactions": [{"name": "decay", "reactants": {"X": 1}, "propensity": law}]}
    with pytest.raises(InputError, match=rf"reaction 'decay' .* propensity {text} is negative, infinite or not a "
                                         r"number in cell \d+ \(X = 2\)"):
        simulate_well_mixed(net, 3, [50.0], seed=1)


@pytest.mark.parametrize("reaction, message", [
    ({"products": {"X": 1}, "propensity": "k * Q"}, r"unknown name 'Q' in 'k \* Q'"),
    ({"products": {"X": 1}, "propensity": "k * time"}, "may not read the time"),
    ({"products": {"X": 1}, "propensity": "k *"}, "is not an expression"),
    ({"products": {"X": 1}, "propensity": "sin(X)"}, "unknown function 'sin'"),
    ({"products": {"X": 1}, "propensity": "k", "rate": 1.0}, "has both rate and propensity"),
    ({"products": {"X": 1}, "propensity": "X[0]"}, "is not part of the expression language"),
])
def test_bad_propensities_are_refused_in_one_line(reaction, message):
    net = {"species": {"X": 0}, "parameters": {"k": 1.0}, "reactions": [reaction]}
    with pytest.raises(InputError, match=message) as err:
        load_network(net, fields=())
    assert "\n" not in str(err.value) and "network.reactions[0]" in str(err.value)


@pytest.mark.parametrize("method", ["tau-leaping", "hybrid"])
def test_leaping_methods_refuse_a_general_network(method):
    with pytest.raises(InputError, match=f"method '{method}' needs a mass-action network, and reaction 'tx'"):
        NetworkIntegrator(load_network(two_stage(True)), method)


SBML = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
<model id="m"><listOfFunctionDefinitions><functionDefinition id="hill"><math
 xmlns="http://www.w3.org/1998/Math/MathML"><lambda><bvar><ci>x</ci></bvar><bvar><ci>K</ci></bvar><apply><divide/>
 <apply><times/><ci>x</ci><ci>x</ci></apply><apply><plus/><apply><times/><ci>K</ci><ci>K</ci></apply>
 <apply><times/><ci>x</ci><ci>x</ci></apply></apply></apply></lambda></math></functionDefinition>
</listOfFunctionDefinitions>
<listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>
<listOfSpecies>
<species id="A" compartment="c" initialAmount="0" hasOnlySubstanceUnits="true" boundaryCondition="false"
 constant="false"/>
<species id="B" compartment="c" initialAmount="0" hasOnlySubstanceUnits="true" boundaryCondition="false"
 constant="false"/></listOfSpecies>
<listOfParameters><parameter id="k" value="30" constant="true"/><parameter id="kb" value="1" constant="false"/>
<parameter id="g" value="0.5" constant="true"/></listOfParameters>
<listOfRules><assignmentRule variable="kb"><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/>
<cn>0.1</cn><ci>A</ci></apply></math></assignmentRule></listOfRules>
<listOfReactions>
<reaction id="makeA" reversible="false"><listOfProducts><speciesReference species="A" stoichiometry="1"
 constant="true"/></listOfProducts><kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/>
 <ci>k</ci><apply><ci>hill</ci><cn>2</cn><cn>1</cn></apply></apply></math></kineticLaw></reaction>
<reaction id="lossA" reversible="false"><listOfReactants><speciesReference species="A" stoichiometry="1"
 constant="true"/></listOfReactants><kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/>
 <ci>g</ci><ci>A</ci></apply></math></kineticLaw></reaction>
<reaction id="makeB" reversible="false"><listOfProducts><speciesReference species="B" stoichiometry="1"
 constant="true"/></listOfProducts><listOfModifiers><modifierSpeciesReference species="A"/></listOfModifiers>
 <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><ci>kb</ci></math></kineticLaw></reaction>
<reaction id="lossB" reversible="false"><listOfReactants><speciesReference species="B" stoichiometry="1"
 constant="true"/></listOfReactants><kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/>
 <ci>g</ci><ci>B</ci></apply></math></kineticLaw></reaction>
</listOfReactions></model></sbml>"""


def test_sbml_function_definitions_and_parameter_rules_become_one_expression(tmp_path):
    """A function definition (a Hill factor) is inlined into its law, and the
    parameter ``kb = 0.1·A`` of an assignment rule into the law that reads it, so the
    propensity of makeB follows A: the model is the two-stage one with k_m = 30·0.8,
    γ_m = 0.5, k_p = 0.1, γ_p = 0.5, and B's stationary mean is k_m·k_p/(γ_m·γ_p)."""
    path = tmp_path / "model.xml"
    path.write_text(SBML)
    net = load_network(str(path))
    assert [r.law is not None for r in net.reactions] == [False, False, True, False]
    km = 30 * 4 / 5
    assert net.reactions[0].rate == pytest.approx(km)
    n = 4000
    x = simulate_well_mixed(str(path), n, [60.0], seed=3)[0].astype(float)
    mean_b = km * 0.1 / (0.5 * 0.5)
    # B's variance in the two-stage model: ⟨B⟩(1 + k_p/(γ_m + γ_p))
    var_b = mean_b * (1 + 0.1 / (0.5 + 0.5))
    assert abs(x[:, 0].mean() - km / 0.5) < 5 * math.sqrt(km / 0.5 / n)
    assert abs(x[:, 1].mean() - mean_b) < 5 * math.sqrt(var_b / n), (x[:, 1].mean(), mean_b)


def test_a_state_event_that_holds_at_the_start_fires_at_once_when_its_initial_value_is_false(start_event):
    """initialValue="false": the trigger X ≥ 0 holds at t = 0, so the event fires once
    before anything else (X := 50); then X decays as a pure death process, binomial
    with p = e^(−γt); a parameter the event sets (a per-cell variable) keeps its value."""
    net = load_network(str(start_event))
    assert net.parameter_names == ("g",)
    n = 4000
    x = simulate_well_mixed(net, n, [2.0], seed=6)[0, :, 0].astype(float)
    p = math.exp(-0.2 * 2.0)
    assert abs(x.mean() - 50 * p) < 5 * math.sqrt(50 * p * (1 - p) / n)


START_EVENT = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2"><model id="m">
<listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>
<listOfSpecies><species id="X" compartment="c" initialAmount="0" hasOnlySubstanceUnits="true"
 boundaryCondition="false" constant="false"/></listOfSpecies>
<listOfParameters><parameter id="g" value="0" constant="false"/></listOfParameters>
<listOfReactions><reaction id="death" reversible="false"><listOfReactants><speciesReference species="X"
 stoichiometry="1" constant="true"/></listOfReactants><kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">
 <apply><times/><ci>g</ci><ci>X</ci></apply></math></kineticLaw></reaction></listOfReactions>
<listOfEvents><event id="start" useValuesFromTriggerTime="true"><trigger initialValue="false" persistent="true">
<math xmlns="http://www.w3.org/1998/Math/MathML"><apply><geq/><ci>X</ci><cn>0</cn></apply></math></trigger>
<listOfEventAssignments><eventAssignment variable="X"><math xmlns="http://www.w3.org/1998/Math/MathML"><cn>50</cn>
</math></eventAssignment><eventAssignment variable="g"><math xmlns="http://www.w3.org/1998/Math/MathML"><cn>0.2</cn>
</math></eventAssignment></listOfEventAssignments></event></listOfEvents></model></sbml>"""


@pytest.fixture(scope="module")
def start_event(tmp_path_factory):
    """An SBML model whose event (initialValue false, trigger X ≥ 0) fires at t = 0,
    setting X = 50 and the death rate g = 0.2/min."""
    path = tmp_path_factory.mktemp("event") / "start.xml"
    path.write_text(START_EVENT)
    return path


def test_an_event_setting_a_count_that_is_not_whole_stops_naming_the_event(start_event, tmp_path):
    """X := 50.5 is not a number of molecules: the kernel stops and the line names the
    event and the cell instead of rounding it."""
    path = tmp_path / "half.xml"
    path.write_text(start_event.read_text().replace("<cn>50</cn>", "<cn>50.5</cn>"))
    with pytest.raises(InputError, match=r"event 'start' of network .* sets a species to a value that is not a "
                                         r"count of molecules in cell 0"):
        simulate_well_mixed(str(path), 2, [1.0], seed=1)


def test_initial_assignments_and_a_species_rule_set_the_starting_counts(tmp_path):
    """An initial assignment A = 2·k (k = 3) sets A's count at the start, and the
    species y of the rule y = 2·A starts at 12 rather than its initialAmount 0."""
    text = SBML_HEAD_SIMPLE.replace("</listOfParameters>", "</listOfParameters><listOfInitialAssignments>"
                                    "<initialAssignment symbol=\"A\"><math xmlns=\"http://www.w3.org/1998/Math/MathML\">"
                                    "<apply><times/><cn>2</cn><ci>k</ci></apply></math></initialAssignment>"
                                    "</listOfInitialAssignments><listOfRules><assignmentRule variable=\"y\"><math "
                                    "xmlns=\"http://www.w3.org/1998/Math/MathML\"><apply><times/><cn>2</cn><ci>A</ci>"
                                    "</apply></math></assignmentRule></listOfRules>")
    path = tmp_path / "start.xml"
    path.write_text(text)
    net = load_network(str(path))
    assert net.initial == (6, 12)
    counts = simulate_well_mixed(str(path), 50, [0.0, 1.0], seed=1)
    assert np.all(counts[:, :, 1] == 2 * counts[:, :, 0]) and np.all(counts[0, :, 0] == 6)


SBML_HEAD_SIMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2"><model id="m">
<listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>
<listOfSpecies><species id="A" compartment="c" initialAmount="1" hasOnlySubstanceUnits="true"
 boundaryCondition="false" constant="false"/><species id="y" compartment="c" initialAmount="0"
 hasOnlySubstanceUnits="true" boundaryCondition="false" constant="false"/></listOfSpecies>
<listOfParameters><parameter id="k" value="3" constant="true"/></listOfParameters>
<listOfReactions><reaction id="death" reversible="false"><listOfReactants><speciesReference species="A"
 stoichiometry="1" constant="true"/></listOfReactants><kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">
 <apply><times/><cn>0.5</cn><ci>A</ci></apply></math></kineticLaw></reaction></listOfReactions></model></sbml>"""


@pytest.mark.parametrize("text", ["vmax * S / (Km + S)", "k * P * (P - 1) / 2", "a - (b - c)", "2 ^ 3 ^ 2",
                                  "(2 ^ 3) ^ 2", "-(a + b) * sqrt(M - 5)", "x if not (a and b) else min(x, 3)"])
def test_an_expression_is_written_back_as_it_reads(text):
    """What error lines and ``hybridsim check`` show is the expression in its own
    words, with the parentheses it needs and no others: it parses back to itself."""
    e = expression.parse(text, "k")
    assert expression.to_text(e) == text and expression.parse(expression.to_text(e), "k") == e
