"""One cell type at run time: its network written on the store's species columns,
the integrator of that network, and its behaviour evaluated on a contiguous block
of the store (numpy and numba kernels; no MPI).

The store has one count column per species of *any* type (a species of the same
name is the same molecule in every type). A type's network is re-indexed onto
those columns (:func:`on_species`), so its SSA kernel — specialised to that
network — advances the rows of its cells in place, and a cell that changes type
keeps the molecules of the species both networks share.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config.agents import Agents, CellType, Fate
from ..config.network import Modulation, Network
from .assignments import CellState
from .bodies import growth_law
from .compiled import modulation_factor
from .integrator import NetworkIntegrator
from .lifecycle import event_uniforms
from .rules import respond


def on_species(network: Network, species: tuple[str, ...]) -> Network:
    """``network`` with its species indices moved to the columns ``species`` (a
    superset of its own); the other columns start at 0 and take no part."""
    column = [species.index(s) for s in network.species]
    initial = [0] * len(species)
    for s, n in zip(column, network.initial):
        initial[s] = n
    reactions = tuple(replace(r, reactants=tuple(sorted((column[s], v) for s, v in r.reactants)),
                              products=tuple(sorted((column[s], v) for s, v in r.products)))
                      for r in network.reactions)
    rules = tuple((column[s], e) for s, e in network.rules)
    return Network(tuple(species), tuple(initial), reactions, network.source, network.events, network.parameters,
                   rules)


PIECE = 1 << 40
"""Offset of the random streams' step key for the pieces of a step after a time event."""


