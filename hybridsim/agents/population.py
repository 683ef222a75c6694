"""The cells one rank owns and what they do in one step (no MPI here).

:class:`CellPopulation` holds an :class:`AgentStore` and applies, on whole
arrays, the stages of a step that involve no other rank: exact SSA over the
step, the phenotype (speed and rates from protein counts), death and division
decisions, the daughters' creation, motility and the boundaries, and — for cells
with a body (:mod:`.bodies`) — growth, necrosis and one contact substep. The caller
(:class:`hybridsim.simulation.Simulation`) supplies what needs communication:
field values at the agents, ids for daughters, ghost copies and migration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..config.agents import Agents, Fate
from ..config.network import Modulation, Network
from . import bodies
from .compiled import modulation_factor
from .integrator import NetworkIntegrator
from .lifecycle import event_uniforms, split_counts, unit_vectors
from .motility import BOUNDARY_KINDS, apply_boundaries, brownian_step, persistent_step
from .rng import STREAM_DEATH, STREAM_DIVISION
from .store import GROWTH, AgentStore, column_bytes

_NO_ROWS = np.zeros((0, 1))


def rows_of(values: np.ndarray, ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The rows of ``values`` (one per id in ``ids``, ids distinct) for each id in
    ``wanted``: per-cell data of a step that must follow the cells through deaths
    (rows removed and reordered) and divisions (a daughter takes its mother's id here)."""
    order = np.argsort(ids, kind="stable")
    return values[order[np.searchsorted(ids, wanted, sorter=order)]]


def columns_of(agents: Agents, dim: int, n_species: int) -> dict[str, int]:
    """Bytes per agent of each store column the config ``agents`` needs."""
    body = agents.body
    return column_bytes(dim, n_species, agents.motility.kind == "persistent", len(agents.reservoirs),
                        body is not None, body is not None and body.necrosis is not None)


def describe_population(agents: Agents, network: Network, domain, n_initial: int, ranks: int) -> list[str]:
    """What ``hybridsim check`` says of the cells: the network, the initial cells and
    their behaviour, and the memory per agent and per rank on ``ranks`` ranks."""
    lines = [f"network ({network.source}): {network.n_species} species, {len(network.reactions)} reactions, "
             "exact SSA per cell"]
    lines += ["  " + line for line in network.describe_lines()]
    kinds = ", ".join(p.kind for p in agents.placements)
    division, death = ("on" if fate.active else "off" for fate in (agents.division, agents.death))
    if agents.body is not None and agents.body.division_volume > 0:
        division = "by volume" if division == "off" else "by rule and by volume"
    lines.append(f"agents: {n_initial} initially ({kinds}); motility {agents.motility.kind}; "
                 f"division {division}; death {death}")
    faces = ", ".join(f"{ax}: {lo}/{hi}" for ax, (lo, hi) in zip("xyz", agents.boundary))
    lines.append(f"  boundaries (low/high face): {faces}")
    if agents.body is not None:
        lines += ["  " + line for line in bodies.describe(agents.body, domain.dim)]
    columns = columns_of(agents, domain.dim, network.n_species)
    per_agent = sum(columns.values())
    parts = ", ".join(f"{name} {b}" for name, b in columns.items())
    per_rank = math.ceil(n_initial / ranks)
    lines.append(f"  memory per agent: {per_agent} bytes ({parts}); up to {per_agent * GROWTH:.0f} with spare capacity")
    if agents.body is not None:
        lines.append(f"  during a mechanics substep: {bodies.substep_bytes(domain.dim)} bytes more per agent "
                     "(positions with ghosts, velocities, cell list)")
    lines.append(f"  ~{per_rank} agents and ~{per_agent * per_rank * GROWTH / 2**20:.1f} MiB per rank on {ranks} "
                 "rank(s) (if spread evenly)")
    return lines


