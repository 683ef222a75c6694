"""Concentration units are real: the same model written in molecules/µm³ and in nM
(every concentration divided by 0.602214076) moves the same molecules between the
field and the cells, and nM is refused where it has no meaning."""

from __future__ import annotations

import csv

import h5py
import numpy as np

NM = 0.602214076  # molecules/µm³ per nM
MODEL = """seed = 4
UNITS
[domain]
size = [40.0, 40.0, 40.0]
cells = [8, 8, 8]
[time]
dt = 0.5
t_end = 5.0
[species.c]
D = 10.0
decay = 0.05
initial = C0
[network]
species = { P = 5 }
reactions = [
  { name = "secrete", reactants = { P = 1 }, rate = 0.3, secretes = { c = 2 } },
  { name = "make", products = { P = 1 }, rate = { k = 4.0, field = "c", hill = { K = KH, n = 2 } } },
]
[agents]
initial = { count = 300 }
uptake = [{ field = "c", rate = 3.0, into = "P" }]
"""


def _run(mpirun, tmp_path, name, units, scale):
    text = MODEL.replace("UNITS", units).replace("C0", repr(2.0 / scale)).replace("KH", repr(1.0 / scale))
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(text)
    out = tmp_path / name
    result = mpirun.hybridsim(1, "run", str(cfg), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    with h5py.File(out / "agents.h5", "r") as f, h5py.File(out / "fields.h5", "r") as g:
        last = f["steps"][sorted(f["steps"])[-1]]
        order = np.argsort(last["id"][...])
        cells = last["species"]["P"][...][order]
        field = g["steps"][sorted(g["steps"])[-1]]["c"][...]
    with open(out / "summary.csv", newline="") as fh:
        integral = [float(r["c_integral"]) for r in csv.DictReader(fh)]
    return cells, field, np.array(integral)


def test_the_same_model_in_nanomolar_moves_the_same_molecules(tmp_path, mpirun):
    cells_a, field_a, total_a = _run(mpirun, tmp_path, "molecules", "", 1.0)
    cells_b, field_b, total_b = _run(mpirun, tmp_path, "nanomolar", '[units]\nconcentration = "nM"', NM)
    assert cells_a.sum() > 300 * 5  # the cells took molecules up and made more
    assert np.array_equal(cells_a, cells_b)
    assert np.allclose(field_b * NM, field_a, rtol=1e-10, atol=0)
    assert np.allclose(total_b, total_a, rtol=1e-10, atol=0)  # the summary counts molecules in both


def test_nanomolar_is_refused_outside_3d(tmp_path, hybridsim_cli, one_error_line):
    text = MODEL.replace("UNITS", '[units]\nconcentration = "nM"').replace("C0", "1.0").replace("KH", "1.0")
    text = text.replace("size = [40.0, 40.0, 40.0]", "size = [40.0, 40.0]").replace("cells = [8, 8, 8]",
                                                                                 "cells = [8, 8]")
    cfg = tmp_path / "flat.toml"
    cfg.write_text(text)
    one_error_line(hybridsim_cli("check", str(cfg)), 2, "units.concentration = 'nM' needs a 3D domain")
