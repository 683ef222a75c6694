"""Per-step summary of a run: ``summary.csv`` in the output directory, written by
rank 0 (one line per step, flushed, so a running job can be followed with
``tail -f``).

Columns: ``step``, ``time`` (min); for each field ``<name>_integral``
(∫c dV, molecules) and ``<name>_balance`` (the largest mass defect a solve of the
step left, relative to the step's total, before it was corrected where the residual
is; see :mod:`hybridsim.fields.reaction_diffusion`), with Crank–Nicolson
``<name>_fallbacks`` (steps so far taken as two backward-Euler half steps); with mechanics the length,
area or volume change, absolute (µm^dim) and relative, and the Krylov iterations;
with agents ``agents``, ``births``, ``deaths``, ``absorbed``, ``migrated``,
``reactions`` (events in the step) and, for each network species, ``<name>_mean``
and ``<name>_fano`` (variance/mean across all cells). With ``[cell_types]``:
``type_changes`` (in the step) and, per type, ``<type>_agents`` and, for each species
of the type's network, ``<type>_<name>_mean`` and ``<type>_<name>_fano`` over the
cells of that type; with bodies and several types, ``heterotypic_fraction``: the
fraction of touching pairs whose two cells differ in type (cell sorting lowers it).
"""

from __future__ import annotations

from pathlib import Path

from ..parallel.collective import moments, on_root

SUMMARY_FILE = "summary.csv"


class SummaryWriter:
    """Appends :meth:`Simulation.summary` rows to ``summary.csv`` (rank 0 writes)."""

    def __init__(self, comm, directory: str | Path, *, restart_step: int | None = None):
        """With ``restart_step``, an existing table is continued: rows after that
        step (written by a run that went on after the checkpoint) are dropped, the
        checkpoint's own row is kept (:attr:`has_row` says so, on every rank)."""
        self.comm = comm
        self.path = Path(directory) / SUMMARY_FILE
        self._file = None
        self._columns: list[str] | None = None
        self._steps: set[int] = set()
        if restart_step is not None:
            self._steps = set(on_root(comm, self._continue, restart_step))

    def _continue(self, restart_step: int) -> list[int]:
        """Keep the rows up to ``restart_step`` and reopen the table for appending
        (rank 0); returns the steps kept."""
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.is_file() else []
        if not lines:
            return []
        rows = [x for x in lines[1:] if x.split(",", 1)[0].isdigit() and int(x.split(",", 1)[0]) <= restart_step]
        self.path.write_text("\n".join([lines[0]] + rows) + "\n", encoding="utf-8")
        self._columns = lines[0].split(",")
        self._file = open(self.path, "a", encoding="utf-8")
        return [int(x.split(",", 1)[0]) for x in rows]

    def has_row(self, step: int) -> bool:
        """Whether the table already holds a row for ``step`` (after a restart)."""
        return step in self._steps

    def write(self, sim) -> None:
        """Append the row of ``sim``'s current state (collective; rank 0 writes)."""
        row = summary_row(sim)
        if self.comm.rank != 0:
            return
        if self._file is None:
            self._columns = list(row)
            self._file = open(self.path, "w", encoding="utf-8")
            self._file.write(",".join(self._columns) + "\n")
        self._file.write(",".join(_format(row[c]) for c in self._columns) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def summary_row(sim) -> dict:
    """One row for the current state of ``sim`` (a :class:`~hybridsim.simulation.Simulation`;
    collective)."""
    row = {"step": sim.step_index, "time": sim.t}
    for name in sim.fields:
        row[f"{name}_integral"] = sim.total(name)
        row[f"{name}_balance"] = sim.balance.get(name, 0.0)
        if sim.config.time.scheme == "crank_nicolson":
            row[f"{name}_fallbacks"] = sim.solvers[name].fallbacks
    if sim.mechanics is not None:
        change, relative = sim.mechanics.size_change()
        what = ("length", "area", "volume")[sim.grid.dim - 1]
        row[f"{what}_change"] = change
        row[f"relative_{what}_change"] = relative
        row["mechanics_iterations"] = sim.mechanics.iterations
    if sim.population is None:
        return row
    pop = sim.population
    agents = sim.config.agents
    c = sim.counters
    typed = agents.named
    counts = pop.store.counts
    stats, events = moments(sim.comm, counts if not typed else counts[:, :0],
                            extra=(c.births, c.deaths, c.absorbed, c.migrated, c.reactions, c.changes))
    row.update(agents=stats.n, births=int(events[0]), deaths=int(events[1]), absorbed=int(events[2]),
               migrated=int(events[3]), reactions=int(events[4]))
    if not typed:
        fano = stats.fano
        for s, name in enumerate(pop.species):
            row[f"{name}_mean"] = float(stats.mean[s])
            row[f"{name}_fano"] = float(fano[s])
        return row
    row["type_changes"] = int(events[5])
    kinds = pop.type_column()
    for k, cell in enumerate(agents.types):
        columns = [pop.species.index(name) for name in cell.network.species]
        mine, _ = moments(sim.comm, counts[kinds == k][:, columns])
        row[f"{cell.name}_agents"] = mine.n
        fano = mine.fano
        for j, name in enumerate(cell.network.species):
            row[f"{cell.name}_{name}_mean"] = float(mine.mean[j])
            row[f"{cell.name}_{name}_fano"] = float(fano[j])
    if agents.contacts:
        row["heterotypic_fraction"] = heterotypic_fraction(sim.comm, pop.store.column("contacts"), kinds)
    return row


def heterotypic_fraction(comm, contacts, kinds) -> float:
    """Fraction of the touching pairs (``contacts``: touching neighbours of each type
    per cell) whose cells are of different types, over every rank (collective; NaN if
    no cell touches another)."""
    import numpy as np

    total = float(contacts.sum())
    same = float(contacts[np.arange(kinds.size), kinds].sum()) if kinds.size else 0.0
    total, same = comm.allreduce(np.array([total, same])) if comm is not None else (total, same)
    return (total - same) / total if total > 0 else float("nan")