class CellKind:
    """The cell type ``index`` of ``agents`` (:class:`~hybridsim.config.agents.CellType`),
    ready to act on blocks of an :class:`~hybridsim.agents.store.AgentStore`."""

    def __init__(self, index: int, agents: Agents):
        self.index = index
        self.config: CellType = agents.types[index]
        self.name = self.config.name
        self.species = agents.species
        self.own_network = self.config.network
        self.network = on_species(self.config.network, self.species)
        self.integrator = NetworkIntegrator(self.network, agents.method, agents.tau_epsilon, agents.hybrid_threshold)
        self.timed_events = tuple(e for e in self.network.events if e.time is not None)
        self.body = self.config.body
        self.secreted = tuple(agents.secreted_fields.index(f) for f in self.network.secreted_fields)
        self._type_index = agents.type_index

    @property
    def rules(self) -> tuple:
        """Every phenotype rule of the type."""
        c = self.config
        out = c.division.rules + c.death.rules + c.motility.rules
        out += sum((u.rules for u in c.uptake), ()) + sum((x.when.rules for x in c.changes), ())
        if c.chemotaxis is not None:
            out += c.chemotaxis.rules
        if c.body is not None:
            out += c.body.growth_rules
        return out

    def column(self, species: str) -> int:
        return self.species.index(species)

    def species_factor(self, block, modulation: Modulation | None):
        """A species modulation on the cells of ``block`` (1.0 without one)."""
        if modulation is None:
            return 1.0
        return modulation_factor(modulation, block.counts[:, self.column(modulation.source)])

    @staticmethod
    def active(block) -> np.ndarray | float:
        """1 for the cells that act (move, take up, divide), 0 for the necrotic."""
        if not block.has("necrotic"):
            return 1.0
        return (block.column("necrotic") == 0).astype(float)

    def signal(self, block, rule, fields) -> np.ndarray:
        """The values of ``rule``'s signal at the cells of ``block`` (``fields``: the
        block's sampled fields); 0 at necrotic cells unless the rule applies to them."""
        if rule.kind == "species":
            values = block.counts[:, self.column(rule.source)].astype(float)
        elif rule.kind == "field":
            values = np.asarray(fields[rule.source], dtype=float)
        elif rule.kind == "contact":
            values = block.column("contacts")[:, self._type_index(rule.source)]
        else:  # pressure, volume
            values = block.column(rule.kind)
        if not rule.applies_to_dead and block.has("necrotic"):
            values = values * (block.column("necrotic") == 0)
        return values

    def ruled(self, block, base, rules, fields) -> np.ndarray | float:
        """``base`` (per cell, or one number) under the phenotype ``rules``."""
        if not rules:
            return base
        return respond(np.broadcast_to(base, (block.n,)), rules, [self.signal(block, r, fields) for r in rules])

    def react(self, block, dt: float, step: int, seed: int, fields, exports: np.ndarray, t0: float = 0.0) -> int:
        """Advance the networks of ``block``'s cells from ``t0`` by ``dt`` min; ``exports``
        (its rows, every secreted field's column) receives what they release. A time
        event in ``(t0, t0 + dt]`` (or at 0, in the first step) stops the clock: the piece before it uses the step's
        random streams, the ``j``-th piece after an event ``step + j·2⁴⁰`` (no step
        reaches that), so a network without time events draws what it always did.
        Returns the events."""
        mods = self.network.modulations
        factors = np.empty((block.n, len(mods)))
        for m, mod in enumerate(mods):
            factors[:, m] = modulation_factor(mod, fields[mod.source])
        own = np.zeros((block.n, len(self.secreted)), dtype=np.int64)
        t, piece, events = t0, 0, 0
        for event in self.timed_events:
            when = max(event.time, 0.0)
            if not (t0 < when <= t0 + dt or when == t0 == 0.0):  # at the step's end: before its output
                continue
            if when > t:
                events += self._advance(block, factors, when - t, seed, step + piece * PIECE, own)
                t, piece = when, piece + 1
            self._state(block, factors).assign(event)
        if t0 + dt > t:
            events += self._advance(block, factors, t0 + dt - t, seed, step + piece * PIECE, own)
        if self.secreted:
            exports[:, list(self.secreted)] += own
        return events

    def _state(self, block, factors) -> CellState:
        p = len(self.network.parameters)
        params = block.column("network_state")[:, :p] if p else np.zeros((block.n, 0))
        return CellState(self.network, block.counts, params, factors)

    def _advance(self, block, factors, interval: float, seed: int, key: int, own) -> int:
        if not self.network.state_width:
            events = self.integrator.advance(block.counts, block.ids, factors, interval, seed, key, own)
        else:  # the cells' parameters and trigger values, through the kernel and back into the store
            state = block.column("network_state")
            p = len(self.network.parameters)
            params = np.ascontiguousarray(state[:, :p])
            flags = state[:, p:self.network.state_width].astype(np.int64)
            events = self.integrator.advance(block.counts, block.ids, factors, interval, seed, key, own, params,
                                             flags)
            state[:, :p] = params
            state[:, p:self.network.state_width] = flags
        if self.network.rules:
            self._state(block, factors).apply_rules()
        return events

    def fires(self, block, fate: Fate, dt: float, step: int, seed: int, stream: int, fields) -> np.ndarray:
        """Which cells of ``block`` undergo ``fate`` during this step (``fields``: the
        block's sampled fields)."""
        fires = np.zeros(block.n, dtype=bool)
        rate = 0.0
        if fate.rate > 0:
            rate = fate.rate * self.species_factor(block, fate.modulation)
        rate = self.ruled(block, rate, fate.rules, fields)
        if fate.contact:
            touching = block.column("contacts")
            for name, per_contact in fate.contact:
                rate = rate + per_contact * touching[:, self._type_index(name)]
        if fate.rate > 0 or fate.contact or fate.rules:
            fires |= event_uniforms(block.ids, seed, stream, step) < -np.expm1(-np.asarray(rate) * dt)
        if fate.threshold is not None:
            th = fate.threshold
            x = fields[th.species] if th.field else block.counts[:, self.column(th.species)]
            fires |= (x >= th.value) if th.above else (x <= th.value)
        if fate.min_age > 0:
            fires &= block.age >= fate.min_age
        if fate.pressure is not None:
            p = block.column("pressure")
            fires &= (p > fate.pressure.value) if fate.pressure.above else (p < fate.pressure.value)
        return fires

    def speed(self, block, fields=None) -> np.ndarray:
        """Speed (persistent walk, µm/min) or diffusivity (Brownian, µm²/min) per cell."""
        m = self.config.motility
        base = m.speed if m.kind == "persistent" else m.diffusivity
        base = self.ruled(block, base * self.species_factor(block, m.modulation), m.rules, fields)
        return np.broadcast_to(base * self.active(block), (block.n,)).astype(float)

    def drift(self, block, gradient: np.ndarray, fields=None) -> np.ndarray:
        """Chemotactic drift (µm/min) of ``block``'s cells from the field gradient there."""
        c = self.config.chemotaxis
        v = np.asarray(self.ruled(block, c.sensitivity, c.rules, fields))[..., None] * gradient
        if c.max_speed > 0:
            v /= (1.0 + np.linalg.norm(v, axis=1) / c.max_speed)[:, None]
        active = self.active(block)
        return v if np.isscalar(active) else v * active[:, None]

    def uptake_rate(self, block, uptake, fields=None) -> np.ndarray:
        """Clearance of ``uptake`` per cell of ``block``, µm³/min."""
        rate = self.ruled(block, uptake.rate * self.species_factor(block, uptake.modulation), uptake.rules, fields)
        return np.broadcast_to(rate * self.active(block), (block.n,)).astype(float)

    def growth_rate(self, block, fields) -> np.ndarray | None:
        """Growth (µm³/min) per cell under the body's phenotype rules, or None without
        rules (the body's own law then applies)."""
        body = self.body
        if not body.growth_rules:
            return None
        base = growth_law(body, lambda modulation: self.species_factor(block, modulation), fields)
        return self.ruled(block, base, body.growth_rules, fields)

    def entering(self, counts: np.ndarray, source: CellKind, unshared: str) -> None:
        """Change the count rows of cells that turn from type ``source`` into this one:
        shared species keep their molecules, this type's other species start at its
        initial counts, and ``source``'s species this type lacks are set to 0 (``unshared
        = "drop"``) or kept (``"keep"``)."""
        mine = set(self.own_network.species)
        theirs = set(source.own_network.species)
        for s, n in zip(self.own_network.species, self.own_network.initial):
            if s not in theirs:
                counts[:, self.column(s)] = n
        if unshared == "drop":
            for s in theirs - mine:
                counts[:, self.column(s)] = 0


class Block:
    """Rows ``start:stop`` of a store, with the store's read interface (views)."""

    __slots__ = ("store", "rows", "n")

    def __init__(self, store, start: int, stop: int):
        self.store = store
        self.rows = slice(start, stop)
        self.n = stop - start

    def column(self, name: str) -> np.ndarray:
        return self.store.column(name)[self.rows]

    def has(self, name: str) -> bool:
        return self.store.has(name)

    @property
    def ids(self):
        return self.store.ids[self.rows]

    @property
    def position(self):
        return self.store.position[self.rows]

    @property
    def counts(self):
        return self.store.counts[self.rows]

    @property
    def age(self):
        return self.store.age[self.rows]

    @property
    def direction(self):
        d = self.store.direction
        return None if d is None else d[self.rows]

    @property
    def reservoir(self):
        r = self.store.reservoir
        return None if r is None else r[self.rows]
