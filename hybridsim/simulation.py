"""Builds a simulation from a config and decides the order of one time step.

This is the only module that orders the stages of a step; the layers it calls
never call back up. A step today advances every chemical field by one implicit
reaction–diffusion solve; cell agents, coupling and mechanics join here.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from .config import Config
from .fields.coefficients import evaluate
from .fields.multigrid import MultigridHierarchy
from .fields.reaction_diffusion import ReactionDiffusion
from .parallel.collective import agree
from .parallel.grid import Grid
from .progress import Progress


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
    """

    def __init__(self, config: Config, comm=None):
        self.config = config
        self.grid = agree(comm if comm is not None else _world(), Grid, config.domain, comm)
        self.hierarchy = MultigridHierarchy(self.grid)
        points = self.grid.cell_centers()
        self.fields = {}
        self.solvers = {}
        for species in config.species:
            c = self.grid.global_vec()
            self.grid.view(c)[...] = evaluate(species.initial, points).reshape(self.grid.counts, order="F")
            self.fields[species.name] = c
        for species in config.species:
            self.solvers[species.name] = agree(
                self.grid.comm, ReactionDiffusion, self.grid, species,
                dt=config.time.dt, scheme=config.time.scheme, solver=config.solver,
                hierarchy=self.hierarchy,
            )
        self.t = 0.0
        self.step_index = 0

    @property
    def comm(self):
        return self.grid.comm

    def step(self, dt: float | None = None) -> None:
        """Advance every field by ``dt`` (min; default ``time.dt``)."""
        dt = self.config.time.dt if dt is None else dt
        for name, solver in self.solvers.items():
            solver.step(self.fields[name], self.t, dt)
        self.t += dt
        self.step_index += 1

    def total(self, name: str) -> float:
        """∫ c dV of species ``name`` (concentration·µm^dim)."""
        return self.grid.integrate(self.fields[name])

    def run(self, writer=None, progress: Progress | None = None) -> None:
        """Step to ``time.t_end``, writing output every ``output.interval`` min
        (and at the start and the end)."""
        cfg = self.config
        t_end = cfg.time.t_end
        n_steps = cfg.time.n_steps
        interval = cfg.output.interval or t_end / 10.0
        next_output = 1
        if writer is not None:
            writer.write(self.step_index, self.t, self.fields)
        for k in range(n_steps):
            dt = cfg.time.dt if k < n_steps - 1 else t_end - self.t
            if dt <= 1e-12 * t_end:
                break
            self.step(dt)
            last = k == n_steps - 1
            if writer is not None and (self.t >= next_output * interval * (1 - 1e-12) or last):
                writer.write(self.step_index, self.t, self.fields)
                next_output = math.floor(self.t / interval * (1 + 1e-12)) + 1
            if progress is not None:
                progress.update(self.step_index, self.t, final=last)

    def destroy(self) -> None:
        for solver in self.solvers.values():
            solver.destroy()
        for c in self.fields.values():
            c.destroy()
        self.hierarchy.destroy()
        self.grid.destroy()


def _world():
    from mpi4py import MPI

    return MPI.COMM_WORLD


def with_overrides(config: Config, *, t_end=None, steps=None, seed=None, output_dir=None) -> Config:
    """``config`` with the command line's overrides applied."""
    time = config.time
    if steps is not None:
        time = replace(time, t_end=steps * time.dt)
    elif t_end is not None:
        time = replace(time, t_end=t_end)
    output = config.output
    if output_dir is not None:
        output = replace(output, directory=str(Path(output_dir)))
    return replace(config, time=time, output=output, seed=config.seed if seed is None else seed)
