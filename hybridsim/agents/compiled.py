"""A reaction network as the arrays the numba kernels read, and the factors by
which field values or species counts modulate rates (numpy; no MPI).

:func:`compile_network` turns a validated :class:`~hybridsim.config.network.Network`
into a :class:`CompiledNetwork`; :func:`modulation_factor` evaluates a
:class:`~hybridsim.config.network.Modulation` on arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import expression
from ..config.network import Modulation, Network


def modulation_factor(modulation: Modulation, x):
    """``f(x)`` elementwise (``x`` ≥ 0): ``x`` (linear), ``xⁿ/(Kⁿ+xⁿ)`` (hill) or
    ``Kⁿ/(Kⁿ+xⁿ)`` (repress)."""
    x = np.asarray(x, dtype=float)
    if modulation.kind == "linear":
        return x
    xn = np.power(x / modulation.K, modulation.n)
    if modulation.kind == "hill":
        return xn / (1.0 + xn)
    return 1.0 / (1.0 + xn)


@dataclass(frozen=True)
class CompiledNetwork:
    """A network as the arrays the SSA kernels read (see :mod:`.ssa`); made by :func:`compile_network`.

    Rows are reactions; rows of index arrays are padded with -1 (stoichiometry 0)."""

    rate: np.ndarray  # (R,) float64
    modulated: np.ndarray  # (R,) int64, column in the per-agent factor array or -1
    reactant_species: np.ndarray  # (R, max reactants) int64
    reactant_stoich: np.ndarray  # (R, max reactants) int64
    change_species: np.ndarray  # (R, max changes) int64
    change_amount: np.ndarray  # (R, max changes) int64
    dependents: np.ndarray  # (R, max dependents) int64: propensities to recompute after firing
    highest_order: np.ndarray  # (S,) int64: highest order of a reaction consuming the species (0: none)
    highest_stoich: np.ndarray  # (S,) int64: its stoichiometry of the species there
    export_column: np.ndarray  # (R,) int64: column of the secreted field in the exports array, or -1
    export_amount: np.ndarray  # (R,) int64: molecules released per firing
    laws: tuple[str, ...] = ()  # (R,) numba source of each general propensity ("" for mass action)
    reads: tuple[tuple[str, ...], ...] = ()  # (R,) kernel variables (x0, p1, f2) each propensity reads
    events: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # state events: (trigger, ((variable, value)))
    n_parameters: int = 0  # per-cell variable parameters (columns of ``params``)
    field_columns: tuple[int, ...] = ()  # factor columns holding a field concentration an expression reads

    @property
    def general(self) -> bool:
        """Whether a propensity is an expression or the state has events (codegen only)."""
        return any(self.laws) or bool(self.events) or self.n_parameters > 0

    def kernel_args(self):
        return (self.reactant_species, self.reactant_stoich, self.change_species,
                self.change_amount, self.dependents, self.export_column, self.export_amount)



def compile_network(network: Network) -> CompiledNetwork:
    """The arrays of ``network`` that the SSA, tau-leaping and hybrid kernels read."""
    R = len(network.reactions)
    mods = network.modulations
    rate = np.array([r.rate for r in network.reactions], dtype=float)
    modulated = np.array(
        [-1 if r.modulation is None else mods.index(r.modulation) for r in network.reactions], dtype=np.int64
    )

    def padded(rows):
        width = max(1, max((len(row) for row in rows), default=1))
        species = np.full((R, width), -1, dtype=np.int64)
        values = np.zeros((R, width), dtype=np.int64)
        for j, row in enumerate(rows):
            for m, (s, v) in enumerate(row):
                species[j, m] = s
                values[j, m] = v
        return species, values

    reactant_species, reactant_stoich = padded([r.reactants for r in network.reactions])
    changes = []
    for r in network.reactions:
        net: dict[int, int] = {}
        for s, v in r.reactants:
            net[s] = net.get(s, 0) - v
        for s, v in r.products:
            net[s] = net.get(s, 0) + v
        changes.append(sorted((s, v) for s, v in net.items() if v != 0))
    change_species, change_amount = padded(changes)
    name_of = kernel_names(network)
    rules = {network.species[s]: e for s, e in network.rules}
    laws, law_reads = [], []
    for r in network.reactions:
        if r.law is None:
            laws.append("")
            law_reads.append(tuple(f"x{s}" for s, _ in r.reactants))
            continue
        law = expression.substitute(r.law, rules)
        laws.append(expression.to_python(law, name_of))
        law_reads.append(tuple(sorted(name_of(n) for n in expression.symbols(law))))
    state_events = []
    for event in network.events:
        if event.time is None:
            trigger = expression.substitute(event.trigger, rules)
            state_events.append((expression.to_python(trigger, name_of),
                                 tuple((name_of(n), expression.to_python(expression.substitute(e, rules), name_of))
                                       for n, e in event.assignments)))
    deps = []
    for j in range(R):
        changed = {f"x{s}" for s, _ in changes[j]}
        deps.append([(d, 0) for d in range(R) if set(law_reads[d]) & changed])
    dependents, _ = padded(deps)
    highest_order = np.zeros(network.n_species, dtype=np.int64)
    highest_stoich = np.zeros(network.n_species, dtype=np.int64)
    for r in network.reactions:
        order = sum(v for _, v in r.reactants)
        for s, v in r.reactants:
            if order > highest_order[s] or (order == highest_order[s] and v > highest_stoich[s]):
                highest_order[s], highest_stoich[s] = order, v
    secreted = network.secreted_fields
    export_column = np.array([-1 if r.secretes is None else secreted.index(r.secretes[0])
                              for r in network.reactions], dtype=np.int64)
    export_amount = np.array([0 if r.secretes is None else r.secretes[1] for r in network.reactions],
                             dtype=np.int64)
    return CompiledNetwork(rate, modulated, reactant_species, reactant_stoich,
                           change_species, change_amount, dependents, highest_order, highest_stoich,
                           export_column, export_amount, tuple(laws), tuple(law_reads), tuple(state_events),
                           len(network.parameters), tuple(mods.index(Modulation(f)) for f in network.law_fields))


def kernel_names(network: Network):
    """The kernel's variable for each name an expression reads: ``x<s>`` for species
    counts, ``p<k>`` for variable parameters, ``f<m>`` for field concentrations
    (``m`` the factor column)."""
    species = {name: f"x{s}" for s, name in enumerate(network.species)}
    params = {name: f"p{k}" for k, name in enumerate(network.parameter_names)}
    fields = {m.source: f"f{k}" for k, m in enumerate(network.modulations) if m.kind == "linear"}

    def name_of(name: str) -> str:
        return species.get(name) or params.get(name) or fields[name]
    return name_of
