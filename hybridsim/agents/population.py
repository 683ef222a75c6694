"""The cells one rank owns and what they do in one step (no MPI here).

:class:`CellPopulation` holds an :class:`AgentStore` and applies, on whole
arrays, the stages of a step that involve no other rank: exact SSA over the
step, the phenotype (speed and rates from protein counts), death and division
decisions, type changes, the daughters' creation, motility and the boundaries, and
— for cells with a body (:mod:`.bodies`) — growth, necrosis and one contact
substep. The caller (:class:`hybridsim.simulation.Simulation`) supplies what needs
communication: field values at the agents, ids for daughters, ghost copies and
migration.

With several cell types the rows are kept grouped by type
(:meth:`AgentStore.group_by_type`) and each type (:class:`~.cell_kind.CellKind`)
acts on its contiguous block, so each network's own SSA kernel runs over
contiguous arrays. Per-cell values of the current step (sampled fields, the
chemotactic drift) are kept in :attr:`CellPopulation.carry` and follow the rows
through deaths, regrouping and divisions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..config.agents import Agents
from . import bodies
from .cell_kind import Block, CellKind
from .description import network_state_width
from .lifecycle import split_counts, unit_vectors
from .motility import BOUNDARY_KINDS, apply_boundaries, brownian_step, persistent_step
from .rng import STREAM_CHANGE, STREAM_DEATH, STREAM_DIVISION
from .store import AgentStore

_NO_ROWS = np.zeros((0, 1))


class CellPopulation:
    """Rank-local cells of every type with their networks, motility and fates.

    Parameters
    ----------
    agents : the validated ``[agents]`` (and ``[cell_types]``) config
    size : domain extent per axis, µm
    seed : random seed of the run
    """

    def __init__(self, agents: Agents, size, seed: int):
        self.agents = agents
        self.species = agents.species
        self.size = np.asarray(size, dtype=float)
        self.dim = self.size.size
        self.seed = int(seed)
        self.kinds = tuple(CellKind(k, agents) for k in range(len(agents.types)))
        self.store = AgentStore(self.dim, len(self.species), persistent=agents.persistent,
                                reservoirs=len(agents.reservoirs), body=agents.has_bodies, necrosis=agents.necrosis,
                                typed=agents.named, contact_types=len(agents.types) if agents.contacts else 0,
                                network_state=network_state_width(agents))
        self.boundary_kinds = np.array([[BOUNDARY_KINDS[k] for k in faces] for faces in agents.boundary],
                                       dtype=np.int64)
        self.contact_law = bodies.ContactLaw.of(agents) if agents.has_bodies else None
        self.carry: dict[str, np.ndarray] = {}  # per-cell values of this step that follow the rows
        self.events = 0  # reaction events fired on this rank in the last step
        self.changed = 0  # type changes on this rank in the last step
        self.non_finite = 0  # coordinates that were infinite or NaN at the last boundary check
        self.absorbed = 0  # cells absorbed by a face during the mechanics substeps (the caller resets it)

    @property
    def n(self) -> int:
        return self.store.n

    @property
    def network(self):
        """The network of a single-type run (on the store's species)."""
        if len(self.kinds) != 1:
            raise ValueError("this run has several cell types: see CellPopulation.kinds")
        return self.kinds[0].network

    @property
    def body(self):
        """The body of a single-type run's cells (None: point cells)."""
        return self.kinds[0].body if len(self.kinds) == 1 else None

    @property
    def sampled_fields(self) -> tuple[str, ...]:
        """The fields the cells read at their positions: the networks', those growth and
        necrosis depend on, and those a fate or type change has a threshold on."""
        names = []
        for kind in self.kinds:
            cell = kind.config
            names += kind.network.fields
            if cell.body is not None:
                if cell.body.growth_by_field:
                    names.append(cell.body.growth_modulation.source)
                if cell.body.necrosis is not None:
                    names.append(cell.body.necrosis.field)
            for fate in (cell.division, cell.death) + tuple(c.when for c in cell.changes):
                if fate.threshold is not None and fate.threshold.field:
                    names.append(fate.threshold.species)
            names += [r.source for r in kind.rules if r.kind == "field"]
        return tuple(dict.fromkeys(names))

    @property
    def uptake_signals(self) -> tuple[str, ...]:
        """The fields that phenotype rules on an uptake read."""
        return tuple(dict.fromkeys(r.source for kind in self.kinds for u in kind.config.uptake for r in u.rules
                                   if r.kind == "field"))

    def type_column(self) -> np.ndarray:
        """The type index of every cell."""
        if self.store.has("type"):
            return self.store.column("type")
        return np.zeros(self.n, dtype=np.int64)

    def new_columns(self, kind: int | np.ndarray, k: int) -> dict:
        """Store columns of ``k`` new cells of type ``kind`` (an index, or one per cell):
        the type and the initial size of its body, for :meth:`AgentStore.append`."""
        kinds = np.broadcast_to(np.asarray(kind, dtype=np.int64), (k,))
        out = {}
        if self.store.has("type"):
            out["type"] = kinds.copy()
        if self.agents.has_bodies:
            radius = np.array([c.body.radius for c in self.agents.types])[kinds]
            volume = np.array([c.body.volume for c in self.agents.types])[kinds]
            out.update(volume=volume, radius=radius)
        if self.store.has("network_state"):
            out["network_state"] = self.initial_network_state()[kinds]
        return out

    def initial_network_state(self) -> np.ndarray:
        """``(types, W)``: each type's network state at the start (:attr:`Network.initial_state`)."""
        width = self.store.column("network_state").shape[1]
        out = np.zeros((len(self.kinds), width))
        for k, kind in enumerate(self.kinds):
            start = kind.network.initial_state()
            out[k, :len(start)] = start
        return out

    def body_columns(self, k: int) -> dict:
        """Store columns of ``k`` new cells of the first type (its initial size)."""
        return self.new_columns(0, k)

    def blocks(self):
        """``(kind, block)`` for every type with cells here, the rows grouped by type first."""
        if len(self.kinds) == 1:
            return [(self.kinds[0], Block(self.store, 0, self.n))] if self.n else []
        b = self.store.group_by_type(len(self.kinds), self.carry)
        return [(kind, Block(self.store, int(b[k]), int(b[k + 1]))) for k, kind in enumerate(self.kinds)
                if b[k + 1] > b[k]]

    def group(self) -> None:
        """Group the rows by type (:meth:`blocks`), e.g. before building on their order."""
        if len(self.kinds) > 1:
            self.store.group_by_type(len(self.kinds), self.carry)

    def _carried(self, fields, block: Block):
        return {name: values[block.rows] for name, values in (fields or {}).items()}

    def _remove(self, rows) -> None:
        self.store.remove(rows, self.carry)

    # ------------------------------------------------------------------ stages

    def react(self, dt: float, step: int, fields: Mapping[str, np.ndarray] | None = None,
              exports: np.ndarray | None = None, t0: float = 0.0) -> int:
        """Advance every cell's network by ``dt`` min (exact SSA, or tau-leaping if the
        config asks for it), each type's with its own kernel over its block. ``fields``
        maps a field name to its concentration at each agent (for modulated rates);
        ``exports`` (int64 ``(n, len(agents.secreted_fields))``) receives the molecules
        each cell releases into each field; ``t0`` (min) is the step's start, for the
        networks' time events."""
        fields = self.carry if fields is None else fields
        if exports is None:
            exports = np.zeros((self.n, len(self.agents.secreted_fields)), dtype=np.int64)
        events = 0
        for kind, block in self.blocks():
            events += kind.react(block, dt, step, self.seed, self._carried(fields, block), exports[block.rows], t0)
        self.events = events
        return events

    def uptake_rates(self, entry) -> np.ndarray:
        """Clearance per cell (µm³/min) of ``entry``, an ``(type index, uptake)`` of
        :attr:`Agents.uptakes`; 0 for cells of the other types."""
        k, uptake = entry
        rate = np.zeros(self.n)
        for kind, block in self.blocks():
            if kind.index == k:
                rate[block.rows] = kind.uptake_rate(block, uptake, self._carried(self.carry, block))
        return rate

    def receive(self, entry, molecules: np.ndarray) -> None:
        """Add ``molecules`` (per cell, possibly fractional) taken up by ``entry``
        (``(type index, uptake)``): with ``into``, whole molecules join that species and
        the rest waits in the cell's reservoir, so nothing is rounded away."""
        k, uptake = entry
        if uptake.into is None:
            return
        r = self.agents.reservoirs.index(entry)
        reservoir = self.store.reservoir
        mine = self.type_column() == k
        reservoir[mine, r] += molecules[mine]
        whole = np.floor(reservoir[:, r])
        reservoir[:, r] -= whole
        self.store.counts[:, self.species.index(uptake.into)] += whole.astype(np.int64)

    def held(self, species: str) -> float:
        """Molecules of ``species`` held by this rank's cells, including reservoirs feeding it."""
        total = float(self.store.counts[:, self.species.index(species)].sum())
        for r, (_, u) in enumerate(self.agents.reservoirs):
            if u.into == species:
                total += float(self.store.reservoir[:, r].sum())
        return total

    def chemotactic_drift(self, gradients) -> np.ndarray:
        """Drift velocity (µm/min) of every cell from the gradients at the cells
        (``gradients``: field name → ``(n, dim)``, or one array for a single type)."""
        v = np.zeros((self.n, self.dim))
        for kind, block in self.blocks():
            c = kind.config.chemotaxis
            if c is None:
                continue
            g = gradients if isinstance(gradients, np.ndarray) else gradients[c.field]
            v[block.rows] = kind.drift(block, g[block.rows], self._carried(self.carry, block))
        return v

    def die(self, dt: float, step: int) -> int:
        """Remove the cells that die during this step; returns how many."""
        dying = []
        for kind, block in self.blocks():
            if kind.config.death.active:
                fires = kind.fires(block, kind.config.death, dt, step, self.seed, STREAM_DEATH,
                                   self._carried(self.carry, block))
                dying.append(block.rows.start + np.nonzero(fires)[0])
        if not dying:
            return 0
        dying = np.concatenate(dying)
        self._remove(dying)
        return int(dying.size)

    def grow(self, dt: float, fields: Mapping[str, np.ndarray] | None = None) -> int:
        """Cells with a body grow (or, necrotic, shrink) over ``dt`` min; the necrotic
        that shrank away are removed. Returns how many were removed."""
        if not self.agents.has_bodies:
            return 0
        fields = self.carry if fields is None else fields
        gone = []
        for kind, block in self.blocks():
            here = self._carried(fields, block)
            removed = bodies.grow(block, kind.body, dt, lambda mod, k=kind, b=block: k.species_factor(b, mod), here,
                                  kind.growth_rate(block, here))
            gone.append(block.rows.start + removed)
        gone = np.concatenate(gone) if gone else np.empty(0, np.int64)
        self._remove(gone)
        return int(gone.size)

    def change_types(self, dt: float, step: int) -> int:
        """Cells that meet a type change's rule turn into the target type (the first
        rule of their type that fires, in the config's order); returns how many."""
        self.changed = 0
        if not any(kind.config.changes for kind in self.kinds):
            return 0
        targets = np.full(self.n, -1, dtype=np.int64)
        rules = np.full(self.n, -1, dtype=np.int64)
        for kind, block in self.blocks():
            fields = self._carried(self.carry, block)
            for r, change in enumerate(kind.config.changes):
                fires = kind.fires(block, change.when, dt, step, self.seed, STREAM_CHANGE + r, fields)
                fires &= targets[block.rows] < 0
                fires &= kind.active(block) > 0
                targets[block.rows][fires] = self.agents.type_index(change.target)
                rules[block.rows][fires] = r
        changing = np.nonzero(targets >= 0)[0]
        if changing.size == 0:
            self.changed = 0
            return 0
        kinds = self.type_column()
        for source in self.kinds:
            for r, change in enumerate(source.config.changes):
                rows = changing[(kinds[changing] == source.index) & (rules[changing] == r)]
                if rows.size:
                    target = self.kinds[self.agents.type_index(change.target)]
                    counts = self.store.counts[rows]
                    target.entering(counts, source, change.unshared)
                    self.store.counts[rows] = counts
        kinds[changing] = targets[changing]  # a changed cell keeps its body; the new type's rules apply from now
        if self.store.has("network_state"):  # and the new type's network starts from its initial state
            self.store.column("network_state")[changing] = self.initial_network_state()[targets[changing]]
        self.changed = int(changing.size)
        return self.changed

    def dividing(self, dt: float, step: int) -> np.ndarray:
        """Indices of the cells that divide during this step (by the division rule or,
        with a body, at the division volume; never the necrotic), in increasing id order."""
        index = []
        for kind, block in self.blocks():
            division = kind.config.division
            fires = (kind.fires(block, division, dt, step, self.seed, STREAM_DIVISION, self._carried(self.carry, block))
                     if division.active else np.zeros(block.n, bool))
            if kind.body is not None:
                fires |= bodies.ready_to_divide(block, kind.body)
                fires &= kind.active(block) > 0
            index.append(block.rows.start + np.nonzero(fires)[0])
        index = np.concatenate(index) if index else np.empty(0, np.int64)
        return index[np.argsort(self.store.ids[index], kind="stable")]

    def divide(self, mothers: np.ndarray, daughter_ids: np.ndarray, step: int) -> None:
        """Split cells ``mothers`` (indices): molecules binomially, positions one
        diameter apart along a random axis (cells with a body: halved volumes, centres
        inside the mother's body); both daughters restart the cell cycle and are of the
        mother's type. Values in :attr:`carry` pass from mother to daughter."""
        if mothers.size == 0:
            return
        store = self.store
        ids = store.ids[mothers]
        counts = store.counts[mothers]
        daughter_counts = split_counts(counts, ids, self.seed, step)
        store.counts[mothers] = counts
        axis = unit_vectors(ids, self.dim, self.seed, STREAM_DIVISION, step)
        kinds = self.type_column()[mothers].copy()
        columns = {"type": kinds} if store.has("type") else {}
        if store.has("network_state"):  # a daughter's parameters and triggers are her mother's
            columns["network_state"] = store.column("network_state")[mothers].copy()
        if self.agents.has_bodies:
            axis, body = bodies.split(store, mothers, axis)
            columns.update(body)
        else:
            diameter = np.array([c.diameter for c in self.agents.types])[kinds]
            axis *= 0.5 * diameter[:, None]
        centre = store.position[mothers]
        store.position[mothers] = centre - axis
        store.age[mothers] = 0.0
        direction = None
        if store.direction is not None:
            store.direction[mothers] = 0.0
            direction = np.zeros((mothers.size, self.dim))
        for name, values in self.carry.items():
            self.carry[name] = np.concatenate([values, values[mothers]])
        store.append(daughter_ids, centre + axis, daughter_counts, age=0.0, direction=direction, **columns)

    def speed(self) -> np.ndarray:
        """Speed (persistent walk, µm/min) or diffusivity (Brownian, µm²/min) per cell."""
        out = np.zeros(self.n)
        for kind, block in self.blocks():
            out[block.rows] = kind.speed(block, self._carried(self.carry, block))
        return out

    def move(self, dt: float, step: int, drift: np.ndarray | None = None) -> int:
        """Random walk (plus ``drift``, µm/min, e.g. chemotaxis; default: the carried
        ``"drift"``) and boundaries; returns the number of cells absorbed by the domain
        boundary."""
        if drift is None:
            drift = self.carry.get("drift")
        for kind, block in self.blocks():
            m = kind.config.motility
            part = _NO_ROWS if drift is None else np.ascontiguousarray(drift[block.rows], dtype=float)
            position = block.position
            fields = self._carried(self.carry, block)
            if m.kind == "brownian":
                brownian_step(position, block.ids, kind.speed(block, fields), part, dt, self.seed, step)
            elif m.kind == "persistent":
                persistent_step(position, block.direction, block.ids, kind.speed(block, fields), m.persistence, part,
                                dt, self.seed, step)
            elif part.shape[0]:
                position[...] += part * dt
        self.carry.clear()  # the step's values end with its motility
        return self._apply_boundaries()

    def push(self, ghosts, interaction: float, dt: float) -> float:
        """One mechanics substep of ``dt`` min under the contact forces of the other
        cells of this rank and of the ``ghosts`` (:func:`~.bodies.contact_step`), then
        the boundaries; returns the largest displacement relative to the cell's radius.
        Cells absorbed by a face are added to :attr:`absorbed`."""
        largest = bodies.contact_step(self.store, self.contact_law, ghosts, interaction, self.size,
                                      self.boundary_kinds, dt)
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
        self._remove(absorbed)
        return int(absorbed.size)
