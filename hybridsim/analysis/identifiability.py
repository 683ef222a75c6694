"""Which parameters can data determine? Sensitivities, structural and practical
identifiability of a network's rate constants.

Model: the rate equations (:mod:`.rre`) of the network; parameters θ are rate
constants (by reaction name), analysed in log θ so that sensitivities are
relative and combinations are products of powers. Outputs are species counts
(or sums of them) at measurement times, in one or more experiments (different
initial counts or field values); ``"steady"`` measures the state the system
settles to.

Sensitivities ``∂y/∂log θ`` come from the forward sensitivity equations
``ṡ_p = J s_p + ∂f/∂log θ_p`` integrated with the model (accuracy set by the
integrator's tolerances; tested against closed forms and finite differences).

* Structural: the sensitivity matrix (all experiments, times and outputs stacked)
  at several random parameter points; its numerical rank and null space. A null
  vector ``v`` means the outputs do not change along ``Σ v_p log θ_p``: only
  combinations ``Π θ_p^{w_p}`` with ``w ⊥ v`` are identifiable.
* Practical: the Fisher information ``F = Σ sᵀ s / σ²`` for a stated noise model
  (``σ = σ_abs + σ_rel·|y|``), its eigenvalues, the parameter correlations, and
  the Cramér–Rao bounds ``√(F⁻¹)_pp`` on the standard deviation of ``log θ_p``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .rre import RateEquations, echelon, null_space

STEADY = "steady"


@dataclass(frozen=True)
class Experiment:
    """Initial counts (species → molecules) and field values that differ from the
    network's defaults, for one measured time course."""

    name: str = "experiment"
    initial: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)


def _initial_state(network, experiment: Experiment) -> np.ndarray:
    x0 = np.array(network.initial, dtype=float)
    for name, value in experiment.initial.items():
        if name not in network.species:
            raise InputError(f"{experiment.name}: no species named {name!r} (species: {', '.join(network.species)})")
        x0[network.species.index(name)] = float(value)
    return x0


def _observation_matrix(network, observe) -> np.ndarray:
    """Rows: one per output, a species or a sum ``"A+B"``."""
    rows = []
    for item in observe:
        row = np.zeros(network.n_species)
        for name in item.split("+"):
            name = name.strip()
            if name not in network.species:
                raise InputError(f"cannot observe {name!r}: not a species ({', '.join(network.species)})")
            row[network.species.index(name)] += 1.0
        rows.append(row)
    if not rows:
        raise InputError("name at least one observed species")
    return np.array(rows)


def forward_sensitivities(rre: RateEquations, x0, times, parameters, *, rtol=1e-10, atol=1e-12):
    """States ``(T, n)`` and sensitivities ``∂x/∂log θ`` ``(T, n, P)`` at ``times``
    (floats, or ``"steady"`` for the settled state; steady entries must come last)."""
    from scipy.integrate import solve_ivp

    idx = [_reaction_index(rre, p) for p in parameters]
    n, P = len(rre.species), len(idx)
    x0 = np.asarray(x0, dtype=float)
    scale = max(1.0, float(np.abs(x0).max()))

    def rhs(t, y):
        x, s = y[:n], y[n:].reshape(n, P)
        a = rre.propensities(x)
        J = rre.jacobian(t, x)
        ds = J @ s + rre.S[:, idx] * a[idx]
        return np.concatenate([rre.S @ a, ds.ravel()])

    def jac(t, y):
        x = y[:n]
        J = rre.jacobian(t, x)
        big = np.zeros((n + n * P, n + n * P))
        big[:n, :n] = J
        for p in range(P):  # s_p' depends on s_p through J (the x-dependence of J is left out)
            rows = n + np.arange(n) * P + p
            big[np.ix_(rows, rows)] = J
        return big

    finite = [t for t in times if t != STEADY]
    n_steady = len(times) - len(finite)
    if any(t == STEADY for t in times[:len(finite)]):
        raise InputError("'steady' must come after the measurement times")
    y0 = np.concatenate([x0, np.zeros(n * P)])
    out_x, out_s = [], []
    t_end = max(finite) if finite else 0.0
    if finite:
        sol = solve_ivp(rhs, (0.0, t_end), y0, t_eval=np.asarray(finite, dtype=float), method="BDF", jac=jac,
                        rtol=rtol, atol=atol * scale)
        if not sol.success:
            raise RuntimeError(f"the sensitivity equations could not be integrated: {sol.message}")
        out_x += list(sol.y[:n].T)
        out_s += [col.reshape(n, P) for col in sol.y[n:].T]
        y0 = sol.y[:, -1]
    if n_steady:
        y = _settle(rhs, jac, y0, rre, rtol, atol * scale)
        for _ in range(n_steady):
            out_x.append(y[:n])
            out_s.append(y[n:].reshape(n, P))
    return np.array(out_x), np.array(out_s)


