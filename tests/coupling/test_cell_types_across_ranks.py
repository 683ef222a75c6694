"""Several cell types through the command line: a 2D tissue of two types with their own
networks and bodies, division, death, killing on contact, chemotaxis, type changes,
differential adhesion, a wall, an absorbing face and a periodic axis gives the same
cells on 1, 2, 3 and 4 ranks (integers bitwise, reals to the field solve's round-off)
and continues so after a restart on another rank count; a checkpoint of another table
of types is refused in one line; bad type tables are refused in one line naming the key."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from test_cell_mechanics import _cells, _newest, _run  # the checkpoint and run helpers of the body tests

CASES = Path(__file__).parent / "cases"
MIXED = CASES / "types_mixed.toml"
RANKS = (1, 2, 3, 4)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Integers (ids, counts, types, events) bitwise; real numbers to 1e-12 relative.

    The stem cells chemotax up the signal they secrete, and the signal comes from a
    Krylov solve whose round-off depends on the rank count (~1e-17 here), so now and
    then a position's last bit differs. Without a field the cells are bitwise the
    same on any rank count (tests/coupling/test_cell_mechanics.py)."""
    if a.shape != b.shape:
        return False
    if np.issubdtype(a.dtype, np.integer):
        return np.array_equal(a, b)
    return np.allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def mixed_runs(tmp_path_factory, mpirun, written_on):
    root = tmp_path_factory.mktemp("types")
    runs = {}
    for n in RANKS:
        _run(mpirun, n, MIXED, root / f"out{n}")
        assert written_on(_newest(root / f"out{n}")) == {n}
        runs[n] = root / f"out{n}"
    return runs


def test_the_case_exercises_every_kind_of_change(mixed_runs):
    rows = np.genfromtxt(mixed_runs[1] / "summary.csv", delimiter=",", names=True)
    assert rows["births"].sum() > 0 and rows["deaths"].sum() > 0 and rows["type_changes"].sum() > 0
    assert rows["stem_agents"][-1] > 0 and rows["diff_agents"][-1] > rows["diff_agents"][0]
    np.testing.assert_array_equal(rows["agents"], rows["stem_agents"] + rows["diff_agents"])
    cells = _cells(_newest(mixed_runs[1]))
    with h5py.File(mixed_runs[1] / "agents.h5") as f:
        species = [s.decode() for s in f.attrs["species"]]
        assert [t.decode() for t in f.attrs["types"]] == ["stem", "diff"]
        last = f["steps"][sorted(f["steps"])[-1]]
        assert set(np.unique(last["type"][...])) == {0, 1}
    assert species == ["M", "P", "D"]
    assert 'Name="type"' in (mixed_runs[1] / "agents.xdmf").read_text()  # ParaView colours by type
    stem, diff = cells["type"] == 0, cells["type"] == 1
    # a stem cell never had D; a cell that became differentiated dropped its M (unshared = "drop")
    assert np.all(cells["counts"][stem, species.index("D")] == 0)
    assert np.all(cells["counts"][diff, species.index("M")] == 0)
    # the per-type summary columns are the cells' own statistics
    np.testing.assert_allclose(rows["diff_D_mean"][-1], cells["counts"][diff, 2].mean(), rtol=1e-9)
    # radii are the types' own (stem cells grow from 8 µm; differentiated cells keep what they had)
    assert cells["radius"][stem].min() >= 8.0 * 0.5 ** (1 / 3) - 1e-9


@pytest.mark.mpi
@pytest.mark.parametrize("n", RANKS[1:])
def test_two_types_are_the_same_on_any_rank_count(mixed_runs, n):
    a, b = _cells(_newest(mixed_runs[1])), _cells(_newest(mixed_runs[n]))
    assert a.keys() == b.keys() and {"type", "contacts"} <= a.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and _same(a[key], b[key]), (n, key)
    with h5py.File(mixed_runs[1] / "agents.h5") as fa, h5py.File(mixed_runs[n] / "agents.h5") as fb:
        for step in fa["steps"]:
            ga, gb = fa["steps"][step], fb["steps"][step]
            order_a, order_b = np.argsort(ga["id"][...]), np.argsort(gb["id"][...])
            for key in ("position", "radius", "type", "species/P"):
                assert _same(ga[key][...][order_a], gb[key][...][order_b]), (n, step, key)
    summary = [np.genfromtxt(runs / "summary.csv", delimiter=",", names=True) for runs in (mixed_runs[1],
                                                                                          mixed_runs[n])]
    for column in ("heterotypic_fraction", "stem_P_mean", "diff_D_fano", "type_changes"):
        np.testing.assert_array_equal(summary[0][column], summary[1][column])


@pytest.mark.mpi
@pytest.mark.parametrize("first, second", ((2, 3), (4, 1)))
def test_a_restart_of_two_types_on_another_rank_count_continues_the_run(tmp_path, mixed_runs, mpirun, written_on,
                                                                       first, second):
    out = tmp_path / "out"
    _run(mpirun, first, MIXED, out, "--t-end", "20")
    _run(mpirun, second, MIXED, out, "--restart", "latest")
    assert written_on(_newest(out)) == {second}
    a, b = _cells(_newest(mixed_runs[1])), _cells(_newest(out))
    for key in a:
        assert _same(a[key], b[key]), (first, second, key)


