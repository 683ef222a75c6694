"""SBML import for the stochastic mass-action subset (python-libsbml).

Supported: species with integer ``initialAmount`` (molecules per cell),
global and local parameters, compartments (their size may appear as a constant
factor), irreversible reactions with integer stoichiometries, and kinetic laws
that are a product of constants and the reactants, each raised to its
stoichiometry (``k * A * B``, ``k * A^2``, ``compartment * k * A``). The product
of the constants is taken as the stochastic constant ``c``; a reactant with
stoichiometry ν contributes ``C(x, ν)`` to the propensity, as in TOML networks.

Anything else — events, rules, initial assignments, function definitions,
constraints, reversible or fast reactions, modifiers, boundary or constant
species, non-mass-action kinetic laws — is rejected with a message naming it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .network import Network, Reaction


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

    for getter, label in (("getNumEvents", "event"), ("getNumRules", "rule"),
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

    species, initial = [], []
    for i in range(model.getNumSpecies()):
        sp = model.getSpecies(i)
        sid = sp.getId()
        if sp.getBoundaryCondition() or sp.getConstant():
            reject(f"species {sid!r} with boundaryCondition or constant set")
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
        law = rx.getKineticLaw()
        if law is None or law.getMath() is None:
            raise InputError(f"{where}: reaction {rid!r} has no kinetic law")
        local = dict(constants)
        for k in range(law.getNumParameters()):
            local[law.getParameter(k).getId()] = law.getParameter(k).getValue()
        rate, powers = _mass_action(libsbml, law.getMath(), local, species)
        formula = libsbml.formulaToL3String(law.getMath())
        if powers != {s: v for s, v in reactants.items() if v > 0} or rate is None:
            raise InputError(
                f"{where}: kinetic law {formula!r} of reaction {rid!r} is not mass action "
                "(supported: constants times each reactant to the power of its stoichiometry)")
        if rate < 0:
            raise InputError(f"{where}: reaction {rid!r} has a negative rate constant ({rate:g})")
        reactions.append(Reaction(rid, tuple(sorted(reactants.items())), tuple(sorted(products.items())), rate))
    if not reactions:
        raise InputError(f"{where} declares no reactions")
    return Network(tuple(species), tuple(initial), tuple(reactions), str(path))


def _mass_action(libsbml, node, constants: dict, species: list[str]):
    """``(constant, {species index: power})`` of a product of constants and species
    powers, or ``(None, {})`` if ``node`` is not of that form."""
    t = node.getType()
    if t == libsbml.AST_TIMES:
        rate, powers = 1.0, {}
        for k in range(node.getNumChildren()):
            r, p = _mass_action(libsbml, node.getChild(k), constants, species)
            if r is None:
                return None, {}
            rate *= r
            for s, v in p.items():
                powers[s] = powers.get(s, 0) + v
        return rate, powers
    if t == libsbml.AST_NAME:
        name = node.getName()
        if name in species:
            return 1.0, {species.index(name): 1}
        if name in constants:
            return float(constants[name]), {}
        return None, {}
    if t in (libsbml.AST_INTEGER, libsbml.AST_REAL, libsbml.AST_REAL_E, libsbml.AST_RATIONAL):
        return float(node.getValue()), {}
    if t in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER) and node.getNumChildren() == 2:
        base, exponent = node.getChild(0), node.getChild(1)
        if base.getType() == libsbml.AST_NAME and base.getName() in species and exponent.isNumber():
            e = exponent.getValue()
            if e == int(e) and e >= 1:
                return 1.0, {species.index(base.getName()): int(e)}
    return None, {}
