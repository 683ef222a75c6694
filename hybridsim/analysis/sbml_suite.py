"""The SBML Test Suite's stochastic time-course cases (DSMTS; Evans, Gillespie and
Wilkinson, Bioinformatics 24:285, 2008) run through
:func:`hybridsim.agents.simulate_well_mixed`, judged by the suite's own criterion.

For ``n`` runs and the exact mean μ_t and standard deviation σ_t of a variable at each
output time, ``Z_t = √n (X̄_t − μ_t)/σ_t`` must lie in (−3, 3) and
``Y_t = √(n/2) (S_t²/σ_t² − 1)`` in (−5, 5); the suite expects 0–1 excursions of each
by chance in a test and calls 2–3 worth a look. Where σ_t = 0 (the start, a constant
species) every run must equal μ_t exactly. A case hybridsim refuses (a construct outside what it simulates) is reported
with the one-line reason; it is never simulated approximately.

The Y criterion takes the sample variance's standard error for a normal distribution,
``σ²√(2/n)``; its true value is ``σ²√((κ − 1)/n)`` with the kurtosis κ. For a
birth–death process near extinction (case 00003 late in its run: κ up to 85) Y then
strays beyond ±5 for an exact simulator. ``corrected=True`` divides Y by
``√((κ̂ − 1)/2)`` (κ̂ from the runs themselves), which is what the tests use; the suite's
own count is the uncorrected one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError

Z_BOUND, Y_BOUND = 3.0, 5.0


@dataclass
class CaseResult:
    """The outcome of one case: ``passed``; ``refused`` with the reason, or the largest
    |Z| and |Y| and the number of excursions per variable."""

    case: str
    passed: bool
    refused: str = ""
    excursions: dict = field(default_factory=dict)  # variable → (Z excursions, Y excursions)
    worst: dict = field(default_factory=dict)  # variable → (max |Z|, max |Y|)


def _settings(path: Path) -> dict:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            out[key.strip()] = value.strip()
    return out


def _table(path: Path) -> tuple[list[str], np.ndarray]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], np.array([[float(x) for x in row] for row in rows[1:] if row], dtype=float)


def case_files(directory: Path) -> dict:
    """The model, settings and exact tables of the case in ``directory``."""
    directory = Path(directory)
    name = directory.name
    mean = sorted(directory.glob("dsmts-*-mean.csv"))[0]
    return {"model": directory / f"{name}-sbml-l3v2.xml", "settings": directory / f"{name}-settings.txt",
            "mean": mean, "sd": mean.with_name(mean.name.replace("-mean", "-sd"))}


def run_case(directory: Path, runs: int, seed: int = 1, allowed: int = 1, corrected: bool = False) -> CaseResult:
    """Run one case ``runs`` times; it passes when no variable has more than
    ``allowed`` excursions of Z or of Y (with ``corrected``, Y over the standard error
    that the runs' own kurtosis gives)."""
    from ..agents.well_mixed import simulate_well_mixed
    from ..config.network_file import load_network

    files = case_files(directory)
    settings = _settings(files["settings"])
    variables = [v.strip() for v in settings["variables"].split(",") if v.strip()]
    header, mean = _table(files["mean"])
    _, sd = _table(files["sd"])
    times = mean[:, 0]
    name = Path(directory).name
    try:
        network = load_network(str(files["model"]))
        counts = simulate_well_mixed(network, runs, times, seed=seed).astype(float)
    except InputError as exc:
        return CaseResult(name, False, refused=str(exc))
    result = CaseResult(name, True)
    for v in variables:
        x = counts[:, :, network.species.index(v)]
        mu, sigma = mean[:, header.index(v)], sd[:, header.index(v)]
        live = sigma > 0
        z = np.sqrt(runs) * (x.mean(axis=1)[live] - mu[live]) / sigma[live]
        y = np.sqrt(runs / 2.0) * (x.var(axis=1, ddof=1)[live] / sigma[live] ** 2 - 1.0)
        if corrected:
            centred = x[live] - x[live].mean(axis=1, keepdims=True)
            kurtosis = (centred**4).mean(axis=1) / np.maximum((centred**2).mean(axis=1) ** 2, 1e-300)
            y = y / np.sqrt(np.maximum(kurtosis - 1.0, 2.0) / 2.0)
        # where the exact σ is 0 (the start, a constant species) every run must hit μ exactly
        exact = int(np.sum(np.any(x[~live] != mu[~live, None], axis=1)))
        bad = (int(np.sum(np.abs(z) >= Z_BOUND)) + exact, int(np.sum(np.abs(y) >= Y_BOUND)) + exact)
        result.excursions[v] = bad
        result.worst[v] = (float(np.abs(z).max(initial=0.0)), float(np.abs(y).max(initial=0.0)))
        if max(bad) > allowed:
            result.passed = False
    return result


def run_suite(root: Path, runs: int, seed: int = 1, allowed: int = 1, corrected: bool = False) -> list[CaseResult]:
    """Every case directory ``NNNNN`` under ``root``, in order."""
    return [run_case(d, runs, seed, allowed, corrected) for d in sorted(Path(root).iterdir()) if d.is_dir()
            and d.name.isdigit()]


TISSUE = """seed = {seed}
network = "{model}"
[domain]
size = [300.0, 300.0]
cells = [6, 6]
[time]
dt = 1.0
t_end = {duration}
[output]
interval = 1.0
[agents]
initial = {{ count = {cells} }}
"""
"""A run config whose ``cells`` cells (which do not move; no fields) carry a case's
network; the summary's rows are the case's output times (every minute)."""


def tissue_config(directory: Path, cells: int, seed: int = 2) -> str:
    """:data:`TISSUE` for the case in ``directory``."""
    files = case_files(directory)
    duration = float(_settings(files["settings"])["duration"])
    return TISSUE.format(seed=seed, model=files["model"], duration=duration, cells=cells)


def judge_summary(directory: Path, rows, cells: int, allowed: int = 3) -> CaseResult:
    """The suite's criterion on a tissue run's ``summary.csv`` rows (a numpy record
    array): Z from each variable's mean, Y from its variance (the summary's Fano factor
    times its mean, over n, made unbiased), the uncorrected Y (the summary holds no fourth
    moments). ``allowed`` excursions per variable: the outputs are the same cells at
    successive times, so a chance excursion tends to bring its neighbours along (the suite
    calls 2–3 worth a look)."""
    files = case_files(directory)
    settings = _settings(files["settings"])
    header, mean = _table(files["mean"])
    _, sd = _table(files["sd"])
    result = CaseResult(Path(directory).name, True)
    if len(rows["time"]) != len(mean) or not np.allclose(rows["time"], mean[:, 0]):
        return CaseResult(result.case, False, refused="the run's output times are not the case's")
    for v in (x.strip() for x in settings["variables"].split(",") if x.strip()):
        mu, sigma = mean[:, header.index(v)], sd[:, header.index(v)]
        live = sigma > 0
        m = rows[f"{v}_mean"][live]
        variance = rows[f"{v}_fano"][live] * m * cells / (cells - 1)
        z = np.sqrt(cells) * (m - mu[live]) / sigma[live]
        y = np.sqrt(cells / 2) * (variance / sigma[live] ** 2 - 1)
        exact = int(np.sum(np.abs(rows[f"{v}_mean"][~live] - mu[~live]) > 1e-9))
        bad = (int(np.sum(np.abs(z) >= Z_BOUND)) + exact, int(np.sum(np.abs(y) >= Y_BOUND)) + exact)
        result.excursions[v] = bad
        result.worst[v] = (float(np.abs(z).max(initial=0.0)), float(np.abs(y).max(initial=0.0)))
        if max(bad) > allowed:
            result.passed = False
    return result
