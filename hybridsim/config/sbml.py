"""SBML import for the stochastic mass-action subset (python-libsbml).

Supported: species with integer ``initialAmount`` (molecules per cell),
global and local parameters, compartments (their size may appear as a constant
factor), irreversible reactions with integer stoichiometries, and kinetic laws that
are stochastic mass-action propensities: constants (multiplied or divided) times, for
each reactant of stoichiometry ν, the falling factorial ``x·(x − 1)·…·(x − ν + 1)``
of its count (``k * A * B``, ``compartment * k * A``, ``Lambda * X / 2 / 0.5``,
``k1 * P * (P - 1) / 2``). In a stochastic SBML model the kinetic law *is* the
propensity, so ``k1 * P * (P - 1) / 2`` becomes ``c = k1`` with the ``C(P, 2)`` of
TOML networks, and ``k * P^2`` — not of that form — is refused rather than read as
``C(P, 2)``. A species with ``hasOnlySubstanceUnits="false"`` stands for its
concentration, amount/size of its compartment, wherever it appears in a law (a
first-order reactant only).

A species with ``boundaryCondition`` or ``constant`` set keeps its count: no reaction
changes it (it appears on both sides as often as it is consumed), though it may set
a propensity, as a source or a sink. Events whose trigger is the time passing a
constant (``time ≥ T`` or ``time > T``), without delay or priority, that set species
to constant counts are :class:`~hybridsim.config.network.TimeEvent` s: the SSA's clock
stops at T, the counts are set, and the run goes on (exact: the exponential waiting
times are memoryless). Anything else — events on the state or with a delay, rules,
initial assignments, function definitions, constraints, reversible or fast
reactions, modifiers, non-mass-action kinetic laws — is rejected with a message
naming it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .network import Network, Reaction, TimeEvent


def _libsbml():
    try:
        import libsbml
    except ImportError:
        raise InputError("SBML networks need python-libsbml: pip install python-libsbml "
                         "(scripts/setup.sh installs it)") from None
    return libsbml


def read_sbml(path: str | Path, *, fields: tuple[str, ...] | None = None) -> Network:
    """Read the mass-action network in the SBML file at ``path``."""
    libsbml = _libsbml()
    where = f"SBML file {str(path)!r}"
    doc = libsbml.readSBMLFromFile(str(path))
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            message = " ".join(err.getMessage().split())
            raise InputError(f"{where} is not valid SBML (line {err.getLine()}): {message}")
    model = doc.getModel()
    if model is None:
        raise InputError(f"{where} has no <model>")

    def reject(what: str) -> None:
        raise InputError(f"{where}: {what} is outside the supported mass-action subset "
                         "(species, parameters, irreversible mass-action reactions)")

    for getter, label in (("getNumRules", "rule"),
                          ("getNumInitialAssignments", "initial assignment"),
                          ("getNumFunctionDefinitions", "function definition"),
                          ("getNumConstraints", "constraint")):
        if getattr(model, getter)() > 0:
            item = getattr(model, getter.replace("getNum", "get")[:-1])(0)
            ident = item.getId() if hasattr(item, "getId") and item.getId() else ""
            if not ident and hasattr(item, "getVariable"):
                ident = item.getVariable()
            if not ident and hasattr(item, "getSymbol"):
                ident = item.getSymbol()
            reject(f"{label} {ident!r}" if ident else label)

    species, initial, fixed = [], [], set()
    for i in range(model.getNumSpecies()):
        sp = model.getSpecies(i)
        sid = sp.getId()
        if sp.getBoundaryCondition() or sp.getConstant():
            fixed.add(len(species))  # no reaction changes it; it may still set a rate
        if not sp.isSetInitialAmount():
            raise InputError(f"{where}: species {sid!r} needs an initialAmount (molecules per cell); "
                             "initialConcentration is not converted")
        amount = sp.getInitialAmount()
        if amount < 0 or amount != int(amount):
            raise InputError(f"{where}: species {sid!r} initialAmount must be a non-negative integer (got {amount:g})")
        species.append(sid)
        initial.append(int(amount))
    if not species:
        raise InputError(f"{where} declares no species")

    constants = {}
    for i in range(model.getNumCompartments()):
        comp = model.getCompartment(i)
        constants[comp.getId()] = comp.getSize() if comp.isSetSize() else 1.0
    # a species in concentration units stands for amount/size in a kinetic law
    per_volume = {}
    for i in range(model.getNumSpecies()):
        sp = model.getSpecies(i)
        if not sp.getHasOnlySubstanceUnits():
            size = constants.get(sp.getCompartment(), 1.0)
            if not size > 0:
                raise InputError(f"{where}: compartment {sp.getCompartment()!r} of species {sp.getId()!r} has size "
                                 f"{size:g}; a concentration needs a positive size")
            per_volume[species.index(sp.getId())] = 1.0 / size
    for i in range(model.getNumParameters()):
        par = model.getParameter(i)
        if not par.isSetValue():
            raise InputError(f"{where}: parameter {par.getId()!r} has no value")
        constants[par.getId()] = par.getValue()

    reactions = []
    for i in range(model.getNumReactions()):
        rx = model.getReaction(i)
        rid = rx.getId()
        if rx.getReversible():
            reject(f"reversible reaction {rid!r} (split it into two irreversible reactions)")
        if rx.isSetFast() and rx.getFast():
            reject(f"fast reaction {rid!r}")
        if rx.getNumModifiers() > 0:
            reject(f"modifier {rx.getModifier(0).getSpecies()!r} of reaction {rid!r}")

        def side(n, get, rid=rid):
            out: dict[int, int] = {}
            for k in range(n):
                ref = get(k)
                nu = ref.getStoichiometry() if ref.isSetStoichiometry() else 1.0
                if nu != int(nu) or nu < 0:
                    reject(f"non-integer stoichiometry {nu:g} of {ref.getSpecies()!r} in reaction {rid!r}")
                s = species.index(ref.getSpecies())
                out[s] = out.get(s, 0) + int(nu)
            return out

        reactants = side(rx.getNumReactants(), rx.getReactant)
        products = side(rx.getNumProducts(), rx.getProduct)
        for f in fixed:  # a boundary or constant species: as many made as used, so its count stays
            products.pop(f, None)
            if reactants.get(f):
                products[f] = reactants[f]
        law = rx.getKineticLaw()
        if law is None or law.getMath() is None:
            raise InputError(f"{where}: reaction {rid!r} has no kinetic law")
        local = dict(constants)
        for k in range(law.getNumParameters()):
            local[law.getParameter(k).getId()] = law.getParameter(k).getValue()
        formula = libsbml.formulaToL3String(law.getMath())
        term = _propensity(libsbml, law.getMath(), local, species, per_volume)
        for f in fixed & set(reactants):
            if term is not None and f not in term[1]:  # a source the law does not read: no part of it
                reactants.pop(f)
                products.pop(f, None)
        rate = _mass_action_constant(term, reactants)
        if rate is None:
            raise InputError(
                f"{where}: kinetic law {formula!r} of reaction {rid!r} is not a stochastic mass-action propensity "
                "(supported: constants times, for each reactant of stoichiometry ν, its count's falling factorial "
                "x·(x−1)·…·(x−ν+1), e.g. k*A*B or k*P*(P-1)/2; a concentration only as a first-order reactant)")
        if rate < 0:
            raise InputError(f"{where}: reaction {rid!r} has a negative rate constant ({rate:g})")
        reactions.append(Reaction(rid, tuple(sorted(reactants.items())), tuple(sorted(products.items())), rate))
    if not reactions:
        raise InputError(f"{where} declares no reactions")
    events = tuple(sorted((_time_event(libsbml, model.getEvent(i), where, species, constants)
                           for i in range(model.getNumEvents())), key=lambda e: e.time))
    return Network(tuple(species), tuple(initial), tuple(reactions), str(path), events)


def _constant_value(libsbml, node, constants: dict):
    """The value of an expression of numbers and constants, or None."""
    t = node.getType()
    if t in (libsbml.AST_INTEGER, libsbml.AST_REAL, libsbml.AST_REAL_E, libsbml.AST_RATIONAL):
        return float(node.getValue())
    if t == libsbml.AST_NAME and node.getName() in constants:
        return float(constants[node.getName()])
    return None


def _time_event(libsbml, event, where: str, species: list[str], constants: dict) -> TimeEvent:
    """An event triggered by the time passing a constant, setting species to constants."""
    name = event.getId() or "(unnamed)"
    if event.isSetDelay():
        raise InputError(f"{where}: event {name!r} has a delay; only events without delay are simulated")
    if event.isSetPriority():
        raise InputError(f"{where}: event {name!r} has a priority; only events without one are simulated")
    trigger = event.getTrigger()
    math = trigger.getMath() if trigger is not None else None
    formula = libsbml.formulaToL3String(math) if math is not None else ""
    ok = math is not None and math.getType() in (libsbml.AST_RELATIONAL_GEQ, libsbml.AST_RELATIONAL_GT) \
        and math.getNumChildren() == 2 and math.getChild(0).getType() == libsbml.AST_NAME_TIME
    when = _constant_value(libsbml, math.getChild(1), constants) if ok else None
    if when is None:
        raise InputError(f"{where}: event {name!r} is triggered by {formula!r}; only triggers on the time "
                         "passing a constant (time >= T) are simulated, not on the state")
    assignments = []
    for k in range(event.getNumEventAssignments()):
        a = event.getEventAssignment(k)
        value = _constant_value(libsbml, a.getMath(), constants) if a.getMath() is not None else None
        if a.getVariable() not in species or value is None or value < 0 or value != int(value):
            raise InputError(f"{where}: event {name!r} assigns {a.getVariable()!r}; only species set to "
                             "non-negative integer constants are simulated")
        assignments.append((species.index(a.getVariable()), int(value)))
    return TimeEvent(name, max(when, 0.0), tuple(assignments))


def _propensity(libsbml, node, constants: dict, species: list[str], per_volume: dict):
    """``(constant, {species index: [shifts]})`` of a product (and quotient by
    constants) of constants, species counts ``x`` and shifted counts ``x − m``, or None
    if ``node`` is not of that form; a concentration contributes the factor 1/size
    (and no shift may be applied to it: marked by the shift None)."""
    t = node.getType()
    if t in (libsbml.AST_TIMES, libsbml.AST_DIVIDE):
        parts = [_propensity(libsbml, node.getChild(k), constants, species, per_volume)
                 for k in range(node.getNumChildren())]
        if any(p is None for p in parts):
            return None
        if t == libsbml.AST_DIVIDE:
            if len(parts) != 2 or parts[1][1] or parts[1][0] == 0:
                return None  # only division by a constant
            return parts[0][0] / parts[1][0], parts[0][1]
        rate, shifts = 1.0, {}
        for r, p in parts:
            rate *= r
            for s, v in p.items():
                shifts.setdefault(s, []).extend(v)
        return rate, shifts
    if t == libsbml.AST_NAME:
        name = node.getName()
        if name in species:
            s = species.index(name)
            return (per_volume[s], {s: [None]}) if s in per_volume else (1.0, {s: [0]})
        if name in constants:
            return float(constants[name]), {}
        return None
    if t in (libsbml.AST_INTEGER, libsbml.AST_REAL, libsbml.AST_REAL_E, libsbml.AST_RATIONAL):
        return float(node.getValue()), {}
    if t == libsbml.AST_MINUS and node.getNumChildren() == 2:  # x − m, a shifted count
        base, offset = node.getChild(0), node.getChild(1)
        if base.getType() == libsbml.AST_NAME and base.getName() in species and offset.isNumber():
            s, m = species.index(base.getName()), offset.getValue()
            if s not in per_volume and m == int(m) and m >= 1:
                return 1.0, {s: [int(m)]}
        return None
    if t in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER) and node.getNumChildren() == 2:
        base, exponent = node.getChild(0), node.getChild(1)
        inner = _propensity(libsbml, base, constants, species, per_volume)
        if inner is not None and exponent.isNumber() and exponent.getValue() == int(exponent.getValue()) \
                and exponent.getValue() >= 1:
            e = int(exponent.getValue())
            return inner[0] ** e, {s: v * e for s, v in inner[1].items()}
    return None


def _mass_action_constant(term, reactants: dict[int, int]) -> float | None:
    """The stochastic constant ``c`` of TOML networks (propensity ``c·Π C(x, ν)``) for a
    law ``term`` from :func:`_propensity`, or None if the law is not
    ``constant · Π x(x−1)…(x−ν+1)`` over the reactants with their stoichiometries."""
    import math

    if term is None:
        return None
    rate, shifts = term
    if set(shifts) != {s for s, v in reactants.items() if v > 0}:
        return None
    for s, v in shifts.items():
        nu = reactants[s]
        if v == [None]:  # a concentration: first order only
            if nu != 1:
                return None
            continue
        if None in v or sorted(v) != list(range(nu)):
            return None
        rate *= math.factorial(nu)  # x(x−1)…(x−ν+1) = ν!·C(x, ν)
    return rate
