"""Well-mixed mode: many independent cells running one network, no space.

For calibration and validation against closed-form results (birth–death,
two-stage expression) and for ``hybridsim ssa``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..config import SEED_LIMIT, Network, load_network
from ..config.agents import Agents
from ..errors import InputError
from .assignments import CellState
from .compiled import modulation_factor
from .integrator import NetworkIntegrator


def _output_times(t_out) -> np.ndarray:
    times = np.atleast_1d(np.asarray(t_out, dtype=float))
    if times.ndim != 1 or times.size == 0:
        raise InputError("t_out must be a non-empty 1D sequence of times (min)")
    if not np.all(np.isfinite(times)) or times[0] < 0 or np.any(np.diff(times) < 0):
        raise InputError("t_out must be finite, ≥ 0 and non-decreasing (min)")
    return times


def field_factors(network: Network, fields: Mapping[str, float] | None, n_cells: int) -> np.ndarray:
    """The per-cell factor array for uniform field values ``fields`` (name → concentration)."""
    mods = network.modulations
    fields = dict(fields or {})
    missing = [name for name in network.fields if name not in fields]
    if missing:
        raise InputError(
            f"a rate of the network depends on field {missing[0]!r}; give its concentration, "
            f"e.g. fields={{{missing[0]!r}: 1.0}}"
        )
    factors = np.empty((n_cells, len(mods)))
    for m, mod in enumerate(mods):
        factors[:, m] = modulation_factor(mod, float(fields[mod.source]))
    return factors


def simulate_cells(network: Network, ids: np.ndarray, times: np.ndarray, seed: int,
                   fields: Mapping[str, float] | None = None, *, method: str = Agents.method,
                   epsilon: float = Agents.tau_epsilon,
                   threshold: int = Agents.hybrid_threshold) -> tuple[np.ndarray, int]:
    """Counts at ``times`` of the cells with global ``ids`` (all starting from the
    network's initial counts at t = 0), and the number of events fired.

    Interval ``k`` (from ``times[k-1]``, or 0, to ``times[k]``) uses step index ``k``
    of the random streams, so a cell's trajectory depends only on its id and the seed.
    The network's time events (SBML) split the intervals: the clock stops at the
    event's time, the counts are set, and the run goes on (an output at that time
    shows the counts after the event); the piece of interval ``k`` before the first
    event in it keeps step index ``k``, the pieces after the ``j``-th event take
    ``len(times) + j``.
    """
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    integrator = NetworkIntegrator(network, method, epsilon, threshold)
    factors = field_factors(network, fields, ids.size)
    counts = np.tile(np.asarray(network.initial, dtype=np.int64), (ids.size, 1))
    params, flags = integrator.state(ids.size)
    state = CellState(network, counts, params, factors)
    state.apply_rules()
    out = np.empty((times.size, ids.size, network.n_species), dtype=np.int64)
    pending = [e for e in network.events if e.time is not None]
    t = 0.0
    events = 0
    fired = 0

    def advance(interval: float, step: int) -> int:
        done = integrator.advance(counts, ids, factors, interval, seed, step, None, params, flags)
        state.apply_rules()
        return done

    for k, t_next in enumerate(times):
        step = k
        while pending and pending[0].time <= t_next:
            event = pending.pop(0)
            if event.time > t:
                events += advance(event.time - t, step)
                t = event.time
            state.assign(event)
            step = times.size + fired
            fired += 1
        if t_next > t:
            events += advance(t_next - t, step)
            t = t_next
        out[k] = counts
    return out, events


def simulate_well_mixed(network: dict | str | Path | Network, n_cells: int, t_out, seed: int = 0, *,
                        fields: Mapping[str, float] | None = None, method: str = Agents.method,
                        epsilon: float = Agents.tau_epsilon, threshold: int = Agents.hybrid_threshold) -> np.ndarray:
    """Simulate ``n_cells`` independent cells exactly (Gillespie direct method).

    Parameters
    ----------
    network : dict in the TOML layout (``{"species": {...}, "reactions": [...]}``),
        or a path to a TOML or SBML file.
    n_cells : number of cells; cell ``i`` has global id ``i``.
    t_out : non-decreasing output times, min (the run starts at t = 0 from the
        declared initial counts).
    seed : random seed (0 ≤ seed < 2**56).
    fields : concentrations of the fields that modulate rates, if any.
    method : ``"exact"`` (Gillespie's direct method), ``"tau-leaping"`` (approximate,
        with exact events at low copy numbers) or ``"hybrid"`` (reactions changing only
        species with ≥ ``threshold`` molecules are leaped, the others fire exactly).
    epsilon : bound on a species' relative change per leap (tau-leaping, hybrid).
    threshold : hybrid: molecules from which a species counts as high-copy.

    Returns
    -------
    int64 array of shape ``(len(t_out), n_cells, n_species)``, species in
    declaration order.
    """
    net = load_network(network)
    if isinstance(n_cells, bool) or not isinstance(n_cells, (int, np.integer)) or n_cells < 1:
        raise InputError(f"n_cells must be a positive integer (got {n_cells!r})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < SEED_LIMIT:
        raise InputError(f"seed must be an integer in [0, 2**56) (got {seed!r})")
    times = _output_times(t_out)
    counts, _ = simulate_cells(net, np.arange(int(n_cells), dtype=np.int64), times, int(seed), fields,
                               method=method, epsilon=epsilon, threshold=threshold)
    return counts
