"""Time-scale separation: reduce a network to its slow manifold (quasi-steady state).

Split the reactions into fast (``S_f``, ``a_f``) and slow (``S_s``, ``a_s``). The
fast reactions leave some linear combinations of species unchanged: the rows of
``Λ``, a basis of the left null space of ``S_f``. These are the slow variables
``z = Λ x``; they move only through the slow reactions,

    dz/dt = Λ S_s a_s(x),

while the fast reactions hold ``x`` on the slow manifold, where they balance:
``Q^T S_f a_f(x) = 0`` with ``Q`` a basis of the range of ``S_f``. Given ``z``,
those equations together with ``Λ x = z`` fix ``x`` (solved by Newton's method,
or, if that leaves the non-negative orthant, by running the fast reactions alone
to equilibrium). The reduced model is a differential-algebraic system whose
error against the full model is O(ε), ε the ratio of fast to slow time scales
(singular perturbation; Tikhonov's theorem).

Fast reactions are named by the user or found from the spectrum of the Jacobian
at a state: the largest gap between consecutive relaxation rates separates fast
from slow modes, and a reaction is fast when its own relaxation rate
``Σ_i |S_ir ∂a_r/∂x_i|`` lies above that gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .rre import RateEquations, echelon, null_space


@dataclass(frozen=True)
class Separation:
    """Fast reactions found at a state and the time-scale ratio ``epsilon``
    (slowest fast rate over fastest slow rate, inverted: fast/slow *time* ratio)."""

    fast: tuple[str, ...]
    rates: tuple[float, ...]  # relaxation rates |λ| of the Jacobian, 1/min, descending
    n_fast_modes: int
    epsilon: float
    reaction_rates: tuple[float, ...]  # each reaction's own relaxation rate, 1/min


def detect_fast(rre: RateEquations, x: np.ndarray, min_gap: float = 10.0) -> Separation:
    """Find the fast reactions at state ``x`` from the Jacobian's spectrum; raises
    :class:`InputError` if no gap of at least ``min_gap`` separates the time scales."""
    x = np.asarray(x, dtype=float)
    eig = np.sort(np.abs(np.linalg.eigvals(rre.jacobian(0.0, x))))[::-1]
    positive = eig[eig > 1e-12 * max(eig[0], 1e-300)] if eig.size else eig
    if positive.size < 2:
        raise InputError("the network has fewer than two relaxing modes at this state: nothing to separate")
    ratios = positive[:-1] / positive[1:]
    k = int(np.argmax(ratios))
    if ratios[k] < min_gap:
        raise InputError(f"no separation of time scales: the largest gap between relaxation rates is "
                         f"{ratios[k]:.3g}× (< {min_gap:g}×); rates {', '.join(f'{r:.3g}' for r in positive)} 1/min")
    threshold = np.sqrt(positive[k] * positive[k + 1])
    J = rre.propensity_jacobian(x)  # (R, n)
    own = np.abs(rre.S.T * J).sum(axis=1)
    fast = tuple(name for name, rho in zip(rre.reactions, own) if rho > threshold)
    return Separation(fast=fast, rates=tuple(positive), n_fast_modes=k + 1,
                      epsilon=float(positive[k + 1] / positive[k]), reaction_rates=tuple(own))


class ReducedModel:
    """The slow-manifold reduction of ``rre`` with ``fast`` reactions (names)."""

    def __init__(self, rre: RateEquations, fast):
        unknown = [f for f in fast if f not in rre.reactions]
        if unknown:
            raise InputError(f"no reaction named {unknown[0]!r} (reactions: {', '.join(rre.reactions)})")
        if not fast:
            raise InputError("name at least one fast reaction")
        self.rre = rre
        self.fast = np.array([rre.reactions.index(f) for f in fast])
        self.slow = np.array([j for j in range(len(rre.reactions)) if j not in set(self.fast)])
        S_f = rre.S[:, self.fast]
        self.Lambda = echelon(null_space(S_f.T).T)  # (n_slow_vars, n), e.g. rows L + C, R + C, X
        self.Q = _range_basis(S_f)  # (n, rank S_f)
        self._guess = None

    def slow_variables(self, x) -> np.ndarray:
        return self.Lambda @ np.asarray(x, dtype=float)

    def _fast_balance(self, x):
        a = self.rre.propensities(x)
        return self.Q.T @ (self.rre.S[:, self.fast] @ a[self.fast])

    def on_manifold(self, z, guess=None) -> np.ndarray:
        """The state on the slow manifold with slow variables ``z``."""
        from scipy.optimize import root

        rre = self.rre
        guess = np.asarray(guess if guess is not None else self._guess, dtype=float)
        S_f = rre.S[:, self.fast]

        def residual(x):
            return np.concatenate([self.Lambda @ x - z, self._fast_balance(x)])

        def jacobian(x):
            return np.vstack([self.Lambda, self.Q.T @ S_f @ rre.propensity_jacobian(x)[self.fast]])

        scale = max(1.0, float(np.abs(guess).max()))
        sol = root(residual, guess, jac=jacobian, method="hybr", options={"xtol": 1e-13})
        x = sol.x
        flux = float(np.abs(rre.propensities(np.maximum(x, 0.0))[self.fast]).max())  # firings/min
        balance = residual(x)
        n_laws = len(self.Lambda)
        if (x.min() < -1e-9 * scale or np.abs(balance[:n_laws]).max() > 1e-8 * scale
                or np.abs(balance[n_laws:]).max() > 1e-8 * max(flux, 1e-300)):
            x = self._relax(guess, z)
        self._guess = x
        return x

    def _relax(self, guess, z):
        """Equilibrium of the fast reactions alone from a state with slow variables ``z``."""
        start = guess + np.linalg.lstsq(self.Lambda, z - self.Lambda @ guess, rcond=None)[0]
        fast_only = self.rre.with_rates(np.where(np.isin(np.arange(len(self.rre.reactions)), self.fast),
                                                 self.rre.base, 0.0))
        return fast_only.steady_state(np.maximum(start, 0.0))

    def rhs(self, t, z):
        x = self.on_manifold(z)
        a = self.rre.propensities(x)
        return self.Lambda @ (self.rre.S[:, self.slow] @ a[self.slow])

    def simulate(self, x0, t_out, *, rtol: float = 1e-10, atol: float = 1e-12) -> np.ndarray:
        """Integrate the reduced model from the slow variables of ``x0`` (projected
        onto the manifold at t = 0); returns the states ``(len(t_out), n_species)``."""
        from scipy.integrate import solve_ivp

        x0 = np.asarray(x0, dtype=float)
        self._guess = x0
        z0 = self.slow_variables(x0)
        t_out = np.asarray(t_out, dtype=float)
        sol = solve_ivp(self.rhs, (0.0, float(t_out[-1])), z0, t_eval=t_out, method="LSODA", rtol=rtol,
                        atol=atol * max(1.0, float(np.abs(x0).max())))
        if not sol.success:
            raise RuntimeError(f"the reduced model could not be integrated: {sol.message}")
        self._guess = x0
        return np.array([self.on_manifold(z) for z in sol.y.T])


def _range_basis(A: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    u, sv, _ = np.linalg.svd(np.atleast_2d(A), full_matrices=False)
    rank = int(np.sum(sv > rtol * (sv[0] if sv.size else 1.0)))
    return u[:, :rank]

