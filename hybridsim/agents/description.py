"""What a config's cells need and how ``hybridsim check`` describes them: the store
columns (bytes per agent), the network state's width, the phenotype rules, and the
lines for each cell type (no MPI, no numba)."""

from __future__ import annotations

import math

from ..config.agents import Agents
from . import bodies
from .store import GROWTH, column_bytes


def columns_of(agents: Agents, dim: int) -> dict[str, int]:
    """Bytes per agent of each store column the config ``agents`` needs."""
    return column_bytes(dim, len(agents.species), agents.persistent, len(agents.reservoirs), agents.has_bodies,
                        agents.necrosis, agents.named, len(agents.types) if agents.contacts else 0,
                        network_state_width(agents))


def network_state_width(agents: Agents) -> int:
    """Columns of ``network_state``: the widest per-cell network state of any type."""
    return max((t.network.state_width for t in agents.types), default=0)


def rules_of(cell) -> list:
    """``(what it changes, rule)`` for every phenotype rule of the type ``cell``."""
    out = [("division rate", r) for r in cell.division.rules] + [("death rate", r) for r in cell.death.rules]
    out += [("speed", r) for r in cell.motility.rules]
    out += [(f"{u.field} uptake", r) for u in cell.uptake for r in u.rules]
    out += [(f"rate of turning into {c.target}", r) for c in cell.changes for r in c.when.rules]
    if cell.chemotaxis is not None:
        out += [("chemotactic sensitivity", r) for r in cell.chemotaxis.rules]
    if cell.body is not None:
        out += [("growth", r) for r in cell.body.growth_rules]
    return out


def describe_population(agents: Agents, domain, n_initial: int, ranks: int, counts=None) -> list[str]:
    """What ``hybridsim check`` says of the cells: each type's network, initial cells
    (``counts[k]`` of type k) and behaviour, and the memory per agent and per rank on
    ``ranks`` ranks."""
    lines = []
    many = len(agents.types) > 1 or agents.named
    for k, cell in enumerate(agents.types):
        network = cell.network
        pad = "  " if many else ""
        if many:
            n = counts[k] if counts is not None else 0
            lines.append(f"cell type {cell.name}: {n} cells initially")
        lines.append(f"{pad}network ({network.source}): {network.n_species} species, {len(network.reactions)} "
                     f"reactions, {'exact SSA' if agents.method == 'exact' else agents.method} per cell")
        lines += [pad + "  " + line for line in network.describe_lines()]
        kinds = ", ".join(p.kind for p in cell.placements)
        division, death = ("on" if fate.active else "off" for fate in (cell.division, cell.death))
        if cell.body is not None and cell.body.division_volume > 0:
            division = "by volume" if division == "off" else "by rule and by volume"
        start = f"{pad}agents: {n_initial} initially ({kinds}); " if not many else f"{pad}placement {kinds}; "
        lines.append(f"{start}motility {cell.motility.kind}; division {division}; death {death}")
        for change in cell.changes:
            lines.append(f"{pad}  turns into {change.target} (unshared species: {change.unshared})")
        for label, rule in rules_of(cell):
            lines.append(f"{pad}  rule on the {label}: {rule.describe()}")
        if cell.body is not None:
            lines += [pad + "  " + line for line in bodies.describe(cell.body, domain.dim)]
    if agents.adhesion and len(agents.types) > 1:
        names = agents.type_names
        pairs = ", ".join(f"{names[i]}–{names[j]} {agents.adhesion[i][j]:g}" for i in range(len(names))
                          for j in range(i, len(names)))
        lines.append(f"  adhesion between types: {pairs}")
    faces = ", ".join(f"{ax}: {lo}/{hi}" for ax, (lo, hi) in zip("xyz", agents.boundary))
    lines.append(f"  boundaries (low/high face): {faces}")
    columns = columns_of(agents, domain.dim)
    per_agent = sum(columns.values())
    parts = ", ".join(f"{name} {b}" for name, b in columns.items())
    per_rank = math.ceil(n_initial / ranks)
    lines.append(f"  memory per agent: {per_agent} bytes ({parts}); up to {per_agent * GROWTH:.0f} with spare capacity"
                 + (f"; {len(agents.types)} types share one store" if many else ""))
    if agents.has_bodies:
        lines.append(f"  during a mechanics substep: {bodies.substep_bytes(domain.dim)} bytes more per agent "
                     "(positions with ghosts, velocities, cell list)")
    lines.append(f"  ~{per_rank} agents and ~{per_agent * per_rank * GROWTH / 2**20:.1f} MiB per rank on {ranks} "
                 "rank(s) (if spread evenly)")
    return lines
