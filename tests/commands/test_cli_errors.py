"""Bad input ends with one clear line from rank 0, exit code 2, on 2 ranks, no hang."""

import pytest

GOOD = """
[domain]
size = [100.0, 100.0]
cells = [16, 16]
[time]
dt = 0.1
t_end = 0.2
[species.cytokine]
D = 10.0
decay = 0.1
"""


def _config(tmp_path, text):
    path = tmp_path / "case.toml"
    path.write_text(text)
    return str(path)


CASES = {
    "unknown key suggests the closest": (
        GOOD.replace("decay = 0.1", "decya = 0.1"), [],
        "species.cytokine.decya is not a known key in [species.cytokine] (did you mean 'decay'?)"),
    "negative diffusion coefficient": (
        GOOD.replace("D = 10.0", "D = -1"), [], "species.cytokine.D must be > 0 µm²/min (got -1)"),
    "wrong type": (
        GOOD.replace("cells = [16, 16]", 'cells = [16, "many"]'), [],
        "domain.cells must be a list of integers (got 'many' in it)"),
    "grid not divisible for multigrid": (
        GOOD.replace("cells = [16, 16]", "cells = [17, 17]") + '[solver]\nmethod = "multigrid"\n', [],
        "solver.method = 'multigrid' needs domain.cells divisible by 2"),
    "unknown PETSc solver name": (
        GOOD, ["-rd_pc_type", "hypree"], "PETSc option -rd_pc_type: unknown PC type 'hypree' (did you mean 'hypre'?)"),
    "invalid TOML": (GOOD.replace("[time]", "[time"), [], "is not valid TOML"),
    "grid too small for the ranks": (
        GOOD.replace("size = [100.0, 100.0]", "size = [100.0]").replace("cells = [16, 16]", "cells = [1]"), [],
        "domain.cells = [1] has 1 cells, fewer than the 2 MPI ranks"),
    "boundary on a periodic axis": (
        GOOD.replace("cells = [16, 16]", 'cells = [16, 16]\nperiodic = ["x"]')
        + '[species.cytokine.boundary]\nx_min = { type = "dirichlet", value = 1.0 }\n', [],
        "species.cytokine.boundary.x_min cannot be set: axis x is periodic"),
    "unknown boundary kind": (
        GOOD + '[species.cytokine.boundary]\ny_max = { type = "robin", value = 1.0 }\n', [],
        "species.cytokine.boundary.y_max.type must be one of 'neumann', 'dirichlet'"),
    "output names a missing species": (
        GOOD + '[output]\nfields = ["cytokin"]\n', [],
        "output.fields names 'cytokin', which is not a species (did you mean 'cytokine'?)"),
    "bad command-line flag": (GOOD, ["--tend", "3"], "unrecognized arguments: --tend 3 (did you mean --t-end?)"),
    "non-positive step count": (GOOD, ["--steps", "0"], "argument --steps: must be ≥ 1, got 0"),
}


@pytest.mark.mpi
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_line_and_exit_code_2_on_two_ranks(tmp_path, case, mpirun, one_error_line):
    text, extra, expected = CASES[case]
    result = mpirun.hybridsim(2, "run", _config(tmp_path, text), "-o", str(tmp_path / "out"), *extra)
    one_error_line(result, 2, expected)