def _settle(rhs, jac, y, rre, rtol, atol):
    from scipy.integrate import solve_ivp

    n = len(rre.species)
    rates = np.abs(np.linalg.eigvals(rre.jacobian(0.0, np.maximum(y[:n], 1.0))))
    rates = rates[rates > 1e-12 * max(rates.max(), 1e-300)]
    horizon = 10.0 / rates.min() if rates.size else 1.0
    for _ in range(60):
        sol = solve_ivp(rhs, (0.0, horizon), y, method="BDF", jac=jac, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"the sensitivity equations could not be integrated: {sol.message}")
        y = sol.y[:, -1]
        size = max(1.0, float(np.abs(y).max()))
        if np.abs(rhs(0.0, y)).max() * horizon <= 1e-9 * size:
            return y
        horizon *= 2.0
    raise RuntimeError("the model did not settle to a steady state")


def _reaction_index(rre, name):
    if name not in rre.reactions:
        raise InputError(f"no reaction named {name!r} to use as a parameter (reactions: {', '.join(rre.reactions)})")
    return rre.reactions.index(name)


def sensitivity_matrix(network, parameters, observe, times, experiments, *, rates=None):
    """Outputs ``y`` (stacked over experiments, times, observables) and their
    sensitivities ``∂y/∂log θ`` (rows as ``y``, one column per parameter)."""
    observation = _observation_matrix(network, observe)
    ys, rows = [], []
    for exp in experiments:
        rre = RateEquations(network, fields=exp.fields, rates=rates)
        x, s = forward_sensitivities(rre, _initial_state(network, exp), list(times), parameters)
        ys.append((x @ observation.T).ravel())
        rows.append(np.einsum("on,tnp->top", observation, s).reshape(-1, len(parameters)))
    return np.concatenate(ys), np.vstack(rows)


@dataclass(frozen=True)
class Structural:
    """Numerical rank of the sensitivity matrix and its null space (log-parameters)."""

    parameters: tuple[str, ...]
    rank: int
    singular_values: tuple[float, ...]  # relative to the largest, at the last point
    null_vectors: tuple[tuple[float, ...], ...]
    identifiable: tuple[tuple[float, ...], ...]  # exponents w of identifiable Π θ_p^{w_p}

    def describe(self) -> list[str]:
        lines = [f"rank {self.rank} of {len(self.parameters)} parameters "
                 f"(relative singular values {', '.join(f'{s:.2e}' for s in self.singular_values)})"]
        if self.rank == len(self.parameters):
            lines.append("all parameters are structurally identifiable from these outputs")
            return lines
        for v in self.null_vectors:
            lines.append("not identifiable: moving along " + _combination(self.parameters, v, "log")
                         + " leaves every output unchanged")
        for w in self.identifiable:
            lines.append("identifiable: " + _combination(self.parameters, w, "product"))
        return lines


def _combination(names, w, kind) -> str:
    w = np.asarray(w, dtype=float)
    w = w / np.abs(w).max()
    if kind == "log":  # a direction: its sign is arbitrary, show the first coefficient positive
        w = w * np.sign(w[np.flatnonzero(np.abs(w) > 1e-9)[0]])
    w = np.where(np.abs(w - np.round(w)) < 1e-3, np.round(w), w)
    if kind == "log":
        return " + ".join(f"{c:g}·log {n}" for n, c in zip(names, w) if abs(c) > 1e-9)
    return " · ".join(f"{n}^{c:g}" for n, c in zip(names, w) if abs(c) > 1e-9)


def structural(network, parameters, observe, times, experiments, *, points: int = 3, spread: float = 3.0,
               seed: int = 0, tol: float = 1e-6) -> Structural:
    """Rank and null space of the sensitivity matrix at ``points`` random parameter
    points (log-uniform within ×/÷ ``spread`` of the network's values); the
    smallest rank found is reported (a generic point has the structural rank)."""
    rng = np.random.default_rng(seed)
    names = [r.name for r in network.reactions]
    for p in parameters:
        if p not in names:
            raise InputError(f"no reaction named {p!r} to use as a parameter (reactions: {', '.join(names)})")
    base = {p: network.reactions[names.index(p)].rate for p in parameters}
    best = None
    for _ in range(points):
        rates = {p: v * spread ** rng.uniform(-1, 1) for p, v in base.items()}
        _, S = sensitivity_matrix(network, parameters, observe, times, experiments, rates=rates)
        sv = np.linalg.svd(S, compute_uv=False)
        rel = sv / sv[0] if sv[0] > 0 else sv
        rank = int(np.sum(rel > tol))
        if best is None or rank <= best[0]:
            best = (rank, rel, S)
    rank, rel, S = best
    _, _, vt = np.linalg.svd(S)
    null = vt[rank:]
    row = vt[:rank]
    identifiable = tuple(tuple(float(c) for c in w / np.abs(w).max()) for w in echelon(row))
    return Structural(tuple(parameters), rank, tuple(float(v) for v in rel),
                      tuple(tuple(float(c) for c in v / np.abs(v).max()) for v in null), identifiable)


