"""Cell sorting by differential adhesion (Steinberg; the benchmark of Osborne et al.
2017): the fraction of touching pairs whose cells differ in type starts at the
random-mixing value, falls (in expectation) as like cells gather and ends more than
halfway to the value of two compact clusters; with equal adhesion the types differ
only in their label, so the fraction stays at the random-mixing value within the
spread of random relabellings of the same contact graph.

Random mixing: with ``n_L`` and ``n_D`` cells and labels exchangeable, each touching
pair is heterotypic with probability ``q = 2 n_L n_D / (N (N − 1))``. Two compact
clusters: in a hexagonal packing split by a straight line through a disc of N cells,
only the pairs across the line are heterotypic — counted here on such a packing.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.spatial import cKDTree

CASE = Path(__file__).parent / "cases" / "sorting.toml"


def _run(mpirun, n, config, out):
    result = mpirun.hybridsim(n, "run", str(config), "-o", str(out), "--quiet", timeout=240)
    assert result.returncode == 0, result.stderr
    return np.genfromtxt(out / "summary.csv", delimiter=",", names=True)


def _random_mixing(n_light: int, n_dark: int) -> float:
    n = n_light + n_dark
    return 2.0 * n_light * n_dark / (n * (n - 1))


def _two_clusters(n: int) -> float:
    """Heterotypic fraction of a hexagonally packed disc of ``n`` cells split in half by a line."""
    k = int(np.ceil(np.sqrt(n))) + 4
    i, j = np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1))
    points = np.column_stack([(i + 0.5 * j).ravel(), (np.sqrt(3) / 2 * j).ravel()])
    points = points[np.argsort(np.hypot(points[:, 0], points[:, 1]), kind="stable")[:n]]
    pairs = cKDTree(points).query_pairs(1.01, output_type="ndarray")
    light = points[:, 0] < np.median(points[:, 0])
    return float((light[pairs[:, 0]] != light[pairs[:, 1]]).mean())


def _relabellings(out: Path, draws: int = 500, seed: int = 0):
    """Per output: the touching pairs' heterotypic fraction under random relabellings
    of the cells (mean, standard deviation) on the output's own contact graph."""
    rng = np.random.default_rng(seed)
    stats = {}
    with h5py.File(out / "agents.h5") as f:
        for step in sorted(f["steps"])[1:]:
            g = f["steps"][step]
            x, r, kinds = g["position"][...], g["radius"][...], g["type"][...]
            pairs = cKDTree(x).query_pairs(2 * r.max(), output_type="ndarray")
            pairs = pairs[np.hypot(*(x[pairs[:, 0]] - x[pairs[:, 1]]).T) < r[pairs[:, 0]] + r[pairs[:, 1]]]
            fractions = []
            for _ in range(draws):
                shuffled = rng.permutation(kinds)
                fractions.append((shuffled[pairs[:, 0]] != shuffled[pairs[:, 1]]).mean())
            stats[round(float(g.attrs["time"]), 6)] = (float(np.mean(fractions)), float(np.std(fractions)))
    return stats


@pytest.mark.mpi
def test_differential_adhesion_sorts_the_types(tmp_path, mpirun):
    rows = _run(mpirun, 2, CASE, tmp_path / "sorting")
    fraction = rows["heterotypic_fraction"][1:]  # from the first mechanics substep on
    q, sorted_value = _random_mixing(100, 100), _two_clusters(200)
    assert q == pytest.approx(0.5025, abs=1e-4) and 0.02 < sorted_value < 0.15
    start = _relabellings(tmp_path / "sorting", draws=400)
    first_mean, first_sd = next(iter(start.values()))
    assert abs(fraction[0] - q) < 0.05  # mixed at first (the aggregate is still settling)
    thirds = [part.mean() for part in np.array_split(fraction, 3)]
    assert thirds[0] > thirds[1] > thirds[2], thirds  # falls, in the mean over each third of the run
    assert fraction[-50:].mean() < 0.5 * (q + sorted_value), (fraction[-50:].mean(), q, sorted_value)
    assert fraction[-50:].mean() < first_mean - 10 * first_sd


@pytest.mark.mpi
def test_with_equal_adhesion_the_types_stay_randomly_mixed(tmp_path, mpirun):
    config = tmp_path / "equal.toml"
    config.write_text(CASE.read_text().replace("dark = 0.1 }", "dark = 1.0 }"))
    rows = _run(mpirun, 1, config, tmp_path / "equal")
    by_time = dict(zip(np.round(rows["time"], 6), rows["heterotypic_fraction"]))
    stats = _relabellings(tmp_path / "equal")
    assert len(stats) >= 10
    for time, (mean, sd) in stats.items():
        assert abs(mean - _random_mixing(100, 100)) < 0.01  # the relabellings' mean is q, on any graph
        assert abs(by_time[time] - mean) < 4 * sd, (time, by_time[time], mean, sd)