@pytest.mark.mpi
def test_a_checkpoint_of_another_type_table_is_refused_in_one_line(tmp_path, mixed_runs, mpirun, one_error_line):
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(re.sub(r"\bdiff\b", "differentiated", MIXED.read_text()))
    result = mpirun.hybridsim(2, "run", str(renamed), "-o", str(tmp_path / "a"), "--restart",
                              str(_newest(mixed_runs[1])))
    one_error_line(result, 2, "was written for another table of cell types: stem, diff (hash")
    assert "stem, differentiated" in result.stderr
    # the same names with another network in one type are another table too
    changed = tmp_path / "changed.toml"
    changed.write_text(MIXED.read_text().replace("{ reactants = { D = 1 }, rate = 0.1 },",
                                                 "{ reactants = { D = 1 }, rate = 0.1, name = \"loss\" },"))
    result = mpirun.hybridsim(2, "run", str(changed), "-o", str(tmp_path / "b"), "--restart",
                              str(_newest(mixed_runs[1])))
    one_error_line(result, 2, "was written for another table of cell types")


BAD_TYPES = [
    ("[agents.adhesion]\nstem = { stem = 1.0, dif = 0.1 }", "agents.adhesion.stem.dif is not a cell type"),
    ("[agents.adhesion]\ngut = { stem = 1.0 }", "agents.adhesion.gut is not a cell type"),
    ("[agents.adhesion]\nstem = { diff = 0.1 }\ndiff = { stem = 0.2 }",
     "agents.adhesion.stem.diff = 0.1 but agents.adhesion.diff.stem = 0.2: the adhesion between two types must be "
     "symmetric"),
    ("[agents.adhesion]\nstem = { diff = -1.0 }", "agents.adhesion.stem.diff must be ≥ 0"),
    ("[[cell_types.stem.change]]\nto = \"neuron\"\nrate = 0.1", "cell_types.stem.change[0].to names 'neuron'"),
    ("[[cell_types.stem.change]]\nto = \"diff\"\nthreshold = { species = \"D\", above = 5 }",
     "cell_types.stem.change[0].threshold.species names 'D'"),
    ("[[cell_types.stem.change]]\nto = \"stem\"\nrate = 0.1", "names the cell's own type 'stem'"),
    ("[cell_types.stem.death]\ncontact = { macrophage = 0.1 }", "cell_types.stem.death.contact.macrophage is not"),
    ("[cell_types.stem.division]\nthreshold = { field = \"oxygen\", above = 1.0 }",
     "cell_types.stem.division.threshold.field names 'oxygen'"),
    ("[cell_types.stem.contact]\ndt = 0.05", "cell_types.stem.contact.dt is shared by every cell type"),
    ("[cell_types.stem.contact]\nrepulsion = 400.0", "is too long for the contact forces"),
    ("[agents.motility]\ntype = \"none\"", "agents.motility belongs to a cell type when [cell_types] are declared"),
    ("[cell_types.blob]\ninitial = { count = 3 }\nbody = { radius = 5.0 }", "cell_types.blob needs a network"),
]


@pytest.mark.parametrize("extra, message", BAD_TYPES, ids=[m for _, m in BAD_TYPES])
def test_bad_type_tables_are_refused_in_one_line(tmp_path, hybridsim_cli, one_error_line, extra, message):
    text = MIXED.read_text()
    if extra.startswith("[cell_types.stem."):
        # a subtable of stem that the case writes inline: drop the inline key first
        key = extra.split("]")[0].split(".")[-1]
        text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{key} = "))
    if extra.startswith("[[cell_types.stem.change]]"):
        text = "\n".join(line for line in text.splitlines() if not line.startswith("change = "))
    if extra.startswith("[agents.adhesion]"):
        text = text.replace("[agents.adhesion]\nstem = { stem = 1.0, diff = 0.1 }\ndiff = { diff = 0.4 }\n", "")
    config = tmp_path / "bad.toml"
    config.write_text(text + "\n" + extra + "\n")
    one_error_line(hybridsim_cli("check", str(config)), 2, message)


def test_types_with_and_without_bodies_are_refused(tmp_path, hybridsim_cli, one_error_line):
    text = MIXED.read_text().replace("body = { radius = 7.0 }\n", "")
    config = tmp_path / "bad.toml"
    config.write_text(text)
    one_error_line(hybridsim_cli("check", str(config)), 2,
                   "cell_types.diff has no body but cell_types.stem has one")


@pytest.mark.mpi
def test_a_bad_type_table_stops_every_rank_with_one_line(tmp_path, mpirun, one_error_line):
    config = tmp_path / "bad.toml"
    config.write_text(MIXED.read_text().replace("diff = { diff = 0.4 }", "diff = { diff = 0.4, stem = 0.3 }"))
    result = mpirun.hybridsim(3, "run", str(config), "-o", str(tmp_path / "out"), "--quiet", timeout=120)
    one_error_line(result, 2, "agents.adhesion.stem.diff = 0.1 but agents.adhesion.diff.stem = 0.3")
    assert not (tmp_path / "out").exists()  # nothing written
