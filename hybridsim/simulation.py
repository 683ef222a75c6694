"""Builds a simulation from a config and decides the order of one time step.

This is the only module that orders the stages of a step; the layers it calls
never call back up. One step of length Δt:

1. agents (if any): sample the fields (values, and gradients for chemotaxis)
   at their positions → exact SSA over Δt with rates modulated by those values
   (each cell type's network with its own kernel); molecules secreted by
   reactions are deposited into the fields where the cells are → age, death,
   growth of cells with a body, type changes, division (daughters get
   rank-independent ids) → motility (plus chemotactic drift) and boundaries
   → migration to the owner → for cells with a body, contact mechanics in
   substeps of ``agents.contact.dt`` with ghost copies across ranks;
2. fields: one implicit reaction–diffusion solve per species, with the cells'
   first-order uptake on the diagonal; what each cell took up is sampled from
   the new field with the same weights and given to it;
3. mechanics (every ``mechanics.interval`` steps): the tissue's equilibrium
   under the active stress of the new field; optionally the cells move with
   the tissue's displacement increment and migrate.

This is Lie splitting (agents, then fields), first order in Δt; with
``time.splitting = "strang"`` the fields take a half step before and after the
agents' step, second order for the splitting itself. Sampling and deposition use
one multilinear stencil per step, so deposition is exactly the transpose of
sampling and molecules moving between field and cells are conserved to
round-off. A run continues from a checkpoint through :meth:`Simulation.restore`.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .config import Config
from .errors import RunError
from .fields.multigrid import MultigridHierarchy
from .fields.reaction_diffusion import ReactionDiffusion
from .geometry import evaluate_at_cells
from .parallel.collective import agree
from .parallel.grid import Grid
from .progress import Progress


@dataclass
class AgentCounters:
    """Events summed over the ranks' agents in the last step (only rank totals
    are kept locally; :meth:`Simulation.agent_summary` reduces them)."""

    reactions: int = 0
    births: int = 0
    deaths: int = 0
    absorbed: int = 0
    migrated: int = 0
    changes: int = 0  # type changes


class Simulation:
    """A run of the model in ``config`` on the ranks of ``comm`` (collective).

    Attributes
    ----------
    t:
        Simulated time, min.
    step_index:
        Number of steps taken.
    fields:
        Species name → PETSc global vector of concentrations.
    population:
        This rank's cells (:class:`~hybridsim.agents.population.CellPopulation`),
        or None without ``[agents]``.
    next_id:
        The smallest global agent id not yet used (the same on every rank).
    """

    def __init__(self, config: Config, comm=None, *, place_agents: bool = True, warn=None):
        self.config = config
        self.grid = agree(comm if comm is not None else _world(), Grid, config.domain, comm)
        self.hierarchy = MultigridHierarchy(self.grid) if config.species else None
        self.fields = {}
        self.solvers = {}
        for species in config.species:
            c = self.grid.global_vec()
            initial = evaluate_at_cells(species.initial, self.grid.n_local, self.grid.cell_centers)
            self.grid.view(c)[...] = initial.reshape(self.grid.counts, order="F")
            self.fields[species.name] = c
        taken_up = {u.field for u in config.agents.uptake} if config.agents is not None else set()
        for species in config.species:
            self.solvers[species.name] = agree(
                self.grid.comm, ReactionDiffusion, self.grid, species,
                dt=config.time.field_dt, scheme=config.time.scheme, solver=config.solver,
                hierarchy=self.hierarchy, agent_uptake=species.name in taken_up,
            )
        self.t = 0.0
        self.step_index = 0
        self.population = None
        self.cell_mechanics = None
        self.transfer = None
        self._deposits = {}
        self._uptake_rates = {}
        self.next_id = 0
        self.counters = AgentCounters()
        self.agent_total = 0  # agents on all ranks after the last step
        self.last_checkpoint = None  # path of the newest checkpoint this run wrote
        self.timings: dict[str, float] = defaultdict(float)  # stage → wall seconds on this rank
        # field → largest relative mass defect its solves left to the conservative correction this step
        self.balance: dict[str, float] = {}
        self.warn = warn or self._warn
        self._log_stages: dict = {}
        if config.agents is not None:
            self._create_agents(place_agents)
        self.mechanics = None
        self._u_previous = None  # displacement at the last solve, for moving cells with the tissue
        if config.mechanics is not None:
            from .mechanics.elasticity import Elasticity

            with self._stage("mechanics"):
                self.mechanics = agree(self.comm, Elasticity, self.grid, config.mechanics)
            self.solve_mechanics()

    @property
    def comm(self):
        return self.grid.comm

    def _warn(self, text: str) -> None:
        if self.comm.rank == 0:
            print(f"warning: {text}", file=sys.stderr, flush=True)

    @contextmanager
    def _stage(self, name: str):
        """Time a stage of the step, in :attr:`timings` and as a PETSc log stage
        (so ``-log_view`` shows the same split)."""
        stage = self._log_stages.get(name)
        if stage is None:
            from .parallel.petsc import get_petsc

            stage = self._log_stages[name] = get_petsc().Log.Stage(f"hybridsim: {name}")
        stage.push()
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] += time.perf_counter() - start
            stage.pop()

    # ------------------------------------------------------------------ agents

    def _create_agents(self, place: bool = True) -> None:
        from .agents.population import CellPopulation
        from .coupling.bodies import CellMechanics
        from .coupling.transfer import FieldTransfer
        from .io.agent_input import initial_agents
        from .parallel.agents import migrate

        cfg = self.config
        agents = cfg.agents
        self.transfer = FieldTransfer(self.grid) if cfg.species else None
        # per field: molecules deposited by cells in this step, and the cells' uptake rate (1/min)
        self._deposits = {name: self.grid.global_vec() for name in agents.secreted_fields}
        self._uptake_rates = {u.field: self.grid.global_vec() for u in agents.uptake}
        self.population = agree(self.comm, CellPopulation, agents, cfg.domain.size, cfg.seed)
        self.cell_mechanics = CellMechanics(self.grid, self.population) if agents.has_bodies else None
        if not place:  # a checkpoint will provide them
            return
        # read and generate locally (errors agreed on), then move agents to their owners
        batches, self.next_id = agree(self.comm, initial_agents, cfg, self.grid)
        for ids, position, counts, kind in batches:
            self.population.store.append(ids, position, counts, **self.population.new_columns(kind, ids.size))
        migrate(self.population.store, self.grid)
        self.agent_total = self.n_agents()

    def _step_agents(self, dt: float) -> None:
        from .coupling.transfer import AgentStencil
        from .parallel.agents import daughter_ids, migrate

        pop = self.population
        agents = self.config.agents
        step = self.step_index
        c = self.counters
        pop.group()  # rows by type, before the stencil is built on them
        with self._stage("sampling"):
            stencil = AgentStencil(self.grid, pop.store.position) if self.transfer is not None else None
            pop.carry = {name: self.transfer.sample(self.fields[name], stencil) for name in pop.sampled_fields}
            gradients = {name: self.transfer.sample(self.fields[name], stencil, gradient=True)[1]
                         for name in agents.chemotaxis_fields}
        with self._stage("ssa"):
            exports = np.zeros((pop.n, len(agents.secreted_fields)), dtype=np.int64)
            # a propensity expression that turns negative in one cell stops every rank with its line
            c.reactions = agree(self.comm, pop.react, dt, step, None, exports, self.t)
        with self._stage("deposition"):
            for k, name in enumerate(agents.secreted_fields):
                self.transfer.deposit(self._deposits[name], stencil, exports[:, k],
                                      1.0 / self.config.molecules_per_concentration)
            if gradients:
                # each cell keeps the drift of the gradient at its position at the step's start; a
                # daughter takes her mother's (the carried values follow the rows)
                pop.carry["drift"] = pop.chemotactic_drift(gradients)
        with self._stage("division/death"):
            pop.store.age[...] += dt
            c.deaths = pop.die(dt, step) + pop.grow(dt)
            c.changes = pop.change_types(dt, step)
            mothers = pop.dividing(dt, step)
            mother_ids = pop.store.ids[mothers]
            new_ids, self.next_id = daughter_ids(self.comm, mother_ids, self.next_id)
            pop.divide(mothers, new_ids, step)
            c.births = int(mothers.size)
        with self._stage("motility"):
            c.absorbed = pop.move(dt, step)
        with self._stage("migration"):
            c.migrated = migrate(pop.store, self.grid)
            self._count_agents("motility")
        if self.cell_mechanics is not None:
            with self._stage("cell mechanics"):
                absorbed, migrated = self.cell_mechanics.relax(dt, step)
                c.absorbed += absorbed
                c.migrated += migrated
                self._count_agents("cell mechanics")

    def _count_agents(self, stage: str) -> None:
        """Sum the agents over the ranks, and stop every rank with a :class:`RunError`
        if a cell's position is no longer a finite number (collective)."""
        pop = self.population
        self.agent_total, non_finite = (int(v) for v in self.comm.allreduce(np.array([pop.n, pop.non_finite])))
        if non_finite:
            raise RunError(f"{non_finite} cell coordinate(s) became infinite or NaN in the {stage} of step "
                           f"{self.step_index + 1} (t = {self.t:g} min): a drift or displacement too large "
                           "for the step (check agents.chemotaxis.sensitivity and max_speed, the motility, "
                           "or the mechanics)")

    def n_agents(self) -> int:
        """Number of agents on all ranks (collective)."""
        return self.comm.allreduce(self.population.n) if self.population is not None else 0

    # ------------------------------------------------------------------ stepping

    def step(self, dt: float | None = None) -> None:
        """Advance agents and fields by ``dt`` (min; default ``time.dt``): Lie
        splitting (agents, then fields) or, with ``time.splitting = "strang"``,
        fields by ``dt/2``, agents by ``dt``, fields by ``dt/2``."""
        dt = self.config.time.dt if dt is None else dt
        self.balance = {}
        if self.config.time.splitting == "strang":
            self._advance_fields(self.t, dt / 2)
            if self.population is not None:
                self._step_agents(dt)
            self._advance_fields(self.t + dt / 2, dt / 2)
        else:
            if self.population is not None:
                self._step_agents(dt)
            self._advance_fields(self.t, dt)
        self.t += dt
        self.step_index += 1
        self._warn_about_fields()
        if self.mechanics is not None and self.step_index % self.config.mechanics.interval == 0:
            self.solve_mechanics()

    def _warn_about_fields(self) -> None:
        """Pass on what the field solvers noticed (the same on every rank)."""
        for solver in self.solvers.values():
            while solver.notes:
                self.warn(solver.notes.pop(0))

    def solve_mechanics(self) -> None:
        """Mechanical equilibrium under the current fields; with
        ``mechanics.advect_agents`` cells then move by the displacement's change
        since the last solve, at their positions, and migrate (collective)."""
        from .parallel.agents import migrate

        mech = self.mechanics
        active = self.config.mechanics.active
        advect = self.config.mechanics.advect_agents and self.population is not None
        with self._stage("mechanics"):
            if advect:
                if self._u_previous is None:
                    self._u_previous = mech.u.duplicate()
                mech.u.copy(self._u_previous)
            c = self.grid.view(self.fields[active.field], readonly=True) if active is not None else None
            mech.solve(c)
            if advect:
                pos = self.population.store.position
                delta = mech.sample(pos) - mech.sample(pos, self._u_previous)
                self.counters.absorbed += self.population.displace(delta)
                self.counters.migrated += migrate(self.population.store, self.grid)
                self._count_agents("mechanics")

    def _advance_fields(self, t: float, dt: float) -> None:
        """Advance every field from ``t`` by ``dt`` in ``time.field_substeps`` solves:
        molecules the cells secreted since the last call enter first; the cells'
        uptake is implicit in each solve and handed to them after it."""
        from .coupling.transfer import AgentStencil

        substeps = self.config.time.field_substeps
        h = dt / substeps
        uptakes = self.config.agents.uptakes if self.population is not None else ()
        stencil = None
        if uptakes:
            with self._stage("deposition"):
                pop = self.population
                pop.group()  # rows by type, before the stencil is built on them
                stencil = AgentStencil(self.grid, pop.store.position)
                # fields that phenotype rules on the uptake read at the cells
                pop.carry = {name: self.transfer.sample(self.fields[name], stencil) for name in pop.uptake_signals}
                rates = [pop.uptake_rates(entry) for entry in uptakes]
                pop.carry = {}
                for vec in self._uptake_rates.values():
                    vec.set(0.0)
                for (_, u), rate in zip(uptakes, rates):
                    # Σ_cells w·u/V: the cells' clearance as a first-order rate per grid cell (1/min)
                    self.transfer.deposit(self._uptake_rates[u.field], stencil, rate)
        for name, vec in self._deposits.items():
            self.fields[name].axpy(1.0, vec)
            vec.set(0.0)
        for k in range(substeps):
            with self._stage("field solve"):
                for name, solver in self.solvers.items():
                    solver.step(self.fields[name], t + k * h, h, agent_rate=self._uptake_rates.get(name))
                    self.balance[name] = max(self.balance.get(name, 0.0), solver.balance_defect)
            if stencil is not None:
                with self._stage("sampling"):
                    for entry, rate in zip(uptakes, rates):
                        # what the step's quadrature took from the field (cⁿ⁺¹ in backward Euler)
                        field = entry[1].field
                        exposure = self.solvers[field].exposure(self.fields[field])
                        molecules = h * self.config.molecules_per_concentration * rate
                        self.population.receive(entry, molecules * self.transfer.sample(exposure, stencil))

    def total(self, name: str) -> float:
        """Molecules of field ``name``, ∫ c dV (times 0.602214076 molecules/µm³ per nM
        when concentrations are in nM); collective."""
        return self.grid.integrate(self.fields[name]) * self.config.molecules_per_concentration

    def run(self, output=None, progress: Progress | None = None, summary=None, *, checkpoints: bool = False,
            stop_requested=None, restarted: bool = False) -> str:
        """Step to ``time.t_end`` from the current step (0, or a checkpoint's).

        Writes ``output`` (``write(sim)``) every ``output.interval`` min, at the start
        (unless ``restarted``) and at the end; a row to ``summary`` (``write(row)``)
        after every step; with ``checkpoints``, a checkpoint every
        ``checkpoint.interval`` min and at the end. ``stop_requested()`` is asked
        after every step (on every rank; the answers are combined): if any rank says
        yes, the step is finished, a checkpoint written, and ``"stopped"`` returned.
        Returns ``"finished"`` otherwise."""
        from mpi4py import MPI

        from .io.checkpoint import write_checkpoint

        cfg = self.config
        t_end = cfg.time.t_end
        n_steps = cfg.time.n_steps
        interval = cfg.output.interval or t_end / 10.0
        every = cfg.checkpoint.interval
        next_output = math.floor(self.t / interval * (1 + 1e-12)) + 1
        next_checkpoint = math.floor(self.t / every * (1 + 1e-12)) + 1 if every > 0 else math.inf
        if output is not None and not restarted:
            with self._stage("output"):
                output.write(self)
        if summary is not None and not (restarted and summary.has_row(self.step_index)):
            summary.write(self)  # a continued table keeps the checkpoint's row, with its counters
        for k in range(self.step_index, n_steps):
            dt = cfg.time.dt if k < n_steps - 1 else t_end - self.t
            if dt <= 1e-12 * t_end:
                break
            self.step(dt)
            if summary is not None:
                summary.write(self)
            last = k == n_steps - 1
            if output is not None and (self.t >= next_output * interval * (1 - 1e-12) or last):
                with self._stage("output"):
                    output.write(self)
                next_output = math.floor(self.t / interval * (1 + 1e-12)) + 1
            stop = bool(stop_requested()) if stop_requested is not None else False
            stop = self.comm.allreduce(stop, op=MPI.LOR)
            if checkpoints and (stop or last or self.t >= next_checkpoint * every * (1 - 1e-12)):
                with self._stage("checkpoint"):
                    self.last_checkpoint = write_checkpoint(self)
                if every > 0:
                    next_checkpoint = math.floor(self.t / every * (1 + 1e-12)) + 1
            if progress is not None:
                extra = f"  agents {self.agent_total}" if self.population is not None else ""
                progress.update(self.step_index, self.t, final=last or stop, extra=extra)
            if stop and not last:
                return "stopped"
        return "finished"

    def restore(self, state) -> None:
        """Continue from a checkpoint's state (a
        :class:`~hybridsim.io.checkpoint.CheckpointState` read for this run): time,
        step and next id, fields, displacement and agents, which then go to their
        owners (collective)."""
        from .parallel.agents import migrate

        attrs = state.attrs
        for name, data in state.fields.items():
            self.grid.view(self.fields[name])[...] = data
        self.t = float(attrs["time"])
        self.step_index = int(attrs["step"])
        self.next_id = int(attrs["next_id"])
        if state.displacement is not None:
            self.mechanics.set_displacement(state.displacement)
        if self.population is not None:
            store = self.population.store
            store.keep(np.zeros(store.n, dtype=bool))
            store.append_columns(state.agents)
            migrate(store, self.grid)
            self.agent_total = self.comm.allreduce(store.n)

    def held(self, species: str) -> float:
        """Molecules of network ``species`` held by all cells (collective)."""
        return self.comm.allreduce(self.population.held(species))

    def destroy(self) -> None:
        if self.mechanics is not None:
            self.mechanics.destroy()
        if self._u_previous is not None:
            self._u_previous.destroy()
        for vec in list(self._deposits.values()) + list(self._uptake_rates.values()):
            vec.destroy()
        if self.transfer is not None:
            self.transfer.destroy()
        for solver in self.solvers.values():
            solver.destroy()
        for c in self.fields.values():
            c.destroy()
        if self.hierarchy is not None:
            self.hierarchy.destroy()
        self.grid.destroy()


def _world():
    from mpi4py import MPI

    return MPI.COMM_WORLD
