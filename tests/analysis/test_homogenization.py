"""Homogenization: layers give the harmonic and arithmetic means, a checkerboard the geometric mean."""

from __future__ import annotations

import numpy as np
import pytest

from hybridsim.errors import InputError


def _checkerboard(n, D1=1.0, D2=9.0):
    i = np.arange(2 * n)
    X, Y = np.meshgrid(i, i, indexing="ij")
    return np.where(((X // n) + (Y // n)) % 2 == 0, D1, D2)


@pytest.mark.parametrize("dim", [2, 3])
def test_layers_give_the_harmonic_mean_across_and_the_arithmetic_mean_along(dim):
    """VALIDATION 4, exactly: layers of D = 1, 4, 10 (thicknesses 3, 1, 4 cells) stacked along x."""
    from hybridsim.analysis.homogenization import effective_diffusion

    column = np.repeat([1.0, 4.0, 10.0], [3, 1, 4])
    D = np.broadcast_to(column.reshape((-1,) + (1,) * (dim - 1)), (8,) + (6,) * (dim - 1)).copy()
    result = effective_diffusion(D, spacing=[0.5] + [2.0] * (dim - 1), rtol=1e-12)
    harmonic, arithmetic = 1.0 / np.mean(1.0 / column), np.mean(column)
    expected = np.diag([harmonic] + [arithmetic] * (dim - 1))
    np.testing.assert_allclose(result.tensor, expected, rtol=1e-9, atol=1e-9 * arithmetic)
    assert result.harmonic == pytest.approx(harmonic) and result.arithmetic == pytest.approx(arithmetic)


def test_checkerboard_approaches_the_geometric_mean():
    """2D checkerboard of D₁, D₂: D_eff = √(D₁D₂) I (Keller–Dykhne). The corner singularities
    make the discrete value converge at order < 1; Richardson extrapolation with the observed
    order from three grids lands on √(D₁D₂)."""
    from hybridsim.analysis.homogenization import effective_diffusion

    values = [effective_diffusion(_checkerboard(n), rtol=1e-12).tensor for n in (32, 64, 128)]
    for t in values:
        assert abs(t[0, 1]) < 1e-9 and t[0, 0] == pytest.approx(t[1, 1], rel=1e-9)
    d = np.array([t[0, 0] for t in values])
    assert np.all(np.diff(np.abs(d - 3.0)) < 0)  # closer on every refinement
    order = np.log2((d[1] - d[0]) / (d[2] - d[1]))
    assert 0.5 < order < 1.5
    extrapolated = d[2] + (d[2] - d[1]) / (2**order - 1)
    assert extrapolated == pytest.approx(3.0, rel=2e-3)


HOMOGENIZED = """
[domain]
size = [1.0, 1.0]
cells = [256, 256]
[time]
dt = 1.0e6
t_end = 3.0e6
[solver]
rtol = 1e-12
[species.c]
D = {D}
decay = 4.0
boundary = {{ x_min = {{ type = "dirichlet", value = 1.0 }}, y_min = {{ type = "dirichlet", value = 1.0 }} }}
"""


def test_resolved_layers_and_the_homogenized_tensor_agree_to_order_epsilon():
    """Steady state with sources on two faces: the layered medium (period ε across x) and the
    homogenized run with D = { tensor = [H, A] } hold the same amount, up to O(ε)."""
    from hybridsim.config import parse_config
    from hybridsim.simulation import Simulation

    def amount(D):
        sim = Simulation(parse_config(HOMOGENIZED.format(D=D)))
        for _ in range(3):
            sim.step()
        total = sim.total("c")
        sim.destroy()
        return total

    H, A = 2 / (1 / 1.0 + 1 / 10.0), 5.5
    homogenized = amount(f"{{ tensor = [{H}, {A}] }}")
    eps = np.array([1 / 8, 1 / 16, 1 / 32])
    errors = [abs(amount(f'{{ layers = {{ axis = "x", thickness = [{e / 2}, {e / 2}], values = [1.0, 10.0] }} }}')
                  - homogenized) / homogenized for e in eps]
    slope = np.polyfit(np.log(eps), np.log(errors), 1)[0]
    assert 0.8 < slope < 1.2 and errors[-1] < 1e-3, errors


@pytest.mark.parametrize("tensor,message", [
    ("[1.0]", "must list 2 diagonal entries"),
    ("[[1.0, 0.2], [0.2, 2.0]]", "has off-diagonal entries"),
    ("[1.0, -2.0]", "must be > 0"),
])
def test_bad_tensor_is_refused(tensor, message):
    from hybridsim.config import parse_config

    with pytest.raises(InputError, match=message):
        parse_config(HOMOGENIZED.format(D=f"{{ tensor = {tensor} }}"))


@pytest.mark.mpi
@pytest.mark.parametrize("n", [1, 2, 4])
def test_homogenize_command_on_n_ranks(tmp_path, n, mpirun):

    path = tmp_path / "board.npy"
    np.save(path, _checkerboard(16))
    result = mpirun.hybridsim(n, "analyze", "homogenize", str(path))
    assert result.returncode == 0, result.stderr
    row = [line for line in result.stdout.splitlines() if line.strip().startswith("[")][0]
    value = float(row.strip(" []").split(",")[0])
    reference = __import__("hybridsim.analysis.homogenization", fromlist=["x"]).effective_diffusion(
        _checkerboard(16), rtol=1e-10).tensor[0, 0]
    assert value == pytest.approx(reference, rel=1e-5)  # 6 digits printed
    assert "for a run config: D = { tensor = [" in result.stdout


def test_structure_files_read_with_x_along_axis_0(tmp_path):
    """A .txt (rows y), a .png (rows y, top first) and a .npy give the same array."""
    import matplotlib.image

    from hybridsim.analysis.homogenization import read_structure

    D = np.ones((6, 4))  # x, y
    D[:2, :] = 9.0  # the low-x stripe
    D[:, 3] = 9.0  # the top row
    np.save(tmp_path / "d.npy", D)
    np.savetxt(tmp_path / "d.txt", D.T)
    matplotlib.image.imsave(tmp_path / "d.png", (D.T[::-1] > 1).astype(float), cmap="gray", vmin=0, vmax=1)
    np.testing.assert_array_equal(read_structure(str(tmp_path / "d.npy")), D)
    np.testing.assert_array_equal(read_structure(str(tmp_path / "d.txt")), D)
    np.testing.assert_array_equal(read_structure(str(tmp_path / "d.png"), phases=(1.0, 9.0)), D)
    with pytest.raises(InputError, match="needs --phases"):
        read_structure(str(tmp_path / "d.png"))
