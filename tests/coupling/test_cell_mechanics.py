"""Cells as bodies across ranks, through the command line: a 2D monolayer with growth,
division by volume, death, a wall, an absorbing face and a periodic axis, and a small 3D
cluster, give bitwise the same cells on 1, 2, 3 and 4 ranks; a run restarted on another
rank count continues bitwise; a compressed confluent monolayer relaxes to the packing
density of the equilibrium spacing; an unstable explicit substep stops every rank."""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.optimize import brentq

CASES = Path(__file__).parent / "cases"
MONOLAYER = CASES / "bodies_monolayer.toml"
SPHEROID = CASES / "bodies_spheroid.toml"
RANKS = (1, 2, 3, 4)


def _newest(out: Path) -> Path:
    return sorted((out / "checkpoints").glob("checkpoint-*.h5"))[-1]


def _cells(checkpoint: Path) -> dict[str, np.ndarray]:
    """Every agent column of a checkpoint, in id order."""
    with h5py.File(checkpoint, "r") as f:
        agents = f["agents"]
        order = np.argsort(agents["ids"][...])
        state = {k: agents[k][...][order] for k in agents}
        state["next_id"] = np.array(f.attrs["next_id"])
    return state


def _assert_bitwise(a: dict, b: dict, label) -> None:
    assert a.keys() == b.keys(), label
    for key in a:
        assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), (label, key)


def _run(mpirun, n, config, out, *args):
    result = mpirun.hybridsim(n, "run", str(config), "-o", str(out), "--quiet", *args, timeout=240)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
    return result


@pytest.fixture(scope="module")
def monolayer_runs(tmp_path_factory, mpirun, written_on):
    root = tmp_path_factory.mktemp("monolayer")
    runs = {}
    for n in RANKS:
        _run(mpirun, n, MONOLAYER, root / f"out{n}")
        assert written_on(_newest(root / f"out{n}")) == {n}
        runs[n] = root / f"out{n}"
    return runs


def test_the_monolayer_grows_divides_dies_and_loses_cells_at_a_face(monolayer_runs):
    """The case exercises what it claims to: every kind of change happens."""
    rows = np.genfromtxt(monolayer_runs[1] / "summary.csv", delimiter=",", names=True)
    assert rows["births"].sum() > 5 and rows["deaths"].sum() > 0
    cells = _cells(_newest(monolayer_runs[1]))
    assert {"volume", "radius", "pressure"} <= cells.keys()
    # radius and volume agree, and volumes lie between a new daughter's and the division volume
    assert np.allclose(4 / 3 * math.pi * cells["radius"] ** 3, cells["volume"], rtol=1e-12)
    assert cells["volume"].min() >= 1600.0 - 1e-9 and cells["volume"].max() < 3200.0


@pytest.mark.mpi
@pytest.mark.parametrize("n", RANKS[1:])
def test_the_monolayer_is_bitwise_identical_on_any_rank_count(monolayer_runs, n):
    _assert_bitwise(_cells(_newest(monolayer_runs[1])), _cells(_newest(monolayer_runs[n])), n)
    with h5py.File(monolayer_runs[1] / "agents.h5") as a, h5py.File(monolayer_runs[n] / "agents.h5") as b:
        for step in a["steps"]:
            order_a, order_b = (np.argsort(f["steps"][step]["id"][...]) for f in (a, b))
            for key in ("position", "radius", "volume", "pressure"):
                assert np.array_equal(a["steps"][step][key][...][order_a], b["steps"][step][key][...][order_b])


@pytest.mark.mpi
def test_the_3d_cluster_is_bitwise_identical_on_1_2_3_4_ranks(tmp_path, mpirun, written_on):
    states = {}
    for n in RANKS:
        _run(mpirun, n, SPHEROID, tmp_path / f"out{n}")
        assert written_on(_newest(tmp_path / f"out{n}")) == {n}
        states[n] = _cells(_newest(tmp_path / f"out{n}"))
    assert len(states[1]["ids"]) > 2 * 24  # cells divided
    for n in RANKS[1:]:
        _assert_bitwise(states[1], states[n], n)


@pytest.mark.mpi
@pytest.mark.parametrize("first, second", [(2, 3), (4, 1)])
def test_a_restart_on_another_rank_count_continues_bitwise(tmp_path, monolayer_runs, mpirun, written_on,
                                                           first, second):
    out = tmp_path / "out"
    _run(mpirun, first, MONOLAYER, out, "--t-end", "20")
    assert written_on(_newest(out)) == {first}
    _run(mpirun, second, MONOLAYER, out, "--restart", "latest")
    assert written_on(_newest(out)) == {second}
    _assert_bitwise(_cells(_newest(monolayer_runs[1])), _cells(_newest(out)), (first, second))


def _potential_equilibrium(radius, repulsion=10.0, adhesion=0.4, relative_adhesion=1.25):
    """Centre distance at which PhysiCell's repulsion and adhesion cancel (µm)."""
    R, S = 2 * radius, 2 * radius * relative_adhesion
    return brentq(lambda d: repulsion * (1 - d / R) ** 2 - adhesion * (1 - d / S) ** 2, 0.5 * R, R)


CONFLUENT = """seed = 4
[domain]
size = [{lx}, {ly}]
cells = [{cx}, {cy}]
periodic = ["x", "y"]
[time]
dt = 1.0
t_end = {t_end}
[network]
species = {{ P = 0 }}
reactions = [{{ products = {{ P = 1 }}, rate = 0.0 }}]
[agents]
initial = {{ file = "cells.csv" }}
[agents.body]
radius = {radius}
[agents.contact]
dt = 0.1
"""


