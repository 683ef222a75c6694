"""Intracellular reaction networks: species with initial counts and mass-action
reactions, validated from the TOML layout (SBML: :mod:`.sbml`; files of either
kind: :mod:`.network_file`; the arrays the kernels read:
:mod:`hybridsim.agents.compiled`).

TOML layout (in a run config under ``[network]``, or at the top of a network file)::

    [network.species]          # name = initial count (molecules per cell)
    M = 0
    P = 0
    [[network.reactions]]
    name = "transcription"
    reactants = {}
    products = { M = 1 }
    rate = 2.0                 # 1/min, mass-action constant

Propensities are stochastic mass action: ``c · Π_s C(x_s, ν_s)``, so ``2X → …``
has propensity ``c · X(X−1)/2``. Units of ``c``: 1/min for first-order
reactions, 1/min per molecule^(order−1) otherwise.

A rate may be modulated by the local concentration ``L`` of a field (sampled at
the agent's position once per coupling step)::

    rate = { k = 2.0, field = "ligand" }                         # k · L
    rate = { k = 2.0, field = "ligand", hill = { K = 0.5, n = 2 } }   # k · Lⁿ/(Kⁿ+Lⁿ)
    rate = { k = 2.0, field = "ligand", hill = { K = 0.5, n = 2, repress = true } }
                                                                 # k · Kⁿ/(Kⁿ+Lⁿ)

``K`` is in the field's concentration unit.

Any other propensity is written as an expression (:mod:`.expression`) of species
counts, the network's parameters and field concentrations, in molecules/min::

    [network.parameters]       # name = value, constants the expressions read
    vmax = 50.0
    Km = 20.0
    [[network.reactions]]
    name = "conversion"
    reactants = { S = 1 }
    products = { P = 1 }
    propensity = "vmax * S / (Km + S)"       # the propensity itself: no C(x, ν) applied

An expression is evaluated as written (``"k * P * (P - 1) / 2"`` for a dimerisation);
one that would be negative, infinite or not a number stops the run with a line naming the
reaction. Propensities may not read the time (they must stay constant between
events for the direct method to be exact). Mass-action ``rate`` s keep their faster
kernel; the two forms mix freely in one network. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from . import expression
from .expression import Expr
from .reader import Table, check_count, check_key_name, check_number, describe

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Modulation:
    """A multiplier ``f(x)`` of a rate by a local value ``x`` (a field
    concentration or a species count named ``source``).

    ``kind`` is ``"linear"`` (``x``), ``"hill"`` (``xⁿ/(Kⁿ+xⁿ)``) or
    ``"repress"`` (``Kⁿ/(Kⁿ+xⁿ)``).
    """

    source: str
    kind: str = "linear"
    K: float = 1.0
    n: float = 1.0

    def describe(self, value_name: str, value: float) -> str:
        x = self.source
        if self.kind == "linear":
            return f"{value_name}·{x}"
        h = f"{x}^{self.n:g}/({self.K:g}^{self.n:g}+{x}^{self.n:g})"
        if self.kind == "repress":
            h = f"{self.K:g}^{self.n:g}/({self.K:g}^{self.n:g}+{x}^{self.n:g})"
        return f"{value_name}·{h}"


@dataclass(frozen=True)
class Reaction:
    """A reaction; ``reactants``/``products`` are ``(species index, stoichiometry)``
    pairs. Its propensity is stochastic mass action with constant ``rate`` (and
    ``modulation``), or, when ``law`` is set, that expression of species counts
    (by name), variable parameters and field concentrations (molecules/min)."""

    name: str
    reactants: tuple[tuple[int, int], ...]
    products: tuple[tuple[int, int], ...]
    rate: float
    modulation: Modulation | None = None
    secretes: tuple[str, int] | None = None  # (field, molecules released into it per firing)
    law: Expr | None = None


@dataclass(frozen=True)
class Event:
    """Assignments made at once when ``trigger`` turns from false to true (SBML events
    without delay). ``time`` is set for a trigger on the time alone (``time ≥ T``):
    the SSA's clock stops there; otherwise ``trigger`` is an expression of the state,
    checked after every reaction event, exact because the state changes only there.
    ``assignments`` are ``(name, expression)`` of species or variable parameters,
    all computed from the values before any is made. ``initial`` is the trigger's
    value before t = 0 (false: an event whose trigger holds at the start fires then)."""

    name: str
    assignments: tuple[tuple[str, Expr], ...]
    time: float | None = None
    trigger: Expr | None = None
    initial: bool = True



@dataclass(frozen=True)
class Network:
    species: tuple[str, ...]
    initial: tuple[int, ...]
    reactions: tuple[Reaction, ...]
    source: str = "network"
    events: tuple[Event, ...] = ()  # time events in time order, then state events (well-mixed runs only)
    parameters: tuple[tuple[str, float], ...] = ()  # per-cell variables that events assign, initial values
    rules: tuple[tuple[int, Expr], ...] = ()  # species set by an assignment rule: (index, expression)

    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.parameters)

    @property
    def state_events(self) -> tuple[Event, ...]:
        """The events on the state (checked after every reaction event)."""
        return tuple(e for e in self.events if e.time is None)

    @property
    def state_width(self) -> int:
        """Per-cell state beyond the counts: variable parameters and state events' triggers."""
        return len(self.parameters) + len(self.state_events)

    def initial_state(self) -> tuple[float, ...]:
        """That state at the start: the parameters' values, then the triggers' initial values."""
        return tuple(v for _, v in self.parameters) + tuple(float(e.initial) for e in self.state_events)

    @property
    def general(self) -> bool:
        """Whether something beyond mass action is in the network (laws, events, rules)."""
        return bool(self.events or self.parameters or self.rules) or any(r.law is not None for r in self.reactions)

    def expressions(self) -> list[Expr]:
        """Every expression of the network: laws, rules, triggers and event assignments."""
        out = [r.law for r in self.reactions if r.law is not None] + [e for _, e in self.rules]
        for event in self.events:
            out += ([event.trigger] if event.trigger is not None else []) + [e for _, e in event.assignments]
        return out

    @property
    def law_fields(self) -> tuple[str, ...]:
        """Fields whose concentration an expression reads, in order of first use."""
        known = set(self.species) | set(self.parameter_names)
        seen: dict[str, None] = {}
        for e in self.expressions():
            for name in sorted(expression.symbols(e) - known):
                seen[name] = None
        return tuple(seen)

    @property
    def modulations(self) -> tuple[Modulation, ...]:
        """The distinct modulations, in order of first use (columns of the factor array);
        a field an expression reads has the linear modulation (its concentration)."""
        seen: list[Modulation] = []
        for r in self.reactions:
            if r.modulation is not None and r.modulation not in seen:
                seen.append(r.modulation)
        for name in self.law_fields:
            if Modulation(name) not in seen:
                seen.append(Modulation(name))
        return tuple(seen)

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the fields some rate depends on."""
        return tuple(dict.fromkeys(m.source for m in self.modulations))

    @property
    def secreted_fields(self) -> tuple[str, ...]:
        """Names of the fields that reactions release molecules into (columns of the exports array)."""
        return tuple(dict.fromkeys(r.secretes[0] for r in self.reactions if r.secretes is not None))

    def index(self, name: str) -> int:
        return self.species.index(name)

    def describe_lines(self) -> list[str]:
        """Human-readable lines: species with initial counts, then reactions."""
        lines = ["species: " + ", ".join(f"{s} = {n}" for s, n in zip(self.species, self.initial))]
        for r in self.reactions:
            def side(terms):
                return " + ".join((f"{v}{self.species[s]}" if v > 1 else self.species[s]) for s, v in terms) or "∅"
            if r.law is not None:
                lines.append(f"  {r.name}: {side(r.reactants)} → {side(r.products)}, "
                             f"a = {expression.to_text(r.law)}")
                continue
            rate = f"{r.rate:g}" if r.modulation is None else r.modulation.describe(f"{r.rate:g}", r.rate)
            lines.append(f"  {r.name}: {side(r.reactants)} → {side(r.products)}, c = {rate}")
        for s, e in self.rules:
            lines.append(f"  rule: {self.species[s]} = {expression.to_text(e)}")
        for event in self.events:
            when = f"time >= {event.time:g}" if event.time is not None else expression.to_text(event.trigger)
            sets = ", ".join(f"{name} = {expression.to_text(e)}" for name, e in event.assignments)
            lines.append(f"  event {event.name}: when {when}: {sets}")
        return lines


# --------------------------------------------------------------------------- parsing


def parse_modulated_value(
    raw: Any, key: str, *, value_name: str, unit: str, source_key: str, sources: tuple[str, ...] | None,
    source_kind: str,
) -> tuple[float, Modulation | None]:
    """A number, or ``{ <value_name> = v, <source_key> = "name", hill = { K, n, repress } }``.

    ``sources`` lists the valid names for ``source_key`` (None: not checked here).
    Returns ``(value, modulation or None)``."""
    if not isinstance(raw, dict):
        return check_number(raw, key, unit=unit, minimum=0.0), None
    t = Table(raw, key)
    value = t.number(value_name, unit=unit, minimum=0.0)
    source = t.string(source_key) if sources is None else t.name_in(source_key, sources, source_kind)
    kind, K, n = Modulation.kind, Modulation.K, Modulation.n
    ht = t.table("hill")
    if ht is not None:
        K = ht.number("K", positive=True)
        n = ht.number("n", Modulation.n, positive=True)
        kind = "repress" if ht.boolean("repress", False) else "hill"
        ht.finish()
    t.finish()
    return value, Modulation(source, kind, K, n)


def parse_law(raw: Any, key: str, species: tuple[str, ...], parameters: Mapping[str, float],
              fields: tuple[str, ...] | None) -> Expr:
    """A propensity expression: species counts, ``parameters`` (folded in as numbers)
    and, by any other name, field concentrations (``fields`` lists the valid ones;
    None: any name, checked when the network is used)."""
    law = expression.parse(raw, key)
    for name in sorted(expression.symbols(law)):
        if name == "time":
            raise InputError(f"{key}: a propensity may not read the time (it must stay constant between events "
                             "for the SSA to be exact); use an event or a field")
        if name in species or name in parameters:
            continue
        if fields is not None and name not in fields:
            known = ", ".join(list(species) + list(parameters) + list(fields))
            raise InputError(f"{key}: unknown name {name!r} in {raw!r} (species, parameters and fields: {known})")
    return expression.fold(expression.substitute(law, {p: expression.num(v) for p, v in parameters.items()}))


def _stoichiometry(raw: Any, key: str, species: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    if not isinstance(raw, dict):
        raise InputError(f"{key} must be a table of species = count, e.g. {{ M = 1 }} (got {describe(raw)})")
    out = []
    for name, nu in raw.items():
        check_key_name(f"{key}.{name}", name, species, "species of the network")
        check_count(nu, f"{key}.{name}")
        if nu > 0:
            out.append((species.index(name), nu))
    return tuple(sorted(out))


def parse_network(data: Any, key: str = "network", *, fields: tuple[str, ...] | None = None,
                  source: str = "network") -> Network:
    """Validate a network given as a dict in the TOML layout.

    ``fields`` lists the field names a rate may depend on (None: any name; checked
    when the network is used)."""
    t = data if isinstance(data, Table) else Table(data, key) if isinstance(data, dict) else None
    if t is None:
        raise InputError(f"{key} must be a table with species and reactions (got {describe(data)})")
    st = t.table("species", required=True)
    species, initial = [], []
    for name, count in st.data.items():
        if not _NAME.match(name):
            raise InputError(f"{st.key(name)}: {name!r} is not a valid species name (letters, digits, '_')")
        check_count(count, st.key(name), "initial count")
        species.append(name)
        initial.append(count)
        st.used.add(name)
    if not species:
        raise InputError(f"{st.path} must declare at least one species, e.g. M = 0")
    species_t = tuple(species)
    parameters: dict[str, float] = {}
    pt = t.table("parameters")
    if pt is not None:
        for name in list(pt.data):
            if not _NAME.match(name) or name in species_t or name == "time":
                what = "a species" if name in species_t else "not a valid parameter name"
                raise InputError(f"{pt.key(name)}: {name!r} is {what} (parameters are names of their own)")
            parameters[name] = pt.number(name)
        pt.finish()
    raw_reactions = t.raw("reactions")
    if not isinstance(raw_reactions, list) or not raw_reactions:
        raise InputError(f"{t.key('reactions')} must be a non-empty list of tables ([[{t.key('reactions')}]])")
    reactions = []
    names = set()
    for i, item in enumerate(raw_reactions):
        rkey = f"{t.key('reactions')}[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{rkey} must be a table (got {describe(item)})")
        rt = Table(item, rkey)
        name = rt.string("name", f"reaction{i + 1}")
        if name in names:
            raise InputError(f"{rt.key('name')}: reaction name {name!r} is used twice")
        names.add(name)
        reactants = _stoichiometry(rt.raw("reactants", {}), rt.key("reactants"), species_t)
        products = _stoichiometry(rt.raw("products", {}), rt.key("products"), species_t)
        law = None
        if rt.raw("propensity", None) is not None:
            if rt.raw("rate", None) is not None:
                raise InputError(f"{rkey} ({name}) has both rate and propensity; give one")
            law = parse_law(rt.raw("propensity"), rt.key("propensity"), species_t, parameters, fields)
            rate, modulation = 1.0, None
        else:
            rate, modulation = parse_modulated_value(
                rt.raw("rate"), rt.key("rate"), value_name="k", unit="1/min", source_key="field",
                sources=fields, source_kind="field species")
        secretes = None
        st_raw = rt.raw("secretes", None)
        if st_raw is not None:
            key_s = rt.key("secretes")
            if not isinstance(st_raw, dict) or len(st_raw) != 1:
                raise InputError(f"{key_s} must name one field and the molecules released per firing, "
                                 f"e.g. {{ cytokine = 1 }}")
            (field_name, amount), = st_raw.items()
            if fields is not None:
                check_key_name(f"{key_s}.{field_name}", field_name, fields, "field species")
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
                raise InputError(f"{key_s}.{field_name} must be a positive integer (molecules per firing)")
            secretes = (field_name, amount)
        rt.finish()
        if not reactants and not products and secretes is None:
            raise InputError(f"{rkey} ({name}) has neither reactants nor products")
        reactions.append(Reaction(name, reactants, products, rate, modulation, secretes, law))
    t.finish()
    return Network(species_t, tuple(initial), tuple(reactions), source)
