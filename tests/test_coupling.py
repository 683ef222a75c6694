"""Field ↔ agent transfer: multilinear sampling is exact for linear fields, deposition
is its transpose and conserves amounts, and both give the same field on 1, 2, 4 ranks."""

import json
from pathlib import Path

import numpy as np
import pytest
from mpi import mpirun

CASES = Path(__file__).parent / "mpi_cases"


def _run(n, dim):
    result = mpirun(n, [str(CASES / "coupling.py"), str(dim)])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.mpi
@pytest.mark.parametrize("dim", (2, 3))
def test_sampling_and_deposition_are_exact_and_rank_independent(dim):
    reports = {n: _run(n, dim) for n in (1, 2, 4)}
    for n, r in reports.items():
        assert r["constant_error"] < 1e-14, n
        assert r["value_error"] < 1e-12, n
        assert r["gradient_error"] < 1e-12, n
        assert abs(r["deposited"] - r["given"]) <= 1e-11 * r["given"], n
        assert r["min"] >= 0.5  # deposition only adds
    reference = np.array(reports[1]["field"])
    for n in (2, 4):
        assert np.allclose(np.array(reports[n]["field"]), reference, rtol=1e-13, atol=1e-13), n


def _totals(out, cell_volume):
    import h5py

    with h5py.File(out / "fields.h5", "r") as f, h5py.File(out / "agents.h5", "r") as a:
        steps = sorted(f["steps"])
        field = np.array([f["steps"][s]["ligand"][...].sum() * cell_volume for s in steps])
        held = np.array([sum(a["steps"][s]["species"][k][...].sum() for k in a["steps"][s]["species"])
                         + a["steps"][s]["reservoir"][...].sum() for s in steps])
        minimum = min(f["steps"][s]["ligand"][...].min() for s in steps)
    return field, held, minimum


@pytest.mark.mpi
@pytest.mark.parametrize("n", (1, 2, 4))
def test_field_plus_cell_molecules_are_conserved_over_100_coupling_steps(tmp_path, n):
    """VALIDATION case 10: cells take ligand up into L, convert it to S and secrete S back,
    while moving and chemotaxing; zero-flux walls, no decay."""
    from mpi import hybridsim

    result = hybridsim(n, "run", str(CASES / "closed_exchange.toml"), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    field, held, minimum = _totals(tmp_path / "out", 10.0 * 10.0)
    total = field + held
    assert len(total) == 101
    assert np.abs(total - total[0]).max() <= 1e-10 * total[0]
    assert held[-1] - held[0] > 0.05 * total[0]  # molecules really moved into the cells
    assert minimum >= 0.0
    # the per-step summary agrees with the output files
    rows = np.genfromtxt(tmp_path / "out" / "summary.csv", delimiter=",", names=True)
    assert len(rows) == 101 and np.all(rows["agents"] == 400)
    assert np.allclose(rows["ligand_integral"], field, rtol=1e-9)  # written with 10 digits


@pytest.mark.mpi
def test_strong_uptake_never_drives_the_field_negative(tmp_path):
    from mpi import hybridsim

    text = (CASES / "closed_exchange.toml").read_text().replace("rate = 5.0, into", "rate = 1e5, into")
    cfg = tmp_path / "strong.toml"
    cfg.write_text(text)
    result = hybridsim(2, "run", str(cfg), "-o", str(tmp_path / "out"), "--quiet", "--steps", "10")
    assert result.returncode == 0, result.stderr
    field, held, minimum = _totals(tmp_path / "out", 100.0)
    assert minimum >= 0.0
    total = field + held
    assert np.abs(total - total[0]).max() <= 1e-10 * total[0]
    assert field[-1] < 0.5 * field[0]


def _morphogen_profile(tmp_path, n_cells, rate, ranks=2):
    import h5py
    from mpi import hybridsim

    text = (CASES.parent.parent / "examples" / "morphogen.toml").read_text()
    text = text.replace("count = 8000", f"count = {n_cells}").replace("rate = 0.05", f"rate = {rate}")
    cfg = tmp_path / f"morphogen{n_cells}.toml"
    cfg.write_text(text)
    out = tmp_path / f"out{n_cells}"
    result = hybridsim(ranks, "run", str(cfg), "-o", str(out), "--quiet", "--t-end", "800")
    assert result.returncode == 0, result.stderr
    with h5py.File(out / "fields.h5", "r") as f:
        return f["steps"][sorted(f["steps"])[-1]]["morphogen"][...].mean(axis=0)  # average over y


@pytest.mark.mpi
def test_cells_with_uptake_give_the_continuum_decay_length_profile(tmp_path):
    """VALIDATION case 11: N cells clearing u each act as k_eff = ρu; the steady profile
    approaches c0·cosh((L−x)/ℓ)/cosh(L/ℓ), ℓ = √(D/k_eff) = 100 µm, as cells per voxel grow.

    The cells' random positions make the local k fluctuate: averaged over the
    ℓ × W area a profile point feels, relatively by 1/√(ρℓW); the log of the
    profile responds by x/(2ℓ) times that, which bounds the error for x ≤ 2ℓ."""
    L, W, D, ell, h = 400.0, 100.0, 100.0, 100.0, 5.0
    x = (np.arange(80) + 0.5) * h
    exact = np.cosh((L - x) / ell) / np.cosh(L / ell)
    near = x <= 2 * ell
    errors = {}
    for n in (2000, 32000):
        k_eff = D / ell**2
        rho = n / (L * W)
        profile = _morphogen_profile(tmp_path, n, k_eff / rho)
        relative = np.abs(profile - exact) / exact
        expected = (x / (2 * ell)) / np.sqrt(rho * ell * W)
        # 4 standard deviations of the fluctuation, plus the grid's O(h²/ℓ²) error
        assert np.all(relative[near] <= 4 * expected[near] + 2 * (h / ell) ** 2), n
        errors[n] = np.sqrt(np.mean(relative[near] ** 2))
    # 16 times the cells per voxel: the deviation shrinks (ideally 4×)
    assert errors[32000] < 0.6 * errors[2000], errors
