"""Noise statistics of intracellular species across cells and over time.

Inputs are molecule counts ``(n_times, n_cells)`` per species — from a run's
``agents.h5`` (:func:`read_counts`, cells present at every output, matched by
id) or from :func:`hybridsim.agents.simulate_well_mixed`.

* across cells, per time: mean, variance, Fano factor ``σ²/μ`` (1 for Poisson),
  CV² ``σ²/μ²``;
* over time: the autocorrelation function of each cell's fluctuation around the
  population mean, averaged over cells, and its correlation time — the area
  under it, ``τ = Δt (½ + Σ_{k≥1} ρ_k)`` summed until ρ first drops below 0
  (for ρ = e^{−t/τ}, the area is τ up to O(Δt²/τ));
* tissue averages: the variance of the mean of N cells against N, and the fitted
  exponent (−1 for independent cells, VALIDATION case 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class CellStatistics:
    """Per output time, across cells."""

    times: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    fano: np.ndarray
    cv2: np.ndarray


def across_cells(counts: np.ndarray, times=None) -> CellStatistics:
    """Statistics across cells of ``counts`` ``(n_times, n_cells)``."""
    x = np.asarray(counts, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2:
        raise InputError("noise statistics need counts of at least two cells at each time")
    mean = x.mean(axis=1)
    var = x.var(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        fano = np.where(mean > 0, var / mean, np.nan)
        cv2 = np.where(mean > 0, var / mean**2, np.nan)
    t = np.arange(len(x), dtype=float) if times is None else np.asarray(times, dtype=float)
    return CellStatistics(t, mean, var, fano, cv2)


@dataclass(frozen=True)
class Autocorrelation:
    lags: np.ndarray  # min
    rho: np.ndarray  # normalised autocorrelation at each lag (ρ_0 = 1)
    time: float  # correlation time, min (the area under ρ)
    stderr: float  # standard error of ``time`` from the spread between cells, min


def autocorrelation(counts: np.ndarray, dt: float, max_lag: int | None = None) -> Autocorrelation:
    """Autocorrelation over time of ``counts`` ``(n_times, n_cells)`` sampled every
    ``dt`` min (a stationary stretch: discard the transient first)."""
    x = np.asarray(counts, dtype=float)
    n_t, n_c = x.shape
    if n_t < 4:
        raise InputError("an autocorrelation needs at least 4 output times")
    dev = x - x.mean(axis=1, keepdims=True)  # around the population mean at each time (removes trends)
    max_lag = min(max_lag or n_t // 2, n_t - 1)
    var = (dev * dev).mean(axis=0)
    if not np.any(var > 0):
        raise InputError("the counts do not fluctuate: no autocorrelation to measure")
    # autocovariance per cell and lag; pooled over cells before normalising (a ratio per cell
    # would be biased low when a cell's series spans only a few correlation times)
    per_cell = np.array([(dev[:n_t - k] * dev[k:]).mean(axis=0) for k in range(max_lag + 1)])  # (lags, cells)
    rho = per_cell.sum(axis=1) / var.sum()

    def area(r):
        below = np.flatnonzero(r[1:] < 0)
        stop = below[0] + 1 if below.size else len(r)
        return dt * (0.5 + r[1:stop].sum())

    time = area(rho)
    # the spread of the estimate: split the cells into 10 groups
    groups = np.array_split(np.arange(per_cell.shape[1]), min(10, per_cell.shape[1]))
    estimates = [area(per_cell[:, g].sum(axis=1) / var[g].sum()) for g in groups if len(g) and var[g].sum() > 0]
    stderr = float(np.std(estimates, ddof=1) / np.sqrt(len(estimates))) if len(estimates) > 1 else float("nan")
    return Autocorrelation(np.arange(max_lag + 1) * dt, rho, float(time), stderr)


@dataclass(frozen=True)
class Averaging:
    sizes: np.ndarray  # N, cells per tissue average
    variance: np.ndarray  # variance of the average of N cells
    exponent: float  # fitted slope of log variance against log N
    exponent_stderr: float


def averaging(samples: np.ndarray, sizes=None, seed: int = 0) -> Averaging:
    """Variance of the mean of N cells against N. ``samples`` ``(n_repeats, n_cells)``
    are independent snapshots (e.g. output times far apart, or replicate runs); the
    cells of each snapshot are shuffled and cut into disjoint groups of N."""
    x = np.asarray(samples, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    n_cells = x.shape[1]
    if sizes is None:
        sizes = np.unique(np.logspace(0, np.log10(max(n_cells // 10, 2)), 8).astype(int))
    sizes = np.asarray(sizes, dtype=int)
    if sizes.min() < 1 or sizes.max() * 2 > n_cells:
        raise InputError(f"group sizes must be between 1 and half the number of cells ({n_cells // 2})")
    rng = np.random.default_rng(seed)
    variances = []
    for N in sizes:
        means = []
        for row in x:
            perm = rng.permutation(n_cells)[: (n_cells // N) * N]
            means.append(row[perm].reshape(-1, N).mean(axis=1) - row.mean())
        variances.append(np.var(np.concatenate(means), ddof=1))
    variances = np.array(variances)
    fit, cov = np.polyfit(np.log(sizes), np.log(variances), 1, cov=True)
    return Averaging(sizes, variances, float(fit[0]), float(np.sqrt(cov[0, 0])))


def read_counts(path: str | Path, species: str) -> tuple[np.ndarray, np.ndarray]:
    """``(times, counts)`` of ``species`` from a run's ``agents.h5``: counts
    ``(n_times, n_cells)`` for the cells present at every output, ordered by id."""
    from ..io.hdf5 import h5py_module

    path = Path(path)
    if path.is_dir():
        path = path / "agents.h5"
    if not path.is_file():
        raise InputError(f"{str(path)!r} does not exist: give a run's output directory or its agents.h5")
    h5py = h5py_module()
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{str(path)!r} cannot be read as HDF5: {exc}") from None
    with f:
        steps = [f["steps"][n] for n in sorted(f["steps"])]
        if not steps:
            raise InputError(f"{str(path)!r} holds no output steps")
        names = list(steps[0]["species"])
        if species not in names:
            raise InputError(f"no species {species!r} in {str(path)!r} (species: {', '.join(names)})")
        times = np.array([g.attrs["time"] for g in steps], dtype=float)
        common = None
        for g in steps:
            ids = g["id"][...]
            common = ids if common is None else np.intersect1d(common, ids)
        counts = np.empty((len(steps), len(common)))
        for k, g in enumerate(steps):
            ids = g["id"][...]
            order = np.argsort(ids)
            where = order[np.searchsorted(ids, common, sorter=order)]
            counts[k] = g["species"][species][...][where]
    return times, counts
