"""Deterministic reaction-rate equations (RRE) of a cell's network.

The mean-field limit of the SSA in molecule counts: reaction ``r`` with
stochastic constant ``c_r`` and reactant stoichiometries ``s_ir`` runs at

    a_r(x) = c_r · f_r · Π_i x_i^{s_ir} / s_ir!

(``f_r`` the field modulation, e.g. a Hill factor of a fixed field value), and
``dx/dt = S a(x)`` with ``S`` the net change of each species per firing. For
networks of first-order reactions the RRE gives the exact SSA means.

Used by the analysis tools (lens, QSSA reduction, sensitivities). Pure numpy and
scipy; no MPI.
"""

from __future__ import annotations

from math import factorial

import numpy as np

from ..agents.compiled import modulation_factor
from ..errors import InputError


class RateEquations:
    """The RRE of ``network`` with fields held at ``fields`` (name → concentration)
    and, optionally, some rate constants replaced (``rates``: reaction name → c, 1/min).

    Attributes
    ----------
    S:
        ``(n_species, n_reactions)`` net change per firing.
    k:
        ``(n_reactions,)`` rate constants including field modulation (1/min).
    """

    def __init__(self, network, fields: dict[str, float] | None = None, rates: dict[str, float] | None = None):
        general = next((r.name for r in network.reactions if r.law is not None), None)
        if general is not None or network.general:
            what = f"reaction {general!r} has a propensity expression" if general else "it has events or rules"
            raise InputError(f"the rate equations are built for mass-action networks, and {what}")
        self.network = network
        self.species = tuple(network.species)
        self.reactions = tuple(r.name for r in network.reactions)
        n, m = len(self.species), len(self.reactions)
        fields = dict(fields or {})
        rates = dict(rates or {})
        for name in rates:
            if name not in self.reactions:
                raise InputError(f"no reaction named {name!r} (reactions: {', '.join(self.reactions)})")
        self.S = np.zeros((n, m))
        self.order = np.zeros((n, m), dtype=np.int64)  # reactant stoichiometry
        self.base = np.array([rates.get(r.name, r.rate) for r in network.reactions], dtype=float)
        self.modulation = np.ones(m)
        for j, r in enumerate(network.reactions):
            for i, s in r.reactants:
                self.order[i, j] += s
                self.S[i, j] -= s
            for i, s in r.products:
                self.S[i, j] += s
            if r.modulation is not None:
                if r.modulation.source not in fields:
                    raise InputError(f"reaction {r.name!r} depends on field {r.modulation.source!r}: "
                                     f"give its value (e.g. --field {r.modulation.source}=1.0)")
                self.modulation[j] = float(modulation_factor(r.modulation, fields[r.modulation.source]))
        self.norm = np.array([np.prod([factorial(int(s)) for s in self.order[:, j]]) for j in range(m)])

    @property
    def k(self) -> np.ndarray:
        return self.base * self.modulation

    def with_rates(self, rates: np.ndarray) -> RateEquations:
        """A copy with the base rate constants (before modulation) replaced by ``rates``."""
        other = object.__new__(RateEquations)
        other.__dict__.update(self.__dict__)
        other.base = np.asarray(rates, dtype=float).copy()
        return other

    def propensities(self, x: np.ndarray) -> np.ndarray:
        """Reaction rates ``a(x)`` (firings/min); ``x`` may be ``(n_species,)`` or ``(…, n_species)``."""
        x = np.maximum(np.asarray(x, dtype=float), 0.0)
        powers = np.prod(x[..., :, None] ** self.order, axis=-2)
        return self.k * powers / self.norm

    def rhs(self, t: float, x: np.ndarray) -> np.ndarray:
        return self.S @ self.propensities(x)

    def propensity_jacobian(self, x: np.ndarray) -> np.ndarray:
        """``∂a_r/∂x_i``, shape ``(n_reactions, n_species)``."""
        x = np.maximum(np.asarray(x, dtype=float), 0.0)
        m, n = len(self.reactions), len(self.species)
        out = np.zeros((m, n))
        for i in range(n):
            s = self.order[i]
            active = s > 0
            if not np.any(active):
                continue
            others = np.ones(m)
            for j in range(n):
                if j != i:
                    others *= x[j] ** self.order[j]
            out[active, i] = (self.k * s * x[i] ** np.maximum(s - 1, 0) * others / self.norm)[active]
        return out

    def jacobian(self, t: float, x: np.ndarray) -> np.ndarray:
        """``∂(S a)/∂x``, shape ``(n_species, n_species)``."""
        return self.S @ self.propensity_jacobian(x)

    def simulate(self, x0, t_out, *, rtol: float = 1e-8, atol: float = 1e-10, method: str = "LSODA") -> np.ndarray:
        """Integrate from ``x0`` at t = 0; returns ``(len(t_out), n_species)`` (molecules)."""
        from scipy.integrate import solve_ivp

        t_out = np.asarray(t_out, dtype=float)
        sol = solve_ivp(self.rhs, (0.0, float(t_out[-1])), np.asarray(x0, dtype=float), t_eval=t_out,
                        method=method, jac=self.jacobian, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"the rate equations could not be integrated: {sol.message}")
        return sol.y.T

    def conservation_laws(self) -> np.ndarray:
        """Rows spanning the left null space of ``S``: linear combinations of
        species that no reaction changes, ``(n_laws, n_species)``."""
        return null_space(self.S.T).T

    def steady_state(self, x0, *, t_max: float | None = None) -> np.ndarray:
        """The state the RRE reach from ``x0``: integrated until the rates of change
        are negligible (doubling the horizon), so conservation laws stay those of ``x0``."""
        x = np.asarray(x0, dtype=float)
        scale = max(1.0, float(np.abs(x).max()))
        rates = np.abs(np.linalg.eigvals(self.jacobian(0.0, np.maximum(x, 1.0))))
        rates = rates[rates > 1e-12 * max(rates.max(), 1e-300)]
        horizon = 10.0 / rates.min() if rates.size else 1.0
        for _ in range(60):
            x = self.simulate(x, [0.0, horizon], rtol=1e-10, atol=1e-12 * scale, method="BDF")[-1]
            if np.abs(self.rhs(0.0, x)).max() * horizon <= 1e-9 * max(scale, float(np.abs(x).max())):
                return x
            if t_max is not None and horizon > t_max:
                break
            horizon *= 2.0
        raise RuntimeError("the rate equations did not settle to a steady state (they may oscillate or grow)")


def null_space(A: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis (columns) of the null space of ``A`` from its SVD."""
    A = np.atleast_2d(np.asarray(A, dtype=float))
    _, sv, vt = np.linalg.svd(A)
    tol = rtol * (sv[0] if sv.size else 1.0)
    rank = int(np.sum(sv > tol))
    return vt[rank:].T


def echelon(rows: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """The row space of ``rows`` in reduced row-echelon form, pivots taken from the
    left: a basis that reads simply (e.g. ``L + C``, ``R + C``, ``X``; or exponents
    ``(1, −1)`` for a ratio)."""
    A = np.array(rows, dtype=float, copy=True)
    if A.size == 0:
        return A
    scale = np.abs(A).max()
    r = 0
    for c in range(A.shape[1]):
        if r == len(A):
            break
        p = r + int(np.argmax(np.abs(A[r:, c])))
        if abs(A[p, c]) <= tol * scale:
            continue
        A[[r, p]] = A[[p, r]]
        A[r] /= A[r, c]
        for i in range(len(A)):
            if i != r:
                A[i] -= A[i, c] * A[r]
        r += 1
    A = A[:r]
    A[np.abs(A) < tol] = 0.0
    return A
