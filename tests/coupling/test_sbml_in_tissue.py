"""SBML Test Suite cases as the networks of a tissue's cells (cells that do not move, no
fields) on 2 ranks — mass action, a concentration, an assignment rule (00019), events on the
time (00028, 00032: the clock stops at the event inside a step) and on the state (00033), and
a general law (00034): the summary's per-step
mean and Fano factor of each variable meet the suite's criterion against the exact results, as the well-mixed runs do
(tests/agents/test_sbml_suite.py). Cases whose counts stay near-normal, so the
uncorrected Y applies (the summary holds moments, not the cells' fourth moments). The
outputs are the same cells at successive times, so a chance excursion tends to bring
its neighbours along: the suite calls 2–3 excursions worth a look and more a failure,
and that is the bound here (a wrong simulation gives dozens: case 00011 read without
its compartment gave 50 of 50)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hybridsim.analysis.sbml_suite import judge_summary, tissue_config

SUITE = Path(__file__).parents[1] / "data" / "sbml-test-suite-stochastic"
CELLS = 3000


@pytest.mark.parametrize("case", ("00001", "00011", "00019", "00020", "00028", "00030", "00032", "00033", "00034"))
def test_a_suite_case_in_the_cells_of_a_tissue_meets_the_suites_criterion(tmp_path, mpirun, case):
    config = tmp_path / "run.toml"
    config.write_text(tissue_config(SUITE / case, CELLS))
    result = mpirun.hybridsim(2, "run", str(config), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    rows = np.genfromtxt(tmp_path / "out" / "summary.csv", delimiter=",", names=True)
    judged = judge_summary(SUITE / case, rows, CELLS)
    assert judged.passed and not judged.refused, (judged.excursions, judged.worst, judged.refused)