@pytest.mark.mpi
def test_missing_config_file_is_reported_once(tmp_path, mpirun):
    result = mpirun.hybridsim(2, "run", str(tmp_path / "absent.toml"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: config file '{tmp_path / 'absent.toml'}' does not exist"


@pytest.mark.mpi
def test_unwritable_output_directory_is_a_run_error(tmp_path, mpirun):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = mpirun.hybridsim(2, "run", _config(tmp_path, GOOD), "-o", str(blocker / "out"))
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().startswith("error: cannot create output directory")


@pytest.mark.mpi
def test_diverged_solve_stops_every_rank_with_exit_code_3(tmp_path, mpirun):
    text = GOOD.replace("dt = 0.1", "dt = 10.0").replace("t_end = 0.2", "t_end = 20.0")
    text += 'boundary.x_min = { type = "dirichlet", value = 1.0 }\n'  # in [species.cytokine]
    text += '[solver]\nmethod = "jacobi"\nrtol = 1e-14\nmax_iterations = 2\n'
    result = mpirun.hybridsim(2, "run", _config(tmp_path, text), "-o", str(tmp_path / "out"))
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().startswith("error: the reaction–diffusion solve of species 'cytokine' failed")
    assert "DIVERGED_MAX_IT after 2 iterations" in result.stderr


AGENTS = GOOD + """
[network]
species = { M = 0 }
reactions = [{ products = { M = 1 }, rate = RATE }]
[agents]
initial = INITIAL
"""
RATE_RULE_SBML = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2"><model id="m">
<listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>
<listOfSpecies><species id="A" compartment="c" initialAmount="5" hasOnlySubstanceUnits="true"
 boundaryCondition="false" constant="false"/></listOfSpecies>
<listOfParameters><parameter id="k" value="1" constant="true"/><parameter id="K" value="2" constant="true"/>
<parameter id="q" value="0" constant="false"/></listOfParameters><listOfRules><rateRule variable="q"><math
 xmlns="http://www.w3.org/1998/Math/MathML"><cn>1</cn></math></rateRule></listOfRules>
<listOfReactions><reaction id="deg" reversible="false"><listOfReactants>
<speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants><kineticLaw>
<math xmlns="http://www.w3.org/1998/Math/MathML"><apply><divide/><apply><times/><ci>k</ci><ci>A</ci></apply>
<apply><plus/><ci>K</ci><ci>A</ci></apply></apply></math></kineticLaw></reaction></listOfReactions>
</model></sbml>"""


INLINE_NETWORK = "[network]\nspecies = { M = 0 }\nreactions = [{ products = { M = 1 }, rate = 1.0 }]\n"


def _agents(rate="1.0", initial="{ count = 10 }"):
    return AGENTS.replace("RATE", rate).replace("INITIAL", initial)


AGENT_CASES = {
    "rate modulated by a field that does not exist": (
        _agents(rate='{ k = 1.0, field = "ligand" }'),
        "network.reactions[0].rate.field names 'ligand', which is not a field species ('cytokine')"),
    "missing network file": (
        'network = "absent.toml"\n' + _agents().replace(INLINE_NETWORK, ""), "absent.toml' does not exist"),
    "SBML outside what is simulated": (
        'network = "rule.xml"\n' + _agents().replace(INLINE_NETWORK, ""),
        "rate rule on 'q' (a continuous change between reaction events) is not supported"),
    # only the rank that reads the last rows of the file sees the bad one: every rank must stop
    "agent file row outside the domain, seen by one rank": (
        _agents(initial='{ file = "cells.csv" }'), "agent 3 at (50.0, 150.0) µm lies outside the domain"),
}


@pytest.mark.mpi
@pytest.mark.parametrize("case", list(AGENT_CASES))
def test_bad_agent_input_gives_one_line_and_exit_code_2_on_two_ranks(tmp_path, case, mpirun, one_error_line):
    text, expected = AGENT_CASES[case]
    (tmp_path / "rule.xml").write_text(RATE_RULE_SBML)
    (tmp_path / "cells.csv").write_text("x,y,M\n10.0,10.0,1\n20.0,20.0,2\n30.0,30.0,3\n50.0,150.0,4\n")
    result = mpirun.hybridsim(2, "run", _config(tmp_path, text), "-o", str(tmp_path / "out"))
    one_error_line(result, 2, expected)


@pytest.mark.mpi
def test_cells_from_a_file_keep_their_counts_on_two_ranks(tmp_path, mpirun):
    import h5py
    import numpy as np

    (tmp_path / "cells.csv").write_text("x,y,M\n10.0,10.0,1\n20.0,90.0,2\n90.0,30.0,3\n50.0,50.0,4\n")
    text = _agents(rate="0.0", initial='{ file = "cells.csv" }')
    result = mpirun.hybridsim(2, "run", _config(tmp_path, text), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    with h5py.File(tmp_path / "out" / "agents.h5", "r") as f:
        g = f["steps"]["000000"]
        order = np.argsort(g["id"][...])
        assert list(g["id"][...][order]) == [0, 1, 2, 3]
        assert list(g["species"]["M"][...][order]) == [1, 2, 3, 4]
        assert np.allclose(g["position"][...][order][2], [90.0, 30.0])


SSA_CASES = {
    "missing network": (["absent.toml", "--cells", "10", "--t-end", "1", "--dt-out", "1"], 2,
                        "network file 'absent.toml' does not exist"),
    "output interval beyond the end": (["NET", "--cells", "10", "--t-end", "1", "--dt-out", "2"], 2,
                                       "--dt-out (2) must not exceed --t-end (1)"),
    "epsilon without tau-leaping": (["NET", "--cells", "10", "--t-end", "1", "--dt-out", "1", "--epsilon", "0.1"], 2,
                                    "--epsilon only applies with --tau-leaping"),
    "unwritable output, refused before simulating": (
        ["NET", "--cells", "10", "--t-end", "1", "--dt-out", "1", "-o", "/nonexistent/dir/x.h5"], 3,
        "cannot open '/nonexistent/dir/x.h5' for writing"),
}


@pytest.mark.mpi
@pytest.mark.parametrize("case", list(SSA_CASES))
def test_bad_ssa_input_gives_one_line_on_two_ranks(tmp_path, case, mpirun, one_error_line):
    from pathlib import Path

    args, code, expected = SSA_CASES[case]
    net = str(Path(__file__).resolve().parents[2] / "examples" / "networks" / "two_stage.toml")
    result = mpirun.hybridsim(2, "ssa", *[net if a == "NET" else a for a in args], cwd=tmp_path)
    one_error_line(result, code, expected)
    assert "reaction events" not in result.stdout


REFUSED_BEFORE_WRITING = {
    "infinite end time": (GOOD.replace("t_end = 0.2", "t_end = inf"), [],
                          "time.t_end must be a finite number in min (got inf)"),
    "infinite diffusion coefficient": (GOOD.replace("D = 10.0", "D = inf"), [],
                                       "species.cytokine.D must be a finite number in µm²/min (got inf)"),
    "infinite decay": (GOOD.replace("decay = 0.1", "decay = inf"), [],
                       "species.cytokine.decay must be a finite number in 1/min (got inf)"),
    "NaN in a list": (GOOD.replace("size = [100.0, 100.0]", "size = [100.0, nan]"), [],
                      "domain.size must be a list of finite numbers (got nan in it)"),
    "seed of 2**56 on the command line": (GOOD, ["--seed", str(2**56)], "argument --seed: must be in [0, 2**56)"),
    "seed of 2**64 on the command line": (GOOD, ["--seed", str(2**64)], "argument --seed: must be in [0, 2**56)"),
    "steps and end time together": (GOOD, ["--steps", "10", "--t-end", "5"], "give --steps or --t-end, not both"),
    "placement ball that misses the domain": (
        _agents(initial="{ count = 5, region = { center = [-10.0, -10.0], radius = 12.0 } }"), [],
        "agents.initial.region lies outside the domain [0, 100] × [0, 100] µm"),
    "a 1200³ grid: terabytes": (
        GOOD.replace("size = [100.0, 100.0]", "size = [100.0, 100.0, 100.0]")
        .replace("cells = [16, 16]", "cells = [1200, 1200, 1200]"), [], "GiB are available per rank here"),
    "a million million cells": (_agents(initial="{ count = 1000000000000 }"), [], "GiB are available per rank here"),
    "a lattice spacing of 1e-5 µm": (_agents(initial="{ lattice = { spacing = 1e-5 } }"), [],
                                     "GiB are available per rank here"),
    "placement box beyond the domain": (
        _agents(initial="{ count = 5, region = { lower = [100.0, 0.0], upper = [120.0, 10.0] } }"), [],
        "agents.initial.region lies outside the domain"),
}


@pytest.mark.parametrize("case", list(REFUSED_BEFORE_WRITING))
def test_input_that_cannot_run_is_refused_before_anything_is_written(tmp_path, case, mpirun, one_error_line):
    text, extra, expected = REFUSED_BEFORE_WRITING[case]
    result = mpirun.hybridsim(2, "run", _config(tmp_path, text), "-o", str(tmp_path / "out"), *extra)
    one_error_line(result, 2, expected)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["placement ball that misses the domain", "infinite decay"])
def test_check_refuses_what_run_refuses(tmp_path, case, hybridsim_cli, one_error_line):
    text, _, expected = REFUSED_BEFORE_WRITING[case]
    one_error_line(hybridsim_cli("check", _config(tmp_path, text)), 2, expected)


def test_check_refuses_an_agent_file_row_outside_the_domain(tmp_path, hybridsim_cli, one_error_line):
    (tmp_path / "cells.csv").write_text("x,y,M\n10.0,10.0,1\n20.0,20.0,2\n30.0,30.0,3\n50.0,150.0,4\n")
    result = hybridsim_cli("check", _config(tmp_path, _agents(initial='{ file = "cells.csv" }')))
    one_error_line(result, 2, "agent 3 at (50.0, 150.0) µm lies outside the domain")


def test_a_ball_that_barely_touches_the_domain_is_refused_not_sampled_forever(tmp_path, mpirun, one_error_line):
    """The ball's bounding box overlaps the domain, the ball only a vanishing corner of it."""
    text = _agents(initial="{ count = 5, region = { center = [-10.0, -10.0], radius = 14.143 } }")
    result = mpirun.hybridsim(2, "run", _config(tmp_path, text), "-o", str(tmp_path / "out"), timeout=120)
    one_error_line(result, 2, "no point of the ball inside the domain was found")


def test_a_grid_beyond_petscs_indices_is_refused_before_anything_is_written(tmp_path, mpirun, one_error_line):
    """4·10¹⁰ cells: more than 32-bit indices number; with 64-bit indices, more than any node's memory."""
    text = GOOD.replace("cells = [16, 16]", "cells = [200000, 200000]")
    result = mpirun.hybridsim(2, "run", _config(tmp_path, text), "-o", str(tmp_path / "out"))
    expected = "32-bit indices" if "32-bit indices" in result.stderr else "GiB are available per rank here"
    one_error_line(result, 2, expected)
    assert not (tmp_path / "out").exists()


def test_the_memory_refusal_compares_the_estimate_with_the_share_of_each_rank():
    from hybridsim.config import parse_config
    from hybridsim.errors import InputError
    from hybridsim.footprint import check_fits, memory_per_rank

    config = parse_config(GOOD)
    need = sum(memory_per_rank(config, 2, 0).values())
    assert need == pytest.approx(sum(memory_per_rank(config, 1, 0).values()) / 2)  # 256 cells split evenly
    check_fits(config, 2, 2, 0, available=2.01 * need)  # fits: 2 ranks share the node
    with pytest.raises(InputError, match="--no-memory-check"):
        check_fits(config, 2, 2, 0, available=1.99 * need)
    check_fits(config, 2, 2, 0, available=None)  # unknown: not checked


def test_paraview_refuses_a_directory_without_output_and_an_unknown_field(tmp_path, hybridsim_cli, one_error_line):
    one_error_line(hybridsim_cli("paraview", str(tmp_path)), 2, "holds no fields.xdmf, agents.xdmf or mechanics.xdmf")
    (tmp_path / "fields.xdmf").write_text("<Xdmf/>")
    import h5py

    with h5py.File(tmp_path / "fields.h5", "w") as f:
        f.create_group("grid").attrs["size"] = [10.0, 10.0]
        f.create_group("steps").create_group("000000")["c"] = [[0.0]]
    one_error_line(hybridsim_cli("paraview", str(tmp_path), "--field", "d"), 2,
                   "--field 'd' is not a field of this run (fields: c)")
