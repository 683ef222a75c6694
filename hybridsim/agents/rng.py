"""Counter-based random numbers for agents: Philox4x32-10 in numba.

Every draw is a pure function of ``(seed, stream, agent id, step, draw index)``,
so an agent's random numbers do not depend on which rank owns it, on the order
in which agents are processed, or on how many draws other agents made. This is
what makes agent-only runs bitwise identical on any number of ranks and lets a
run restart on a different rank count.

Layout of one Philox block (Salmon et al., SC'11; Random123):

* key (2 × 32 bit): ``seed`` (56 bit) and ``stream`` (8 bit);
* counter (4 × 32 bit): ``draw`` index, ``step``, agent ``id`` (low, high word).

One block gives 128 random bits: two uniform doubles with 53 random bits each.
Uniforms lie in (0, 1], so ``-log(u)`` is always finite.

numba note: every constant is an ``np.uint64``; mixing unsigned and signed
integers silently promotes to float64.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# streams: one per kind of decision, so adding draws to one never shifts another
STREAM_SSA = 1
STREAM_MOTILITY = 2
STREAM_DIVISION = 3
STREAM_DEATH = 4
STREAM_PLACEMENT = 5
STREAM_SPLIT = 6
STREAM_TAU = 7
STREAM_HYBRID = 8
STREAM_CHANGE = 32  # type changes: rule r of a type draws from stream 32 + r (r < 32)


_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of counter ``(c0, c1, c2, c3)`` under key ``(k0, k1)``.

    All arguments are uint64 holding 32-bit words; returns four such words.
    """
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        hi0 = p0 >> _S32
        lo0 = p0 & _MASK32
        hi1 = p1 >> _S32
        lo1 = p1 & _MASK32
        c0 = hi1 ^ c1 ^ k0
        c1 = lo1
        c2 = hi0 ^ c3 ^ k1
        c3 = lo0
        k0 = (k0 + _W0) & _MASK32
        k1 = (k1 + _W1) & _MASK32
    return c0, c1, c2, c3


@njit(cache=True, inline="always")
def stream_key(seed, stream):
    """The Philox key words for ``seed`` (< 2**56) and ``stream`` (< 256)."""
    s = np.uint64(seed)
    return s & _MASK32, ((s >> _S32) & np.uint64(0xFFFFFF)) | (np.uint64(stream) << np.uint64(24))


@njit(cache=True, inline="always")
def uniform_pair(k0, k1, agent_id, step, draw):
    """Two independent uniforms in (0, 1] for block ``draw`` of ``agent_id`` at ``step``."""
    a = np.uint64(agent_id)
    w0, w1, w2, w3 = philox4x32(np.uint64(draw) & _MASK32, np.uint64(step) & _MASK32,
                                a & _MASK32, a >> _S32, k0, k1)
    u1 = (((w0 << _S32) | w1) >> _S11) + _ONE
    u2 = (((w2 << _S32) | w3) >> _S11) + _ONE
    return u1 * _TWO_M53, u2 * _TWO_M53


@njit(cache=True, inline="always")
def normal_pair(k0, k1, agent_id, step, draw):
    """Two independent standard normal numbers (Box–Muller on one block)."""
    u1, u2 = uniform_pair(k0, k1, agent_id, step, draw)
    r = math.sqrt(-2.0 * math.log(u1))
    return r * math.cos(2.0 * math.pi * u2), r * math.sin(2.0 * math.pi * u2)


@njit(cache=True, inline="always")
def random_bits(k0, k1, agent_id, step, draw):
    """Two 64-bit random words (uint64) for block ``draw``."""
    a = np.uint64(agent_id)
    w0, w1, w2, w3 = philox4x32(np.uint64(draw) & _MASK32, np.uint64(step) & _MASK32,
                                a & _MASK32, a >> _S32, k0, k1)
    return (w0 << _S32) | w1, (w2 << _S32) | w3


@njit(cache=True)
def uniforms(seed, stream, ids, step, n_draws):
    """Array ``(len(ids), 2·n_draws)`` of uniforms in (0, 1] (tests and placement)."""
    k0, k1 = stream_key(seed, stream)
    out = np.empty((ids.shape[0], 2 * n_draws))
    for i in range(ids.shape[0]):
        for d in range(n_draws):
            u1, u2 = uniform_pair(k0, k1, ids[i], step, d)
            out[i, 2 * d] = u1
            out[i, 2 * d + 1] = u2
    return out


def philox_block(counter, key):
    """Philox4x32-10 of a 4-word counter and 2-word key (Python ints); for tests."""
    out = philox4x32(*(np.uint64(c) for c in counter), *(np.uint64(k) for k in key))
    return tuple(int(w) for w in out)
