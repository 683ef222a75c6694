"""SBML import for stochastic models (python-libsbml).

Supported: species with integer ``initialAmount`` (molecules per cell), global and
local parameters, compartments, function definitions (inlined), initial assignments
that constants determine, irreversible reactions with integer stoichiometries and
modifiers, and any kinetic law in the language of :mod:`.expression`. In a
stochastic SBML model the kinetic law *is* the propensity: a law of mass-action
form — constants times, for each reactant of stoichiometry ν, the falling factorial
``x·(x − 1)·…·(x − ν + 1)`` of its count (``k * A * B``, ``Lambda * X / 2 / 0.5``,
``k1 * P * (P - 1) / 2``) — becomes the mass-action constant of the fast kernel
(``c = k1`` with TOML's ``C(P, 2)``); any other (``vmax * S / (Km + S)``,
``k * P^2``, ``0.5 * k1 * (100 - 2 * P2) * (99 - 2 * P2)``) is the propensity as
written. A species with ``hasOnlySubstanceUnits="false"`` stands for its
concentration, amount/size of its compartment, wherever it appears in a law.

A species with ``boundaryCondition`` or ``constant`` set keeps its count: no reaction
changes it, though it may set a propensity, as a source or a sink. An assignment
rule on a parameter is substituted into every expression that reads it (so it is
re-evaluated whenever its inputs change); one on a species sets that species from
the others after every interval and inside every law. Events without delay or
priority fire when their trigger turns from false to true: a trigger on the time
alone (``time ≥ T``) stops the SSA's clock at T; any other is a condition on the
state, checked after every reaction event (exact: the state changes only there).
Their assignments may set species and non-constant parameters (those become
per-cell variables). Refused with a message naming the construct: rate and
algebraic rules, events with a delay or a priority, triggers mixing the time and
the state, laws reading the time, constraints, reversible or fast reactions,
``delay``, ``rateOf`` and functions outside the language.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import InputError
from . import expression
from .expression import Expr
from .network import Event, Network, Reaction


def _libsbml():
    try:
        import libsbml
    except ImportError:
        raise InputError("SBML networks need python-libsbml: pip install python-libsbml "
                         "(scripts/setup.sh installs it)") from None
    return libsbml


class _Math:
    """MathML (libsbml's AST) into expressions, function definitions inlined."""

    def __init__(self, libsbml, model, where: str):
        self.sb, self.where = libsbml, where
        self.functions: dict[str, tuple[tuple[str, ...], Expr]] = {}
        L = libsbml
        self.binary = {L.AST_PLUS: "+", L.AST_TIMES: "*", L.AST_DIVIDE: "/", L.AST_POWER: "**",
                       L.AST_FUNCTION_POWER: "**"}
        self.compare = {L.AST_RELATIONAL_EQ: "==", L.AST_RELATIONAL_GEQ: ">=", L.AST_RELATIONAL_GT: ">",
                        L.AST_RELATIONAL_LEQ: "<=", L.AST_RELATIONAL_LT: "<", L.AST_RELATIONAL_NEQ: "!="}
        self.unary = {L.AST_FUNCTION_EXP: "exp", L.AST_FUNCTION_LN: "log", L.AST_FUNCTION_ABS: "abs",
                      L.AST_FUNCTION_FLOOR: "floor", L.AST_FUNCTION_CEILING: "ceil"}
        self.numbers = (L.AST_INTEGER, L.AST_REAL, L.AST_REAL_E, L.AST_RATIONAL)
        for i in range(model.getNumFunctionDefinitions()):
            fd = model.getFunctionDefinition(i)
            body = fd.getBody()
            if body is None:
                raise InputError(f"{where}: function definition {fd.getId()!r} has no body")
            args = tuple(fd.getArgument(k).getName() for k in range(fd.getNumArguments()))
            self.functions[fd.getId()] = (args, self.convert(body, f"function definition {fd.getId()!r}"))

    def formula(self, node) -> str:
        return self.sb.formulaToL3String(node)

    def convert(self, node, what: str) -> Expr:
        L, t = self.sb, node.getType()
        kids = [node.getChild(k) for k in range(node.getNumChildren())]

        def sub():
            return tuple(self.convert(k, what) for k in kids)
        if t in self.numbers:
            return expression.num(node.getValue())
        if t == L.AST_NAME:
            return expression.sym(node.getName())
        if t == L.AST_NAME_TIME:
            return expression.sym("time")
        if t == L.AST_CONSTANT_PI:
            return expression.num(math.pi)
        if t == L.AST_CONSTANT_E:
            return expression.num(math.e)
        if t in (L.AST_CONSTANT_TRUE, L.AST_CONSTANT_FALSE):
            return expression.num(1.0 if t == L.AST_CONSTANT_TRUE else 0.0)
        if t == L.AST_MINUS:
            args = sub()
            return ("neg", args[0]) if len(args) == 1 else ("bin", "-", args[0], args[1])
        if t in self.binary:
            args = sub()
            if not args:
                return expression.num(0.0 if t == L.AST_PLUS else 1.0)
            out = args[0]
            for a in args[1:]:
                out = ("bin", self.binary[t], out, a)
            return out
        if t in self.compare and len(kids) >= 2:
            args = sub()
            parts = tuple(("cmp", self.compare[t], a, b) for a, b in zip(args, args[1:]))
            return parts[0] if len(parts) == 1 else ("and", parts)
        if t in (L.AST_LOGICAL_AND, L.AST_LOGICAL_OR):
            return ("and" if t == L.AST_LOGICAL_AND else "or", sub())
        if t == L.AST_LOGICAL_NOT:
            return ("not", sub()[0])
        if t in self.unary:
            return ("call", self.unary[t], sub())
        if t == L.AST_FUNCTION_LOG:  # log with a base (10 unless given)
            args = sub()
            base, x = (args[0], args[1]) if len(args) == 2 else (expression.num(10.0), args[0])
            return ("bin", "/", ("call", "log", (x,)), ("call", "log", (base,)))
        if t == L.AST_FUNCTION_ROOT:
            args = sub()
            degree, x = (args[0], args[1]) if len(args) == 2 else (expression.num(2.0), args[0])
            return ("bin", "**", x, ("bin", "/", expression.num(1.0), degree))
        if t in (L.AST_FUNCTION_MAX, L.AST_FUNCTION_MIN):
            return ("call", "max" if t == L.AST_FUNCTION_MAX else "min", sub())
        if t == L.AST_FUNCTION_PIECEWISE:
            return expression.call("piecewise", sub(), f"{self.where}: {what}")
        if t == L.AST_FUNCTION and node.getName() in self.functions:
            params, body = self.functions[node.getName()]
            args = sub()
            if len(args) != len(params):
                raise InputError(f"{self.where}: {what} calls {node.getName()!r} with {len(args)} arguments; "
                                 f"its definition takes {len(params)}")
            return expression.substitute(body, dict(zip(params, args)))
        raise InputError(f"{self.where}: {what} uses {self.formula(node)!r}, outside the supported language "
                         "(arithmetic, powers, exp, ln, log, root, abs, floor, ceiling, min, max, piecewise, "
                         "comparisons, and/or/not, function definitions)")


def read_sbml(path: str | Path, *, fields: tuple[str, ...] | None = None) -> Network:
    """Read the stochastic network in the SBML file at ``path``.

    ``fields`` names the field species of a tissue run: a global parameter with one of
    those ids is read from the field's local concentration at each cell instead of its
    value in the file (None: a well-mixed run, every parameter has its file value)."""
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
        raise InputError(f"{where}: {what} is not supported (species, parameters, function definitions, "
                         "irreversible reactions with any kinetic law, assignment rules, events without delay)")

    if model.getNumConstraints() > 0:
        reject("constraint")
    mathml = _Math(libsbml, model, where)

    species, initial, fixed = [], [], set()
    for i in range(model.getNumSpecies()):
        sp = model.getSpecies(i)
        sid = sp.getId()
        if sp.getBoundaryCondition() or sp.getConstant():
            fixed.add(len(species))  # no reaction changes it; it may still set a rate
        species.append(sid)
        initial.append(sp.getInitialAmount() if sp.isSetInitialAmount() else None)
    if not species:
        raise InputError(f"{where} declares no species")

    constants: dict[str, float] = {}
    for i in range(model.getNumCompartments()):
        comp = model.getCompartment(i)
        constants[comp.getId()] = comp.getSize() if comp.isSetSize() else 1.0
    variable: dict[str, float] = {}  # non-constant parameters (events may set them)
    for i in range(model.getNumParameters()):
        par = model.getParameter(i)
        value = par.getValue() if par.isSetValue() else math.nan
        (constants if par.getConstant() else variable)[par.getId()] = value
    # in a tissue, a global parameter named like a field of the run reads that field's
    # concentration at the cell (its value in the file is what a well-mixed run uses)
    bound = {name for name in list(constants) + list(variable) if fields and name in fields
             and model.getParameter(name) is not None}
    for name in sorted(bound):
        if name in set_by_events_of(model):
            reject(f"an event setting {name!r}, which reads the field {name!r} in this run")
        if model.getInitialAssignment(name) is not None or model.getAssignmentRule(name) is not None:
            reject(f"a rule or initial assignment setting {name!r}, which reads the field {name!r} in this run")
        constants.pop(name, None)
        variable.pop(name, None)

    # rules: assignment rules are substituted (parameters) or kept (species)
    assigned: dict[str, Expr] = {}
    for i in range(model.getNumRules()):
        rule = model.getRule(i)
        target = rule.getVariable() if rule.isAssignment() or rule.isRate() else ""
        if rule.isRate():
            reject(f"rate rule on {target!r} (a continuous change between reaction events)")
        if not rule.isAssignment():
            reject("algebraic rule")
        if target in constants and target not in variable and target not in species:
            reject(f"assignment rule on compartment {target!r}")
        assigned[target] = mathml.convert(rule.getMath(), f"the assignment rule of {target!r}")

    # initial assignments: evaluated once from the constants and initial amounts
    for i in range(model.getNumInitialAssignments()):
        ia = model.getInitialAssignment(i)
        target = ia.getSymbol()
        e = mathml.convert(ia.getMath(), f"the initial assignment of {target!r}")
        value = _value(e, {**constants, **variable, **dict(zip(species, initial))})
        if value is None:
            reject(f"initial assignment of {target!r} that reads a value not known at the start")
        if target in species:
            initial[species.index(target)] = value
        elif target in variable:
            variable[target] = value
        else:
            constants[target] = value
    for sid, amount in zip(species, initial):
        if amount is None and sid not in assigned:
            raise InputError(f"{where}: species {sid!r} needs an initialAmount (molecules per cell); "
                             "initialConcentration is not converted")
    for name, value in list(constants.items()) + list(variable.items()):
        if math.isnan(value) and name not in assigned:
            raise InputError(f"{where}: parameter {name!r} has no value")

    # a non-constant parameter no event sets is a constant after all; the others are per-cell variables
    set_by_events = set_by_events_of(model)
    for name in list(variable):
        if name not in set_by_events:
            if name not in assigned:
                constants[name] = variable[name]
            del variable[name]
    # a species in concentration units stands for amount/size; constants become numbers
    replace: dict[str, Expr] = {name: expression.num(v) for name, v in constants.items()}
    for i in range(model.getNumSpecies()):
        sp = model.getSpecies(i)
        if not sp.getHasOnlySubstanceUnits():
            size = constants.get(sp.getCompartment(), 1.0)
            if not size > 0:
                raise InputError(f"{where}: compartment {sp.getCompartment()!r} of species {sp.getId()!r} has size "
                                 f"{size:g}; a concentration needs a positive size")
            replace[sp.getId()] = ("bin", "*", expression.sym(sp.getId()), expression.num(1.0 / size))
    per_volume = {n for n in replace if n in species}
    parameter_rules = {n: e for n, e in assigned.items() if n not in species}
    for _ in range(len(parameter_rules) + 1):  # rules reading rules, resolved in order
        parameter_rules = {n: expression.substitute(e, {**replace, **parameter_rules})
                           for n, e in parameter_rules.items()}
    replace.update(parameter_rules)

    def prepare(e: Expr, what: str, *, time: bool = False) -> Expr:
        e = expression.fold(expression.substitute(e, replace))
        unknown = (expression.symbols(e) - set(species) - set(variable) - bound
                   - ({"time"} if time else set()))
        if "time" in unknown:
            reject(f"{what} reading the time (a propensity must stay constant between reaction events)")
        if unknown:
            raise InputError(f"{where}: {what} reads {sorted(unknown)[0]!r}, which is not a species or parameter")
        return e

    rules = tuple((species.index(n), prepare(e, f"the assignment rule of {n!r}"))
                  for n, e in assigned.items() if n in species)
    ruled = {species[s] for s, _ in rules}
    for s, e in rules:  # a ruled species starts at its rule's value (its initialAmount is overridden)
        start = _value(e, {**variable, **{n: a for n, a in zip(species, initial) if n not in ruled}})
        initial[s] = start if start is not None else initial[s]

    reactions = []
    for i in range(model.getNumReactions()):
        rx = model.getReaction(i)
        rid = rx.getId()
        if rx.getReversible():
            reject(f"reversible reaction {rid!r} (split it into two irreversible reactions)")
        if rx.isSetFast() and rx.getFast():
            reject(f"fast reaction {rid!r}")

        def side(n, get, rid=rid):
            out: dict[int, int] = {}
            for k in range(n):
                ref = get(k)
                nu = ref.getStoichiometry() if ref.isSetStoichiometry() else 1.0
                if nu != int(nu) or nu < 0:
                    reject(f"non-integer stoichiometry {nu:g} of {ref.getSpecies()!r} in reaction {rid!r}")
                if ref.getSpecies() in ruled:
                    reject(f"reaction {rid!r} changing {ref.getSpecies()!r}, which an assignment rule sets")
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
        local = {law.getParameter(k).getId(): expression.num(law.getParameter(k).getValue())
                 for k in range(law.getNumParameters())}
        raw = expression.substitute(mathml.convert(law.getMath(), f"the kinetic law of reaction {rid!r}"), local)
        e = prepare(expression.substitute(raw, {s: ex for s, ex in rules_by_name(rules, species).items()}),
                    f"the kinetic law of reaction {rid!r}")
        reads = expression.symbols(e)
        for f in fixed & set(reactants):
            if species[f] not in reads:  # a source the law does not read: no part of it
                reactants.pop(f)
                products.pop(f, None)
        rate = _mass_action_constant(e, reactants, species) if not reads & (set(variable) | bound) else None
        if rate is not None:
            if rate < 0:
                raise InputError(f"{where}: reaction {rid!r} has a negative rate constant ({rate:g})")
            reactions.append(Reaction(rid, tuple(sorted(reactants.items())), tuple(sorted(products.items())), rate))
        else:
            reactions.append(Reaction(rid, tuple(sorted(reactants.items())), tuple(sorted(products.items())), 1.0,
                                      law=e))
    if not reactions:
        raise InputError(f"{where} declares no reactions")

    events = [_event(mathml, model.getEvent(i), where, prepare, species, variable, assigned, per_volume)
              for i in range(model.getNumEvents())]
    for sid, amount in zip(species, initial):
        if sid in ruled:
            continue
        if amount < 0 or amount != int(amount):
            raise InputError(f"{where}: species {sid!r} initialAmount must be a non-negative integer (got {amount:g})")
    timed = sorted((e for e in events if e.time is not None), key=lambda e: e.time)
    state = [e for e in events if e.time is None]
    parameters = tuple(variable.items())
    return Network(tuple(species), tuple(int(a) if a is not None else 0 for a in initial), tuple(reactions),
                   str(path), tuple(timed + state), parameters, rules)


def set_by_events_of(model) -> set[str]:
    return {model.getEvent(i).getEventAssignment(k).getVariable() for i in range(model.getNumEvents())
            for k in range(model.getEvent(i).getNumEventAssignments())}


def rules_by_name(rules, species) -> dict[str, Expr]:
    return {species[s]: e for s, e in rules}


def _value(e: Expr, values: dict) -> float | None:
    """The number ``e`` comes to from ``values``, or None if it reads anything else."""
    if expression.symbols(e) - {k for k, v in values.items() if v is not None}:
        return None
    return expression.value(e, {k: v for k, v in values.items() if v is not None})


def _event(mathml: _Math, event, where: str, prepare, species: list[str], variable: dict,
           assigned: dict, per_volume: set[str]) -> Event:
    """An event without delay or priority: on the time passing a constant, or on the state."""
    name = event.getId() or "(unnamed)"
    if event.isSetDelay():
        raise InputError(f"{where}: event {name!r} has a delay; only events without delay are simulated")
    if event.isSetPriority():
        raise InputError(f"{where}: event {name!r} has a priority; only events without one are simulated")
    trigger = event.getTrigger()
    if trigger is None or trigger.getMath() is None:
        raise InputError(f"{where}: event {name!r} has no trigger")
    raw = mathml.convert(trigger.getMath(), f"the trigger of event {name!r}")
    cond = prepare(raw, f"the trigger of event {name!r}", time=True)
    when = None
    if "time" in expression.symbols(cond):
        ok = cond[0] == "cmp" and cond[1] in (">=", ">") and cond[2] == expression.sym("time") \
            and cond[3][0] == "num"
        if not ok:
            raise InputError(f"{where}: event {name!r} is triggered by {mathml.formula(trigger.getMath())!r}; "
                             "a trigger on the time must be time >= T (T a constant), not mixed with the state")
        when = max(cond[3][1], 0.0)
    assignments = []
    for k in range(event.getNumEventAssignments()):
        a = event.getEventAssignment(k)
        target = a.getVariable()
        if target not in species and target not in variable or target in assigned:
            raise InputError(f"{where}: event {name!r} assigns {target!r}; only species and non-constant "
                             "parameters without an assignment rule can be assigned")
        if target in per_volume:
            raise InputError(f"{where}: event {name!r} assigns the concentration of {target!r}; only species in "
                             "amounts (hasOnlySubstanceUnits=\"true\") can be assigned")
        assignments.append((target, prepare(mathml.convert(a.getMath(), f"an assignment of event {name!r}"),
                                            f"an assignment of event {name!r}")))
    initial = trigger.getInitialValue() if trigger.isSetInitialValue() else True
    return Event(name, tuple(assignments), when, None if when is not None else cond, bool(initial))


def _mass_action_constant(law: Expr, reactants: dict[int, int], species: list[str]) -> float | None:
    """The stochastic constant ``c`` of TOML networks (propensity ``c·Π C(x, ν)``) if
    ``law`` is a constant times ``Π x(x−1)…(x−ν+1)`` over the reactants with their
    stoichiometries (a concentration ``x/V`` as a first-order reactant), else None."""
    term = _product(law, species)
    if term is None:
        return None
    rate, shifts = term
    if set(shifts) != {s for s, v in reactants.items() if v > 0}:
        return None
    for s, v in shifts.items():
        nu = reactants[s]
        if sorted(v) != list(range(nu)):
            return None
        rate *= math.factorial(nu)  # x(x−1)…(x−ν+1) = ν!·C(x, ν)
    return rate


def _product(e: Expr, species: list[str]):
    """``(constant, {species index: [shifts]})`` if ``e`` is a product (and quotient by
    constants) of numbers, counts ``x`` and shifted counts ``x − m``; else None."""
    kind = e[0]
    if kind == "num":
        return e[1], {}
    if kind == "sym" and e[1] in species:
        return 1.0, {species.index(e[1]): [0]}
    if kind == "bin" and e[1] == "*":
        a, b = _product(e[2], species), _product(e[3], species)
        if a is None or b is None:
            return None
        shifts = {s: list(v) for s, v in a[1].items()}
        for s, v in b[1].items():
            shifts.setdefault(s, []).extend(v)
        return a[0] * b[0], shifts
    if kind == "bin" and e[1] == "/":
        a, b = _product(e[2], species), _product(e[3], species)
        if a is None or b is None or b[1] or b[0] == 0:
            return None
        return a[0] / b[0], a[1]
    if kind == "bin" and e[1] == "-" and e[2][0] == "sym" and e[2][1] in species and e[3][0] == "num":
        m = e[3][1]
        if m == int(m) and m >= 1:
            return 1.0, {species.index(e[2][1]): [int(m)]}
    return None