class CellPopulation:
    """Rank-local cells with their network, motility and fates.

    Parameters
    ----------
    agents, network : the validated ``[agents]`` and ``[network]`` config
    size : domain extent per axis, µm
    seed : random seed of the run
    """

    def __init__(self, agents: Agents, network: Network, size, seed: int):
        self.agents = agents
        self.network = network
        self.size = np.asarray(size, dtype=float)
        self.dim = self.size.size
        self.seed = int(seed)
        self.body = agents.body
        self.store = AgentStore(self.dim, network.n_species, persistent=agents.motility.kind == "persistent",
                                reservoirs=len(agents.reservoirs), body=self.body is not None,
                                necrosis=self.body is not None and self.body.necrosis is not None)
        self.integrator = NetworkIntegrator(network, agents.method, agents.tau_epsilon, agents.hybrid_threshold)
        self.boundary_kinds = np.array([[BOUNDARY_KINDS[k] for k in faces] for faces in agents.boundary],
                                       dtype=np.int64)
        self.events = 0  # reaction events fired on this rank in the last step
        self.non_finite = 0  # coordinates that were infinite or NaN at the last boundary check
        self.absorbed = 0  # cells absorbed by a face during the mechanics substeps (the caller resets it)

    @property
    def n(self) -> int:
        return self.store.n

    @property
    def sampled_fields(self) -> tuple[str, ...]:
        """The fields the cells read at their positions: the network's, and those
        growth and necrosis depend on."""
        names = list(self.network.fields)
        if self.body is not None:
            if self.body.growth_by_field:
                names.append(self.body.growth_modulation.source)
            if self.body.necrosis is not None:
                names.append(self.body.necrosis.field)
        return tuple(dict.fromkeys(names))

    def body_columns(self, k: int) -> dict:
        """Store columns of ``k`` new cells (their initial size), for :meth:`AgentStore.append`."""
        if self.body is None:
            return {}
        return {"volume": np.full(k, self.body.volume), "radius": np.full(k, self.body.radius)}

    def _active(self) -> np.ndarray | float:
        """1 for the cells that act (move, take up, divide), 0 for the necrotic."""
        if not self.store.has("necrotic"):
            return 1.0
        return (self.store.column("necrotic") == 0).astype(float)

    def _species_factor(self, modulation: Modulation | None) -> np.ndarray | float:
        if modulation is None:
            return 1.0
        counts = self.store.counts[:, self.network.index(modulation.source)]
        return modulation_factor(modulation, counts)

    # ------------------------------------------------------------------ stages

    def react(self, dt: float, step: int, fields: Mapping[str, np.ndarray] | None = None,
              exports: np.ndarray | None = None) -> int:
        """Advance every cell's network by ``dt`` min (exact SSA, or tau-leaping if the
        config asks for it). ``fields`` maps a field name to its concentration at each
        agent (for modulated rates); ``exports`` (int64 ``(n, len(secreted_fields))``)
        receives the molecules each cell releases into each field."""
        mods = self.network.modulations
        factors = np.empty((self.n, len(mods)))
        for m, mod in enumerate(mods):
            factors[:, m] = modulation_factor(mod, fields[mod.source])
        self.events = self.integrator.advance(self.store.counts, self.store.ids, factors, dt, self.seed, step,
                                              exports)
        return self.events

    def uptake_rates(self, uptake) -> np.ndarray:
        """Clearance of ``uptake`` per cell, µm³/min."""
        return np.broadcast_to(uptake.rate * self._species_factor(uptake.modulation) * self._active(),
                               (self.n,)).astype(float)

    def receive(self, uptake, molecules: np.ndarray) -> None:
        """Add ``molecules`` (per cell, possibly fractional) taken up by ``uptake``: with
        ``into``, whole molecules join that species and the rest waits in the cell's
        reservoir, so nothing is rounded away."""
        if uptake.into is None:
            return
        k = self.agents.reservoirs.index(uptake)
        reservoir = self.store.reservoir
        reservoir[:, k] += molecules
        whole = np.floor(reservoir[:, k])
        reservoir[:, k] -= whole
        self.store.counts[:, self.network.index(uptake.into)] += whole.astype(np.int64)

    def held(self, species: str) -> float:
        """Molecules of ``species`` held by this rank's cells, including reservoirs feeding it."""
        total = float(self.store.counts[:, self.network.index(species)].sum())
        for k, u in enumerate(self.agents.reservoirs):
            if u.into == species:
                total += float(self.store.reservoir[:, k].sum())
        return total

    def chemotactic_drift(self, gradient: np.ndarray) -> np.ndarray:
        """Drift velocity (µm/min) from the field gradient at each cell."""
        c = self.agents.chemotaxis
        v = c.sensitivity * gradient
        if c.max_speed > 0:
            v /= (1.0 + np.linalg.norm(v, axis=1) / c.max_speed)[:, None]
        active = self._active()
        return v if np.isscalar(active) else v * active[:, None]

    def _fires(self, fate: Fate, dt: float, step: int, stream: int) -> np.ndarray:
        """Which cells undergo ``fate`` during this step."""
        store = self.store
        fires = np.zeros(self.n, dtype=bool)
        if fate.rate > 0:
            rate = fate.rate * self._species_factor(fate.modulation)
            fires |= event_uniforms(store.ids, self.seed, stream, step) < -np.expm1(-rate * dt)
        if fate.threshold is not None:
            x = store.counts[:, self.network.index(fate.threshold.species)]
            fires |= (x >= fate.threshold.value) if fate.threshold.above else (x <= fate.threshold.value)
        if fate.min_age > 0:
            fires &= store.age >= fate.min_age
        if fate.pressure is not None:
            p = store.column("pressure")
            fires &= (p > fate.pressure.value) if fate.pressure.above else (p < fate.pressure.value)
        return fires

    def die(self, dt: float, step: int) -> int:
        """Remove the cells that die during this step; returns how many."""
        if not self.agents.death.active:
            return 0
        dying = np.nonzero(self._fires(self.agents.death, dt, step, STREAM_DEATH))[0]
        self.store.remove(dying)
        return int(dying.size)

    def grow(self, dt: float, fields: Mapping[str, np.ndarray]) -> int:
        """Cells with a body grow (or, necrotic, shrink) over ``dt`` min; the necrotic
        that shrank away are removed. Returns how many were removed."""
        if self.body is None:
            return 0
        gone = bodies.grow(self.store, self.body, dt, self._species_factor, fields)
        self.store.remove(gone)
        return int(gone.size)

    def dividing(self, dt: float, step: int) -> np.ndarray:
        """Indices of the cells that divide during this step (by the division rule or,
        with a body, at the division volume; never the necrotic), in increasing id order."""
        division = self.agents.division
        fires = self._fires(division, dt, step, STREAM_DIVISION) if division.active else np.zeros(self.n, bool)
        if self.body is not None:
            fires |= bodies.ready_to_divide(self.store, self.body)
            fires &= self._active() > 0
        index = np.nonzero(fires)[0]
        return index[np.argsort(self.store.ids[index], kind="stable")]

    def divide(self, mothers: np.ndarray, daughter_ids: np.ndarray, step: int) -> None:
        """Split cells ``mothers`` (indices): molecules binomially, positions one
        diameter apart along a random axis (cells with a body: halved volumes, centres
        inside the mother's body); both daughters restart the cell cycle."""
        if mothers.size == 0:
            return
        store = self.store
        ids = store.ids[mothers]
        counts = store.counts[mothers]
        daughter_counts = split_counts(counts, ids, self.seed, step)
        store.counts[mothers] = counts
        axis = unit_vectors(ids, self.dim, self.seed, STREAM_DIVISION, step)
        columns = {}
        if self.body is not None:
            axis, columns = bodies.split(store, mothers, axis)
        else:
            axis *= 0.5 * self.agents.diameter
        centre = store.position[mothers]
        store.position[mothers] = centre - axis
        store.age[mothers] = 0.0
        direction = None
        if store.direction is not None:
            store.direction[mothers] = 0.0
            direction = np.zeros((mothers.size, self.dim))
        store.append(daughter_ids, centre + axis, daughter_counts, age=0.0, direction=direction, **columns)

    def speed(self) -> np.ndarray:
        """Speed (persistent walk, µm/min) or diffusivity (Brownian, µm²/min) per cell."""
        m = self.agents.motility
        base = m.speed if m.kind == "persistent" else m.diffusivity
        return np.broadcast_to(base * self._species_factor(m.modulation) * self._active(), (self.n,)).astype(float)

    def move(self, dt: float, step: int, drift: np.ndarray | None = None) -> int:
        """Random walk (plus ``drift``, µm/min, e.g. chemotaxis) and boundaries;
        returns the number of cells absorbed by the domain boundary."""
        store = self.store
        m = self.agents.motility
        drift = _NO_ROWS if drift is None else np.ascontiguousarray(drift, dtype=float)
        if m.kind == "brownian":
            brownian_step(store.position, store.ids, self.speed(), drift, dt, self.seed, step)
        elif m.kind == "persistent":
            persistent_step(store.position, store.direction, store.ids, self.speed(), m.persistence, drift, dt,
                            self.seed, step)
        elif drift.shape[0]:
            store.position[...] += drift * dt
        return self._apply_boundaries()

    def push(self, ghosts, interaction: float, dt: float) -> float:
        """One mechanics substep of ``dt`` min under the contact forces of the other
        cells of this rank and of the ``ghosts`` (:func:`~.bodies.contact_step`), then
        the boundaries; returns the largest displacement relative to the cell's radius.
        Cells absorbed by a face are added to :attr:`absorbed`."""
        largest = bodies.contact_step(self.store, self.body, ghosts, interaction, self.size, self.boundary_kinds,
                                      dt)
        self.absorbed += self._apply_boundaries()
        return largest

    def displace(self, delta: np.ndarray) -> int:
        """Move every cell by ``delta`` (µm, ``(n, dim)``; e.g. with the deforming
        tissue), then apply the boundaries; returns the number of cells absorbed."""
        self.store.position[...] += delta
        return self._apply_boundaries()

    def _apply_boundaries(self) -> int:
        """Apply the faces; the cells whose coordinates are not finite are counted in
        :attr:`non_finite` (the caller turns that into an error on every rank)."""
        store = self.store
        alive = np.ones(self.n, dtype=bool)
        direction = store.direction if store.direction is not None else _NO_ROWS
        self.non_finite = apply_boundaries(store.position, direction, self.size, self.boundary_kinds, alive)
        absorbed = np.nonzero(~alive)[0]
        store.remove(absorbed)
        return int(absorbed.size)
