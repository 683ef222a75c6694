"""Cells pushing on cells across ranks: the mechanics substeps of a coupling step.

A step of ``Δt`` min is split into ``⌈Δt / dt_mech⌉`` equal substeps. Before them,
the largest radius on any rank fixes the interaction distance ``h = 2 r_max ·
reach`` — the cell list's bin size, the same on every rank, so the order in which
forces are summed does not depend on the decomposition. Each substep then

1. gathers the ghost copies of the other ranks' cells within ``h`` of this rank's
   box (:class:`hybridsim.parallel.ghosts.GhostExchange`),
2. moves the owned cells by ``dt_mech·F/ν`` (:meth:`CellPopulation.push`) and
   applies the boundaries,
3. sends the cells that left this rank's box to their owners, so that before every
   substep each cell is on the rank whose box holds it and every neighbour within
   ``h`` is either there too or among its ghosts.

The random walk and chemotactic drift of the step come before the
substeps (Lie splitting of ``v = F/ν + v_motility + v_chemotaxis``, first order in Δt).
"""

from __future__ import annotations

import math

import numpy as np

from ..agents.bodies import interaction_distance, substeps
from ..errors import RunError
from ..parallel.agents import migrate
from ..parallel.ghosts import GhostExchange
from ..parallel.grid import Grid

STABLE_DISPLACEMENT = 0.5
"""Largest displacement in one substep, relative to the cell's radius, that the
explicit update is trusted with."""


class CellMechanics:
    """Contact mechanics of the cells of ``population`` on ``grid`` (collective calls);
    ``transport`` is how ghosts travel (:data:`hybridsim.parallel.ghosts.TRANSPORTS`)."""

    def __init__(self, grid: Grid, population, transport: str = "neighbor"):
        self.grid = grid
        self.exchange = GhostExchange(grid, transport)
        self.population = population
        self.dt = min(t.body.contact.dt for t in population.agents.types)  # the same for every type
        self.ghosts = 0  # ghost copies this rank received in the last substep
        self.timings = {"ghost exchange": 0.0, "contact": 0.0}

    def interaction(self) -> float:
        """Interaction distance (µm) of the largest cell on any rank (collective)."""
        from mpi4py import MPI

        store = self.population.store
        local = float(store.column("radius").max()) if store.n else 0.0
        largest = self.grid.comm.allreduce(local, op=MPI.MAX)
        return interaction_distance(self.population.agents.types[0].body, largest)

    def relax(self, dt: float, step: int) -> tuple[int, int]:
        """Move the cells (each on its owner) under contact forces for ``dt`` min
        (collective); returns the numbers of cells absorbed by a face and of cells this
        rank sent to another. Stops every rank with a :class:`RunError` if
        a substep moves a cell by more than :data:`STABLE_DISPLACEMENT` of its radius."""
        import time

        from mpi4py import MPI

        pop = self.population
        pop.absorbed = 0
        migrated = 0
        n_substeps = substeps(self.dt, dt)
        h = dt / n_substeps
        reach = self.interaction()
        if reach == 0.0:
            return 0, 0
        for _ in range(n_substeps):
            start = time.perf_counter()
            store = pop.store
            types = store.column("type") if store.has("type") else None
            ghosts = self.exchange(store.position, store.column("radius"), store.ids, reach, types)
            middle = time.perf_counter()
            largest = pop.push(ghosts, reach, h)
            self.timings["ghost exchange"] += middle - start
            self.timings["contact"] += time.perf_counter() - middle
            self.ghosts = ghosts[2].size
            # Checked before migration, which needs finite positions to find owners.
            largest = self.grid.comm.allreduce(largest if np.isfinite(largest) else math.inf, op=MPI.MAX)
            if largest > STABLE_DISPLACEMENT:
                raise RunError(f"contact forces moved a cell by {largest:.3g} of its radius in one mechanics "
                               f"substep of step {step + 1} (more than {STABLE_DISPLACEMENT:g}): the explicit "
                               f"update is unstable; reduce agents.contact.dt (now {self.dt:g} min) "
                               "or the repulsion/stiffness, or raise agents.contact.drag")
            migrated += migrate(store, self.grid)
        return pop.absorbed, migrated
