"""Exact stochastic simulation (Gillespie's direct method) of every agent's network.

The kernels take plain arrays (see :class:`~hybridsim.agents.compiled.CompiledNetwork`)
and import neither mpi4py nor petsc4py, so they run and are tested serially.

Each call advances every agent over one interval ``[t, t + T)`` with propensities
that are constant in time within the interval (rates modulated by a field are
sampled once per interval). The waiting time that crosses the interval end is
discarded: by the memoryless property of the exponential distribution, a process
restarted at the boundary with a fresh waiting time has exactly the law of the
uninterrupted process, so interval boundaries do not bias anything.

Per event: one Philox block (two uniforms), one logarithm, a linear scan over the
cumulative propensities, the net state change, and recomputation of only the
propensities that depend on a changed species (a dependency graph built once).
Nothing is allocated inside the loops.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .rng import STREAM_SSA, stream_key, uniform_pair


@njit(cache=True, inline="always")
def propensity(j, x, reactant_species, reactant_stoich, c):
    """Mass-action propensity of reaction ``j`` in state ``x`` with constant ``c``:
    ``c · Π_s C(x_s, ν_s)``, the number of distinct reactant combinations."""
    a = c
    for m in range(reactant_species.shape[1]):
        nu = reactant_stoich[j, m]
        if nu == 0:
            break
        xs = x[reactant_species[j, m]]
        if nu == 1:
            a *= xs
        else:
            f = 1.0
            for q in range(nu):
                f *= (xs - q) / (q + 1.0)
            a *= f
    return a


@njit(cache=True, inline="always")
def load_agent(i, counts, rate, modulated, factors, x, c):
    """Agent ``i``'s counts into ``x`` and its rate constants (with its field
    modulation) into ``c``."""
    for s in range(x.shape[0]):
        x[s] = counts[i, s]
    for j in range(c.shape[0]):
        cj = rate[j]
        if modulated[j] >= 0:
            cj *= factors[i, modulated[j]]
        c[j] = cj


@njit(cache=True, inline="always")
def apply_change(j, x, times, change_species, change_amount):
    """``x += times ·`` the net change of reaction ``j`` (``times`` firings)."""
    for m in range(change_species.shape[1]):
        s = change_species[j, m]
        if s < 0:
            break
        x[s] += change_amount[j, m] * times


@njit(cache=True, inline="always")
def export_firings(i, j, times, exports, export_column, export_amount):
    """Count what ``times`` firings of reaction ``j`` in agent ``i`` release into a field."""
    if export_column[j] >= 0:
        exports[i, export_column[j]] += export_amount[j] * times


@njit(cache=True, inline="always")
def fire_selected(target, i, x, a, c, exports, reactant_species, reactant_stoich, change_species, change_amount,
                  dependents, export_column, export_amount):
    """Fire the reaction selected by ``target`` ∈ (0, a0] (the first whose cumulative
    propensity reaches it) in agent ``i``'s state ``x``: apply its net change, count
    what it secretes, recompute the propensities that depend on it; returns the new a0."""
    n_reactions = a.shape[0]
    j = 0
    acc = a[0]
    while acc < target and j < n_reactions - 1:
        j += 1
        acc += a[j]
    while a[j] == 0.0:  # rounding pushed the scan past the last live reaction
        j -= 1
    apply_change(j, x, 1, change_species, change_amount)
    export_firings(i, j, 1, exports, export_column, export_amount)
    for m in range(dependents.shape[1]):
        d = dependents[j, m]
        if d < 0:
            break
        a[d] = propensity(d, x, reactant_species, reactant_stoich, c[d])
    a0 = 0.0
    for r in range(n_reactions):
        a0 += a[r]
    return a0


@njit(cache=True, inline="always")
def exact_events(i, x, a, c, a0, t, interval, draw, max_events, k0, k1, agent, step, exports,
                 reactant_species, reactant_stoich, change_species, change_amount, dependents,
                 export_column, export_amount):
    """Up to ``max_events`` direct-method events of agent ``i`` from time ``t`` until
    ``interval`` (the waiting time that crosses it is discarded) or until nothing can
    fire; returns ``(a0, t, draw, events)``. ``t`` is ``interval`` or more when the
    interval was reached."""
    events = 0
    while a0 > 0.0 and events < max_events:
        u1, u2 = uniform_pair(k0, k1, agent, step, draw)
        draw += 1
        t -= math.log(u1) / a0
        if t >= interval:
            break
        a0 = fire_selected(u2 * a0, i, x, a, c, exports, reactant_species, reactant_stoich,
                           change_species, change_amount, dependents, export_column, export_amount)
        events += 1
    return a0, t, draw, events


@njit(cache=True)
def advance_agents(counts, ids, rate, modulated, factors, interval, seed, step, exports,
                   reactant_species, reactant_stoich, change_species, change_amount, dependents,
                   export_column, export_amount):
    """Advance every agent's counts by ``interval`` (min) with the direct method.

    Parameters
    ----------
    counts : int64 (n, n_species), updated in place
    ids : int64 (n,) global agent ids (key the random numbers)
    rate : float64 (n_reactions,) mass-action constants (1/min · count^(1-order))
    modulated : int64 (n_reactions,) column of ``factors`` that multiplies the
        constant of each reaction, or -1
    factors : float64 (n, n_modulated) per-agent multipliers for this interval
    interval : float, min
    seed, step : int, key the random numbers with the agent id
    exports : int64 (n, n_secreted_fields), incremented by the molecules each agent
        releases into each field (reactions with ``export_column`` ≥ 0)

    Returns the number of reaction events fired.
    """
    n = counts.shape[0]
    n_species = counts.shape[1]
    n_reactions = rate.shape[0]
    k0, k1 = stream_key(seed, STREAM_SSA)
    x = np.empty(n_species, dtype=np.int64)
    a = np.empty(n_reactions)
    c = np.empty(n_reactions)
    events = 0
    for i in range(n):
        for s in range(n_species):
            x[s] = counts[i, s]
        a0 = 0.0
        for j in range(n_reactions):
            cj = rate[j]
            if modulated[j] >= 0:
                cj *= factors[i, modulated[j]]
            c[j] = cj
            a[j] = propensity(j, x, reactant_species, reactant_stoich, cj)
            a0 += a[j]
        _, _, _, fired = exact_events(i, x, a, c, a0, 0.0, interval, 0, 1 << 62, k0, k1, ids[i],
                                      step, exports, reactant_species, reactant_stoich, change_species,
                                      change_amount, dependents, export_column, export_amount)
        events += fired
        for s in range(n_species):
            counts[i, s] = x[s]
    return events
