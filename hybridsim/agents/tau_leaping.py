"""Tau-leaping with automatic fallback to exact SSA (numba kernel on arrays).

Explicit tau-leaping after Cao, Gillespie and Petzold: the leap τ keeps the
expected relative change of every reactant species below ``epsilon`` (J. Chem.
Phys. 124, 044109, 2006, species-based bound with the highest-order-reaction
factor g_i); reactions that could exhaust a reactant within ``N_CRITICAL``
firings are *critical* and fire at most once per leap, by an exact exponential
race (J. Chem. Phys. 122, 054103, 2005). When a leap would be shorter than
``SSA_FALLBACK / a0`` — low copy numbers, where leaping gains nothing and is
least accurate — up to ``SSA_BURST`` exact direct-method events are taken
instead. A leap that would drive a count negative is halved and redrawn.

Numbers of firings are Poisson: inversion below a mean of 10, Hörmann's PTRS
transformed rejection above. All draws come from the agent's own counter-based
stream (:data:`~hybridsim.agents.rng.STREAM_TAU`), so results are again
independent of the rank and of the other agents.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .rng import STREAM_TAU, stream_key, uniform_pair
from .ssa import apply_change, exact_events, export_firings, load_agent, propensity

N_CRITICAL = 10
SSA_FALLBACK = 10.0
SSA_BURST = 100


@njit(cache=True)
def poisson(lam, k0, k1, agent, step, draw):
    """A Poisson(``lam``) number from the agent's stream starting at block ``draw``;
    returns ``(sample, next free block)``."""
    if lam <= 0.0:
        return 0, draw
    if lam < 10.0:
        u, _ = uniform_pair(k0, k1, agent, step, draw)
        draw += 1
        p = math.exp(-lam)
        cdf = p
        k = 0
        while u > cdf and p > 0.0:
            k += 1
            p *= lam / k
            cdf += p
        return k, draw
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u1, v = uniform_pair(k0, k1, agent, step, draw)
        draw += 1
        u = u1 - 0.5
        us = 0.5 - abs(u)
        if us <= 0.0:
            continue
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return np.int64(k), draw
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b) <= -lam + k * loglam - math.lgamma(k + 1.0):
            return np.int64(k), draw


@njit(cache=True, inline="always")
def leap_work(n_species, n_reactions):
    """Scratch of the leaping kernels, reused for every agent: its counts, a trial
    state, propensities, rate constants, firings and a flag per reaction."""
    return (np.empty(n_species, dtype=np.int64), np.empty(n_species, dtype=np.int64), np.empty(n_reactions),
            np.empty(n_reactions), np.zeros(n_reactions, dtype=np.int64), np.zeros(n_reactions, dtype=np.bool_))


@njit(cache=True, inline="always")
def poisson_firings(a, tau, flags, leap_if, trial, firings, change_species, change_amount, k0, k1, agent, step,
                    draw):
    """Poisson numbers of firings over a leap ``tau`` of the reactions ``j`` with
    ``flags[j] == leap_if`` and ``a[j] > 0`` (0 for the others) into ``firings``,
    their net change added to ``trial``; returns ``(firings in all, next block)``."""
    fired = 0
    for j in range(a.shape[0]):
        firings[j] = 0
        if flags[j] != leap_if or a[j] <= 0.0:
            continue
        k, draw = poisson(a[j] * tau, k0, k1, agent, step, draw)
        firings[j] = k
        fired += k
        apply_change(j, trial, k, change_species, change_amount)
    return fired, draw


@njit(cache=True, inline="always")
def choose_flagged(a, flags, flag, target):
    """Among the reactions ``j`` with ``flags[j] == flag`` and ``a[j] > 0``, the first at
    which their cumulative propensity reaches ``target`` (the last of them if
    rounding leaves the sum short; -1 if there is none)."""
    acc = 0.0
    chosen = -1
    for j in range(a.shape[0]):
        if flags[j] != flag or a[j] <= 0.0:
            continue
        chosen = j
        acc += a[j]
        if acc >= target:
            break
    return chosen


@njit(cache=True)
def advance_agents_tau(counts, ids, rate, modulated, factors, interval, seed, step, exports, epsilon,
                       reactant_species, reactant_stoich, change_species, change_amount, dependents,
                       export_column, export_amount, highest_order, highest_stoich):
    """Advance every agent's counts by ``interval`` (min) by tau-leaping.

    Arguments as :func:`hybridsim.agents.ssa.advance_agents`, plus ``epsilon``
    (bound on the relative change of a reactant per leap) and, per species, the
    highest order of a reaction consuming it and its stoichiometry there.
    Returns ``(reaction events, leaps)``.
    """
    n = counts.shape[0]
    n_species = counts.shape[1]
    R = rate.shape[0]
    k0, k1 = stream_key(seed, STREAM_TAU)
    x, trial, a, c, firings, critical = leap_work(n_species, R)
    mu = np.empty(n_species)
    sigma2 = np.empty(n_species)
    is_reactant = np.zeros(n_species, dtype=np.bool_)
    events = 0
    leaps = 0
    for i in range(n):
        agent = ids[i]
        load_agent(i, counts, rate, modulated, factors, x, c)
        t = 0.0
        draw = 0
        while t < interval:
            a0 = 0.0
            for j in range(R):
                a[j] = propensity(j, x, reactant_species, reactant_stoich, c[j])
                a0 += a[j]
            if a0 <= 0.0:
                break
            # critical reactions: could exhaust a reactant within N_CRITICAL firings
            for s in range(n_species):
                mu[s] = 0.0
                sigma2[s] = 0.0
                is_reactant[s] = False
            for j in range(R):
                critical[j] = False
                # every species some reaction consumes bounds the leap — also when that reaction is
                # critical or idle now, since the noncritical ones may feed it
                for m in range(reactant_species.shape[1]):
                    if reactant_stoich[j, m] == 0:
                        break
                    is_reactant[reactant_species[j, m]] = True
                if a[j] <= 0.0:
                    continue
                for m in range(reactant_species.shape[1]):
                    nu = reactant_stoich[j, m]
                    if nu == 0:
                        break
                    if x[reactant_species[j, m]] // nu < N_CRITICAL:
                        critical[j] = True
                if critical[j]:
                    continue
                for m in range(change_species.shape[1]):
                    s = change_species[j, m]
                    if s < 0:
                        break
                    v = change_amount[j, m]
                    mu[s] += v * a[j]
                    sigma2[s] += v * v * a[j]
            tau1 = np.inf
            for s in range(n_species):
                if not is_reactant[s]:
                    continue
                xs = x[s]
                g = float(highest_order[s])
                if highest_order[s] == 2 and highest_stoich[s] == 2:
                    g = 2.0 + 1.0 / max(xs - 1.0, 1.0)
                elif highest_order[s] == 3:
                    if highest_stoich[s] == 2:
                        g = 1.5 * (2.0 + 1.0 / max(xs - 1.0, 1.0))
                    elif highest_stoich[s] == 3:
                        g = 3.0 + 1.0 / max(xs - 1.0, 1.0) + 2.0 / max(xs - 2.0, 1.0)
                bound = max(epsilon * xs / g, 1.0)
                if mu[s] != 0.0:
                    tau1 = min(tau1, bound / abs(mu[s]))
                if sigma2[s] > 0.0:
                    tau1 = min(tau1, bound * bound / sigma2[s])
            if tau1 < SSA_FALLBACK / a0:
                # exact direct-method events: leaping would gain nothing here
                a0, t, draw, fired = exact_events(i, x, a, c, a0, t, interval, draw, SSA_BURST, k0, k1, agent, step,
                                                  exports, reactant_species, reactant_stoich, change_species,
                                                  change_amount, dependents, export_column, export_amount)
                events += fired
                if a0 <= 0.0 and t < interval:
                    break
                continue
            while True:  # leap; halve tau1 if a count would go negative
                a0c = 0.0
                for j in range(R):
                    if critical[j]:
                        a0c += a[j]
                tau2 = np.inf
                if a0c > 0.0:
                    u1, _ = uniform_pair(k0, k1, agent, step, draw)
                    draw += 1
                    tau2 = -math.log(u1) / a0c
                fire_critical = tau2 <= tau1
                tau = tau2 if fire_critical else tau1
                if tau >= interval - t:
                    tau = interval - t
                    fire_critical = False
                for s in range(n_species):
                    trial[s] = x[s]
                fired, draw = poisson_firings(a, tau, critical, False, trial, firings, change_species,
                                              change_amount, k0, k1, agent, step, draw)
                if fire_critical:
                    u1, _ = uniform_pair(k0, k1, agent, step, draw)
                    draw += 1
                    chosen = choose_flagged(a, critical, True, u1 * a0c)
                    fired += 1
                    firings[chosen] += 1
                    apply_change(chosen, trial, 1, change_species, change_amount)
                negative = False
                for s in range(n_species):
                    if trial[s] < 0:
                        negative = True
                if negative:
                    tau1 *= 0.5
                    continue
                for s in range(n_species):
                    x[s] = trial[s]
                for j in range(R):
                    export_firings(i, j, firings[j], exports, export_column, export_amount)
                t += tau
                events += fired
                leaps += 1
                break
        for s in range(n_species):
            counts[i, s] = x[s]
    return events, leaps