@pytest.mark.mpi
@pytest.mark.parametrize("model, n, columns, rows, t_end", [("potential", 1, 12, 8, 600.0),
                                                            ("spring", 3, 24, 14, 100.0)])
def test_a_compressed_confluent_monolayer_relaxes_to_the_equilibrium_packing_density(tmp_path, mpirun, model, n,
                                                                                     columns, rows, t_end):
    """A periodic hexagonal patch of cells, compressed to 90 % of the equilibrium spacing
    d* (the potential's root, the spring's rest length 2r) with ±5 % jitter, in a box
    that holds them at d*, spreads until every cell has six neighbours at d*: the areal
    density 2/(√3 d*²). (The potential's force vanishes quadratically at contact, so it
    relaxes far more slowly than the spring.)"""
    radius = 8.0
    d = _potential_equilibrium(radius) if model == "potential" else 2 * radius
    lx, ly = columns * d, rows * d * math.sqrt(3) / 2
    rng = np.random.default_rng(1)
    i, j = np.meshgrid(np.arange(columns), np.arange(rows), indexing="ij")
    ideal = np.stack([(i + 0.5 * (j % 2) + 0.25) * d, (j + 0.5) * d * math.sqrt(3) / 2], axis=-1).reshape(-1, 2)
    centre = np.array([lx, ly]) / 2
    compressed = centre + 0.9 * (ideal - centre) + rng.uniform(-0.05, 0.05, ideal.shape) * d
    np.savetxt(tmp_path / "cells.csv", compressed, delimiter=",", header="x,y", comments="")
    text = CONFLUENT.format(lx=lx, ly=ly, cx=15, cy=9, t_end=t_end, radius=radius)
    if model == "spring":
        text += "model = 'spring'\nstiffness = 2.0\n"
    (tmp_path / "confluent.toml").write_text(text)
    _run(mpirun, n, tmp_path / "confluent.toml", tmp_path / "out")
    box = np.array([lx, ly])

    def six_nearest(position):
        delta = position[:, None, :] - position[None, :, :]
        delta -= box * np.round(delta / box)  # minimum image
        distance = np.sqrt((delta**2).sum(-1))
        np.fill_diagonal(distance, np.inf)
        return np.sort(distance, axis=1)[:, :7]

    with h5py.File(tmp_path / "out" / "agents.h5") as f:
        position = f["steps"][sorted(f["steps"])[-1]]["position"][...]
    assert len(position) == columns * rows
    nearest = six_nearest(position)
    assert np.abs(nearest[:, :6] / d - 1).max() < 5e-3  # six neighbours at d* …
    assert nearest[:, 6].min() > 1.7 * d  # … and the next shell at √3 d*
    start = six_nearest(compressed)
    assert np.abs(start[:, :6] / d - 1).max() > 0.1  # the relaxation is what made the spacing d*
    # so the density is that of the hexagonal packing at d*: the box holds exactly these cells
    assert len(position) / (lx * ly) == pytest.approx(2 / (math.sqrt(3) * d**2), rel=1e-12)


@pytest.mark.mpi
@pytest.mark.parametrize("n", (1, 2))
def test_a_substep_that_moves_a_cell_too_far_stops_every_rank_with_one_line(tmp_path, mpirun, one_error_line, n):
    """Validation passes (one pair of cells of the configured radius relaxes stably), but
    four cells placed almost on top of each other push the outer ones by more than half a
    radius per substep: the run stops in the first step, on every rank, with exit 3 (a
    run error) and one line."""
    np.savetxt(tmp_path / "cells.csv", np.array([[40.0, 40.0], [40.1, 40.0], [40.2, 40.0], [40.3, 40.0]]),
               delimiter=",", header="x,y", comments="")
    cfg = tmp_path / "unstable.toml"
    text = CONFLUENT.format(lx=120.0, ly=80.0, cx=12, cy=8, t_end=5.0, radius=1.0)
    text = text.replace("[agents.contact]\n", "[agents.contact]\nrepulsion = 4.0\n")
    cfg.write_text(text)
    result = mpirun.hybridsim(n, "run", str(cfg), "-o", str(tmp_path / "out"), "--quiet", timeout=120)
    one_error_line(result, 3, "contact forces moved a cell by")
    assert "reduce agents.contact.dt" in result.stderr


@pytest.mark.mpi
def test_a_checkpoint_of_bodies_is_refused_by_a_config_of_points_and_back(tmp_path, monolayer_runs, mpirun,
                                                                          one_error_line):
    points = tmp_path / "points.toml"
    points.write_text(MONOLAYER.read_text().split("[agents.body]")[0])
    result = mpirun.hybridsim(2, "run", str(points), "-o", str(tmp_path / "a"), "--restart",
                              str(_newest(monolayer_runs[1])))
    one_error_line(result, 2, "does not match this config: body is True there and False here")
    _run(mpirun, 2, points, tmp_path / "b", "--t-end", "2")
    result = mpirun.hybridsim(2, "run", str(MONOLAYER), "-o", str(tmp_path / "c"), "--restart",
                              str(_newest(tmp_path / "b")))
    one_error_line(result, 2, "does not match this config: body is False there and True here")
