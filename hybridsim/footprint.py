"""The memory a run needs per rank, estimated from the config before anything is
allocated, and the refusal of a run that cannot fit (the figures ``hybridsim check``
prints).

Per rank, with the work spread evenly: the fields (vectors, matrices, multigrid;
:func:`hybridsim.fields.solvers.memory_per_cell`), the agents (their columns with
the store's spare capacity, and what a contact-mechanics substep adds) and the
mechanics. PETSc's index width bounds the
unknowns of one grid (2³¹ − 1 with 32-bit indices). Bytes throughout.
"""

from __future__ import annotations

import math

from .agents.bodies import substep_bytes
from .agents.description import columns_of
from .agents.store import GROWTH
from .config import Config
from .errors import InputError
from .fields.solvers import memory_per_cell, planned_method
from .mechanics.elasticity import mechanics_unknowns, memory_per_unknown
from .parallel.layout import default_proc_sizes

_GIB = float(2**30)


def memory_per_rank(config: Config, ranks: int, n_agents: int) -> dict[str, float]:
    """Estimated bytes per rank of each part of the run (``fields``, ``agents``,
    ``mechanics``) with ``n_agents`` cells spread evenly over ``ranks`` ranks."""
    d = config.domain
    out = {}
    if config.species:
        procs = default_proc_sizes(d.cells, ranks)
        per_cell = sum(memory_per_cell(d.dim, planned_method(config, s, procs)) for s in config.species)
        out["fields"] = per_cell * math.ceil(d.n_cells / ranks)
    if config.agents is not None:
        a = config.agents
        per_agent = sum(columns_of(a, d.dim).values()) * GROWTH
        if a.has_bodies:
            per_agent += substep_bytes(d.dim)
        out["agents"] = per_agent * math.ceil(n_agents / ranks)
    if config.mechanics is not None:
        out["mechanics"] = memory_per_unknown(d.dim) * math.ceil(mechanics_unknowns(d) / ranks)
    return out


def describe_footprint(config: Config, ranks: int, n_agents: int) -> str:
    """One line: the estimate per rank and its parts (for ``check`` and refusals)."""
    parts = memory_per_rank(config, ranks, n_agents)
    detail = ", ".join(f"{name} {value / _GIB:.3g}" for name, value in parts.items())
    return f"~{sum(parts.values()) / _GIB:.3g} GiB per rank on {ranks} rank(s) ({detail})"


def _read_number(path: str) -> float | None:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
    except OSError:
        return None
    return float(text) if text.isdigit() else None


def _cgroup_room() -> float | None:
    """Bytes the job's memory cgroup still allows (Slurm's ``--mem``), None if unlimited
    or unknown: cgroup v2 ``memory.max − memory.current``, v1 ``limit − usage``."""
    try:
        with open("/proc/self/cgroup", encoding="ascii") as f:
            entries = [line.strip().split(":", 2) for line in f if line.count(":") >= 2]
    except OSError:
        return None
    for _, controllers, path in entries:
        if controllers == "":  # v2
            names, root = ("memory.max", "memory.current"), "/sys/fs/cgroup"
        elif "memory" in controllers.split(","):  # v1
            names, root = ("memory.limit_in_bytes", "memory.usage_in_bytes"), "/sys/fs/cgroup/memory"
        else:
            continue
        for base in (f"{root}{path}", root):  # the job's own, or the container's root
            limit, used = (_read_number(f"{base}/{name}") for name in names)
            if limit is not None and used is not None and limit < 2**60:
                return max(limit - used, 0.0)
    return None


def available_memory() -> float | None:
    """Bytes this node can still give: Linux's ``MemAvailable``, or less if the job's
    memory cgroup allows less; None if unknown."""
    room = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    room = float(line.split()[1]) * 1024
    except OSError:
        pass
    limit = _cgroup_room()
    if limit is not None:
        room = limit if room is None else min(room, limit)
    return room


def check_index_width(config: Config, index_bits: int) -> None:
    """Refuse a grid whose unknowns PETSc's indices cannot number."""
    limit = 2 ** (index_bits - 1) - 1
    d = config.domain
    unknowns = max(d.n_cells, mechanics_unknowns(d) if config.mechanics is not None else 0)
    if unknowns > limit:
        raise InputError(f"domain.cells = {list(d.cells)} needs {unknowns:.4g} unknowns, more than this PETSc's "
                         f"{index_bits}-bit indices number ({limit}); use a coarser grid or a PETSc configured "
                         "--with-64-bit-indices")


def check_fits(config: Config, ranks: int, ranks_on_node: int, n_agents: int, available: float | None) -> None:
    """Refuse a run whose estimate per rank exceeds this node's available memory
    shared by its ``ranks_on_node`` ranks (``available`` None: not known, not checked)."""
    if available is None:
        return
    need = sum(memory_per_rank(config, ranks, n_agents).values())
    share = available / ranks_on_node
    if need > share:
        raise InputError(f"the run needs {describe_footprint(config, ranks, n_agents)}, and {share / _GIB:.3g} GiB "
                         f"are available per rank here ({available / _GIB:.3g} GiB shared by {ranks_on_node} rank(s) "
                         "of this node): use more nodes or ranks, a coarser grid or fewer cells "
                         "(run --no-memory-check to try anyway)")


def node_memory(comm) -> tuple[int, float | None]:
    """``(ranks on this node, bytes available on it)`` (collective over ``comm``)."""
    from mpi4py import MPI

    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        available = node.bcast(available_memory() if node.rank == 0 else None, root=0)
        return node.size, available
    finally:
        node.Free()


def index_bits() -> int:
    """Bits of PETSc's indices in this build."""
    import numpy as np

    from .parallel.petsc import get_petsc

    return 8 * np.dtype(get_petsc().IntType).itemsize


def initial_agents(config: Config) -> int:
    """Cells the config places at t = 0."""
    if config.agents is None:
        return 0
    from .io.agent_input import placement_count

    return sum(placement_count(p, config.domain.size) for p in config.agents.placements)