@dataclass(frozen=True)
class Practical:
    """Fisher information and what it implies for the parameters (log θ)."""

    parameters: tuple[str, ...]
    fisher: np.ndarray
    eigenvalues: np.ndarray  # ascending
    eigenvectors: np.ndarray  # columns
    correlation: np.ndarray  # NaN where a bound is infinite
    bounds: np.ndarray  # Cramér–Rao bound on the s.d. of log θ_p (inf: not identifiable)
    warnings: tuple[str, ...]

    def describe(self) -> list[str]:
        top = max(float(self.eigenvalues[-1]), 1e-300)
        shown = [0.0 if abs(v) <= 1e-12 * top else v for v in self.eigenvalues]
        lines = ["Fisher information eigenvalues (log-parameters): " + ", ".join(f"{v:.3g}" for v in shown)]
        for name, b in zip(self.parameters, self.bounds):
            if np.isfinite(b):
                lines.append(f"  {name}: s.d. of log {name} ≥ {b:.3g} (a factor {np.exp(b):.3g} either way)")
            else:
                lines.append(f"  {name}: no finite bound (not identifiable from these data)")
        if len(self.parameters) > 1:
            def corr(i, j):
                c = self.correlation[i, j]
                return f"{c:+.3f}" if np.isfinite(c) else "undefined"

            lines.append("correlations: " + "; ".join(
                f"{self.parameters[i]}–{self.parameters[j]} {corr(i, j)}"
                for i in range(len(self.parameters)) for j in range(i + 1, len(self.parameters))))
        lines += [f"warning: {w}" for w in self.warnings]
        return lines


def practical(network, parameters, observe, times, experiments, *, noise_abs: float = 0.0,
              noise_rel: float = 0.1, replicates: int = 1, max_sd: float = 1.0) -> Practical:
    """Fisher information at the network's parameter values for measurements with
    Gaussian noise ``σ = noise_abs + noise_rel·|y|`` (molecules), ``replicates``
    independent repeats; a warning for each parameter whose Cramér–Rao bound on the
    s.d. of log θ exceeds ``max_sd``, and when the information matrix is singular."""
    if noise_abs < 0 or noise_rel < 0 or noise_abs + noise_rel <= 0:
        raise InputError("the noise model needs noise_abs ≥ 0, noise_rel ≥ 0, not both 0")
    y, S = sensitivity_matrix(network, parameters, observe, times, experiments)
    sigma = noise_abs + noise_rel * np.abs(y)
    if np.any(sigma <= 0):
        raise InputError("an output is 0 and the noise is purely relative: add an absolute noise level")
    W = S / sigma[:, None]
    F = replicates * (W.T @ W)
    eigenvalues, vectors = np.linalg.eigh(F)
    warnings = []
    top = max(eigenvalues[-1], 1e-300)
    singular = eigenvalues[0] <= 1e-10 * top
    if singular:
        cov = np.linalg.pinv(F, rcond=1e-10)
        v = vectors[:, 0]
        warnings.append("the Fisher information is singular: the data cannot separate "
                        + _combination(parameters, v, "log"))
        bounds = np.sqrt(np.abs(np.diag(cov)))
        unresolved = np.abs(vectors[:, eigenvalues <= 1e-10 * top]).max(axis=1) > 1e-6
        bounds[unresolved] = np.inf
    else:
        cov = np.linalg.inv(F)
        bounds = np.sqrt(np.diag(cov))
    d = np.sqrt(np.abs(np.diag(cov)))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(d, d)
    corr[~np.isfinite(np.outer(bounds, bounds))] = np.nan
    for name, b in zip(parameters, bounds):
        if np.isfinite(b) and b > max_sd:
            warnings.append(f"{name} is practically unidentifiable: its Cramér–Rao bound on the s.d. of log {name} "
                            f"is {b:.3g} (> {max_sd:g}, a factor {np.exp(b):.3g})")
    return Practical(tuple(parameters), F, eigenvalues, vectors, corr, bounds, tuple(warnings))


def null_directions(S: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Null space (columns) of a sensitivity matrix, relative tolerance ``tol``."""
    return null_space(S, rtol=tol)
