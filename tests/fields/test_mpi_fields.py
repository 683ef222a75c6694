"""The fields on 1, 2 and 4 ranks: conservation, rank independence, natural order on disk."""

import h5py
import numpy as np
import pytest

RANKS = (1, 2, 4)


CLOSED_BOX = """
[domain]
size = [64.0, 48.0]
cells = [32, 24]
[time]
dt = 0.2
t_end = 20.0
[output]
interval = 0.2
[species.c]
D = { value = 40.0, regions = [{ center = [20.0, 20.0], radius = 10.0, value = 4.0 }] }
initial = { value = 0.5, regions = [{ lower = [0.0, 0.0], upper = [16.0, 48.0], value = 6.0 }] }
"""


def _run(mpirun, tmp_path, n, text, *extra):
    cfg = tmp_path / "case.toml"
    cfg.write_text(text)
    out = tmp_path / f"out{n}"
    result = mpirun.hybridsim(n, "run", str(cfg), "-o", str(out), "--quiet", *extra)
    assert result.returncode == 0, result.stderr
    return out / "fields.h5"


@pytest.mark.mpi
@pytest.mark.parametrize("n", RANKS)
def test_closed_walls_without_decay_conserve_mass_for_100_steps(tmp_path, n, mpirun):
    path = _run(mpirun, tmp_path, n, CLOSED_BOX)
    with h5py.File(path, "r") as f:
        steps = sorted(f["steps"])
        totals = np.array([f["steps"][s]["c"][...].sum() for s in steps]) * 2.0 * 2.0
        first, last = f["steps"][steps[0]]["c"][...], f["steps"][steps[-1]]["c"][...]
    assert len(steps) == 101
    assert np.abs(totals - totals[0]).max() <= 1e-12 * totals[0]
    # mass really moved: the step in the initial condition has spread
    assert np.abs(last - first).max() > 1.0


def _final(path, name="c"):
    with h5py.File(path, "r") as f:
        return f["steps"][sorted(f["steps"])[-1]][name][...]


GRID_2D = """
[domain]
size = [200.0, 160.0]
cells = [64, 48]
periodic = ["y"]
[time]
dt = 0.5
t_end = 5.0
scheme = "crank_nicolson"
[solver]
rtol = 1e-12
[species.c]
D = { value = 100.0, layers = { axis = "x", thickness = [10.0, 15.0], values = [50.0, 200.0] } }
decay = 0.05
uptake = { vmax = 0.2, km = 1.0 }
boundary.x_min = { type = "dirichlet", value = 2.0 }
boundary.x_max = { type = "neumann", value = 0.1 }
[[species.c.sources]]
rate = { t = [0.0, 5.0], value = [1.0, 0.0] }
region = { center = [120.0, 80.0], radius = 30.0 }
[species.slow]
D = 1.0
decay = 0.5
initial = { value = 0.0, regions = [{ lower = [50.0, 50.0], upper = [150.0, 110.0], value = 3.0 }] }
"""


GRID_3D = """
[domain]
size = [40.0, 40.0, 32.0]
cells = [32, 32, 16]
[time]
dt = 1.0
t_end = 4.0
[solver]
rtol = 1e-12
[species.c]
D = 20.0
decay = 0.1
boundary.z_min = { type = "dirichlet", value = 1.0 }
[[species.c.sources]]
rate = 0.5
region = { center = [30.0, 10.0, 20.0], radius = 8.0 }
"""


@pytest.mark.mpi
@pytest.mark.parametrize("text", [GRID_2D, GRID_3D], ids=["2d", "3d"])
def test_same_field_on_1_2_and_4_ranks(tmp_path, text, mpirun, written_on):
    paths = {n: _run(mpirun, tmp_path, n, text) for n in RANKS}
    assert all(written_on(path) == {n} for n, path in paths.items())
    finals = {n: _final(path) for n, path in paths.items()}
    reference = finals[1]
    assert np.abs(reference).max() > 0.1
    for n in RANKS[1:]:
        assert np.abs(finals[n] - reference).max() <= 1e-8 * np.abs(reference).max(), n
