"""The SBML Test Suite's 39 stochastic cases (tests/data/sbml-test-suite-stochastic,
copied unchanged with their licence) through simulate_well_mixed: every case hybridsim
accepts meets the suite's criterion — |Z| < 3 and |Y| < 5 at every output time, at most
one excursion of each per variable — with 2000 runs (the statistics are scaled by √n,
so their bounds do not depend on n; Y over the standard error of the runs' own
kurtosis, see hybridsim/analysis/sbml_suite.py), and every other case is refused in one
line naming what it lacks, never simulated wrong. scripts/sbml_test_suite.py runs the
suite's 10⁴ runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridsim.analysis.sbml_suite import run_case

SUITE = Path(__file__).parents[1] / "data" / "sbml-test-suite-stochastic"
CASES = sorted(d.name for d in SUITE.iterdir() if d.is_dir() and d.name.isdigit())
# what the refused cases hold that hybridsim does not simulate yet
REFUSED = {"00019": "rule 'y'", "00033": "event 'reset' is triggered by 'P2 > 30'",
           "00034": "not a stochastic mass-action propensity", "00035": "not a stochastic mass-action propensity",
           "00036": "not a stochastic mass-action propensity"}


def test_a_network_with_events_is_refused_in_the_cells_of_a_tissue(tmp_path, hybridsim_cli, one_error_line):
    model = SUITE / "00028" / "00028-sbml-l3v2.xml"
    config = tmp_path / "run.toml"
    config.write_text(f'network = "{model}"\n[domain]\nsize = [10.0]\ncells = [2]\n[time]\ndt = 1.0\n'
                      't_end = 1.0\n[agents]\ninitial = { count = 1 }\n')
    one_error_line(hybridsim_cli("check", str(config)), 2, "has the event 'reset': events are simulated in well-mixed")


def test_the_suite_is_all_there():
    assert CASES == [f"{k:05d}" for k in range(1, 40)]
    assert (SUITE / "LICENSE.txt").is_file()


@pytest.mark.parametrize("case", CASES)
def test_each_case_passes_the_suites_criterion_or_is_refused_in_one_line(case):
    result = run_case(SUITE / case, runs=2000, seed=3, corrected=True)
    if case in REFUSED:
        assert result.refused and "\n" not in result.refused and REFUSED[case] in result.refused, result.refused
        return
    assert not result.refused, result.refused
    assert result.passed, (result.excursions, result.worst)
