"""Cell motility and the domain boundaries for agents (numba kernels on arrays).

* Brownian motion: ``Δx = √(2 D Δt) ξ`` per axis, ``D`` in µm²/min per agent.
* Persistent random walk: the cell moves at speed ``v`` (µm/min, per agent)
  along a unit direction that is redrawn uniformly with probability
  ``1 − exp(−Δt/τ)`` per step (persistence time ``τ``, min), and at birth.
* ``drift`` (µm/min, per agent) is added to either; chemotaxis uses it.

Boundaries per face: ``PERIODIC`` wraps, ``REFLECTING`` mirrors the position
(and flips the walk direction), ``ABSORBING`` removes the agent. Jumps longer
than the domain are folded repeatedly, so no displacement escapes.
"""

from __future__ import annotations

import math

from numba import njit

from .rng import STREAM_MOTILITY, normal_pair, stream_key, uniform_pair

PERIODIC = 0
REFLECTING = 1
ABSORBING = 2
BOUNDARY_KINDS = {"periodic": PERIODIC, "reflecting": REFLECTING, "absorbing": ABSORBING}


@njit(cache=True, inline="always")
def _random_direction(k0, k1, agent, step, draw, out, i):
    """A uniformly distributed unit vector in ``out[i]`` (1D: ±1); uses blocks
    ``draw`` and ``draw + 1``."""
    dim = out.shape[1]
    u1, u2 = uniform_pair(k0, k1, agent, step, draw)
    if dim == 1:
        out[i, 0] = 1.0 if u1 <= 0.5 else -1.0
    elif dim == 2:
        angle = 2.0 * math.pi * u1
        out[i, 0] = math.cos(angle)
        out[i, 1] = math.sin(angle)
    else:
        z = 2.0 * u1 - 1.0
        phi = 2.0 * math.pi * u2
        r = math.sqrt(max(0.0, 1.0 - z * z))
        out[i, 0] = r * math.cos(phi)
        out[i, 1] = r * math.sin(phi)
        out[i, 2] = z


@njit(cache=True)
def brownian_step(position, ids, diffusivity, drift, dt, seed, step):
    """Move every agent by ``√(2 D Δt) ξ + drift·Δt`` (``drift`` may have 0 rows)."""
    k0, k1 = stream_key(seed, STREAM_MOTILITY)
    dim = position.shape[1]
    has_drift = drift.shape[0] > 0
    for i in range(position.shape[0]):
        scale = math.sqrt(2.0 * diffusivity[i] * dt)
        for a in range(0, dim, 2):
            g1, g2 = normal_pair(k0, k1, ids[i], step, a // 2)
            position[i, a] += scale * g1
            if a + 1 < dim:
                position[i, a + 1] += scale * g2
        if has_drift:
            for a in range(dim):
                position[i, a] += drift[i, a] * dt


@njit(cache=True)
def persistent_step(position, direction, ids, speed, persistence, drift, dt, seed, step):
    """Redraw directions (with probability ``1 − e^{−Δt/τ}``, or when unset), then
    move every agent by ``v·direction·Δt + drift·Δt``."""
    k0, k1 = stream_key(seed, STREAM_MOTILITY)
    dim = position.shape[1]
    turn = 1.0 - math.exp(-dt / persistence) if persistence > 0.0 else 1.0
    has_drift = drift.shape[0] > 0
    for i in range(position.shape[0]):
        u, _ = uniform_pair(k0, k1, ids[i], step, 0)
        unset = True
        for a in range(dim):
            if direction[i, a] != 0.0:
                unset = False
        if unset or u <= turn:
            _random_direction(k0, k1, ids[i], step, 1, direction, i)
        for a in range(dim):
            position[i, a] += speed[i] * dt * direction[i, a]
            if has_drift:
                position[i, a] += drift[i, a] * dt


@njit(cache=True)
def apply_boundaries(position, direction, size, kinds, alive):
    """Bring every position into ``[0, size]`` per the face ``kinds`` (int array
    ``(dim, 2)``: low, high face); clears ``alive[i]`` for absorbed agents.
    ``direction`` may have 0 rows. A jump of any length takes a bounded number of
    operations (between two reflecting faces it is folded by their period 2L first).
    Returns the number of coordinates that are not finite (left as they are)."""
    dim = position.shape[1]
    has_direction = direction.shape[0] > 0
    non_finite = 0
    for i in range(position.shape[0]):
        for a in range(dim):
            L = size[a]
            x = position[i, a]
            if not math.isfinite(x):
                non_finite += 1
                continue
            if kinds[a, 0] == REFLECTING and kinds[a, 1] == REFLECTING and (x < -L or x > 2.0 * L):
                x -= 2.0 * L * math.floor(x / (2.0 * L))  # an even number of reflections: direction kept
            if kinds[a, 0] == PERIODIC:
                if x < 0.0 or x >= L:
                    x -= L * math.floor(x / L)
                    if x >= L:  # rounding of a tiny negative x
                        x = 0.0
            else:
                while x < 0.0 or x > L:
                    if x < 0.0:
                        if kinds[a, 0] == ABSORBING:
                            alive[i] = False
                            break
                        x = -x
                    else:
                        if kinds[a, 1] == ABSORBING:
                            alive[i] = False
                            break
                        x = 2.0 * L - x
                    if has_direction:
                        direction[i, a] = -direction[i, a]
            position[i, a] = x
    return non_finite
