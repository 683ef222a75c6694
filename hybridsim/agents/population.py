"""The cells one rank owns and what they do in one step (no MPI here).

:class:`CellPopulation` holds an :class:`AgentStore` and applies, on whole
arrays, the stages of a step that involve no other rank: exact SSA over the
step, the phenotype (speed and rates from protein counts), death and division
decisions, the daughters' creation, motility and the boundaries. The caller
(:class:`hybridsim.simulation.Simulation`) supplies what needs communication:
field values at the agents, ids for daughters, and migration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..config.agents import Agents, Fate
from ..config.network import Modulation, Network
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


def describe_population(agents: Agents, network: Network, domain, n_initial: int, ranks: int) -> list[str]:
    """What ``hybridsim check`` says of the cells: the network, the initial cells and
    their behaviour, and the memory per agent and per rank on ``ranks`` ranks."""
    lines = [f"network ({network.source}): {network.n_species} species, {len(network.reactions)} reactions, "
             "exact SSA per cell"]
    lines += ["  " + line for line in network.describe_lines()]
    kinds = ", ".join(p.kind for p in agents.placements)
    division, death = ("on" if fate.active else "off" for fate in (agents.division, agents.death))
    lines.append(f"agents: {n_initial} initially ({kinds}); motility {agents.motility.kind}; "
                 f"division {division}; death {death}")
    faces = ", ".join(f"{ax}: {lo}/{hi}" for ax, (lo, hi) in zip("xyz", agents.boundary))
    lines.append(f"  boundaries (low/high face): {faces}")
    columns = column_bytes(domain.dim, network.n_species, agents.motility.kind == "persistent")
    per_agent = sum(columns.values())
    parts = ", ".join(f"{name} {b}" for name, b in columns.items())
    per_rank = math.ceil(n_initial / ranks)
    lines.append(f"  memory per agent: {per_agent} bytes ({parts}); up to {per_agent * GROWTH:.0f} with spare capacity")
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
        self.store = AgentStore(self.dim, network.n_species, persistent=agents.motility.kind == "persistent",
                                reservoirs=len(agents.reservoirs))
        self.integrator = NetworkIntegrator(network, agents.method, agents.tau_epsilon, agents.hybrid_threshold)
        self.boundary_kinds = np.array([[BOUNDARY_KINDS[k] for k in faces] for faces in agents.boundary],
                                       dtype=np.int64)
        self.events = 0  # reaction events fired on this rank in the last step
        self.non_finite = 0  # coordinates that were infinite or NaN at the last boundary check

    @property
    def n(self) -> int:
        return self.store.n

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
        return np.broadcast_to(uptake.rate * self._species_factor(uptake.modulation), (self.n,)).astype(float)

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
        return v

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
        return fires

    def die(self, dt: float, step: int) -> int:
        """Remove the cells that die during this step; returns how many."""
        if not self.agents.death.active:
            return 0
        dying = np.nonzero(self._fires(self.agents.death, dt, step, STREAM_DEATH))[0]
        self.store.remove(dying)
        return int(dying.size)

    def dividing(self, dt: float, step: int) -> np.ndarray:
        """Indices of the cells that divide during this step, in increasing id order."""
        if not self.agents.division.active:
            return np.empty(0, dtype=np.int64)
        index = np.nonzero(self._fires(self.agents.division, dt, step, STREAM_DIVISION))[0]
        return index[np.argsort(self.store.ids[index], kind="stable")]

    def divide(self, mothers: np.ndarray, daughter_ids: np.ndarray, step: int) -> None:
        """Split cells ``mothers`` (indices): molecules binomially, positions one
        diameter apart along a random axis; both daughters restart the cell cycle."""
        if mothers.size == 0:
            return
        store = self.store
        ids = store.ids[mothers]
        counts = store.counts[mothers]
        daughter_counts = split_counts(counts, ids, self.seed, step)
        store.counts[mothers] = counts
        axis = unit_vectors(ids, self.dim, self.seed, STREAM_DIVISION, step) * (0.5 * self.agents.diameter)
        centre = store.position[mothers]
        store.position[mothers] = centre - axis
        store.age[mothers] = 0.0
        direction = None
        if store.direction is not None:
            store.direction[mothers] = 0.0
            direction = np.zeros((mothers.size, self.dim))
        store.append(daughter_ids, centre + axis, daughter_counts, age=0.0, direction=direction)

    def speed(self) -> np.ndarray:
        """Speed (persistent walk, µm/min) or diffusivity (Brownian, µm²/min) per cell."""
        m = self.agents.motility
        base = m.speed if m.kind == "persistent" else m.diffusivity
        return np.broadcast_to(base * self._species_factor(m.modulation), (self.n,)).astype(float)

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
