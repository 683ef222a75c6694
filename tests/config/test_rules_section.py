"""Phenotype rules in a config: PhysiCell's version-3 rules CSV (eight columns, no
header) and hybridsim's (with a header) read the same; [[cell_types.NAME.rules]] tables
give the same rules; every wrong row is refused in one line naming the file and line
(or the key) and the problem."""

from __future__ import annotations

import pytest

from hybridsim.config import parse_config

CONFIG = """
[domain]
size = [200.0, 200.0]
cells = [4, 4]
[time]
dt = 1.0
t_end = 1.0
[species.oxygen]
D = 100.0
decay = 0.1
[agents]
rules = "{rules}"
[cell_types.tumor]
initial = {{ count = 1 }}
body = {{ radius = 5.0 }}
motility = {{ type = "persistent", speed = 0.5, persistence = 5.0 }}
uptake = [{{ field = "oxygen", rate = 10.0 }}]
[cell_types.tumor.network]
species = {{ P = 0 }}
reactions = [{{ products = {{ P = 1 }}, rate = 1.0 }}]
[cell_types.macrophage]
initial = {{ count = 1 }}
body = {{ radius = 4.0 }}
motility = {{ type = "brownian", diffusivity = 1.0 }}
[cell_types.macrophage.network]
species = {{ X = 0 }}
reactions = [{{ products = {{ X = 1 }}, rate = 1.0 }}]
"""

PHYSICELL_V3 = """tumor,oxygen,decreases,cycle entry,0,3.75,8,0
tumor,pressure,decreases,cycle entry,0,0.5,4,0
tumor,contact with macrophage,increases,apoptosis,0.01,1,1,0
tumor,P,increases,migration speed,2,10,2,0
tumor,oxygen,decreases,oxygen uptake,0,1,1,0
macrophage,X,increases,transform to tumor,0.001,100,2,1
"""


def _config(tmp_path, rows: str):
    (tmp_path / "rules.csv").write_text(rows)
    return parse_config(CONFIG.format(rules="rules.csv"), "test", tmp_path)


def test_physicells_v3_file_and_a_headed_file_and_toml_tables_give_the_same_rules(tmp_path):
    cfg = _config(tmp_path, PHYSICELL_V3)
    tumor, macrophage = cfg.agents.types
    assert [r.kind for r in tumor.division.rules] == ["field", "pressure"]
    assert tumor.division.active and tumor.death.active  # the rules make them happen
    assert tumor.death.rules[0].kind == "contact" and tumor.death.rules[0].source == "macrophage"
    assert tumor.motility.rules[0].saturation == 2.0 and tumor.uptake[0].rules[0].source == "oxygen"
    (change,) = macrophage.changes
    assert change.target == "tumor" and change.when.rules[0].applies_to_dead
    headed = _config(tmp_path, "type,signal,direction,behaviour,saturation,half_max,hill,applies_to_dead\n"
                     + PHYSICELL_V3)
    assert headed.agents.types == cfg.agents.types
    # the same two tumour rules as tables in the type's own section
    text = CONFIG.format(rules="rules.csv").replace('rules = "rules.csv"\n', "") + """
[[cell_types.tumor.rules]]
signal = "oxygen"
direction = "decreases"
behaviour = "cycle entry"
saturation = 0
half_max = 3.75
hill = 8
[[cell_types.tumor.rules]]
signal = "pressure"
direction = "decreases"
behaviour = "cycle entry"
saturation = 0
half_max = 0.5
hill = 4
"""
    tables = parse_config(text, "test", tmp_path)
    assert [(r.kind, r.half_max, r.hill) for r in tables.agents.types[0].division.rules] == \
        [(r.kind, r.half_max, r.hill) for r in tumor.division.rules]


BAD = [
    ("tumour,oxygen,decreases,cycle entry,0,3.75,8,0", "rules.csv:1: type 'tumour' is not a cell type"),
    ("tumor,oxygen,decreases,necrosis,0,3.75,8,0", "rules.csv:1: behaviour 'necrosis' is not one hybridsim has"),
    ("tumor,oxygen,increases,attack macrophage,1,3.75,8,0", "behaviour 'attack macrophage' is not one"),
    ("tumor,oxygen,increases,oxygen secretion,1,3.75,8,0", "behaviour 'oxygen secretion' is not one"),
    ("tumor,glucose,decreases,cycle entry,0,3.75,8,0", "rules.csv:1: signal 'glucose' is neither a species"),
    ("tumor,X,decreases,cycle entry,0,3.75,8,0", "signal 'X' is neither a species of the type's network"),
    ("tumor,oxygen,lowers,cycle entry,0,3.75,8,0", "direction must be 'increases' or 'decreases' (got 'lowers')"),
    ("tumor,oxygen,decreases,cycle entry,zero,3.75,8,0", "rules.csv:1: saturation must be a number (got 'zero')"),
    ("tumor,oxygen,decreases,cycle entry,0,0,8,0", "rules.csv:1: half_max must be > 0"),
    ("tumor,oxygen,decreases,cycle entry,0,3.75", "rules.csv:1: a rule has 7 or 8 columns"),
    ("tumor,contact with dendritic,increases,apoptosis,1,1,1,0", "names 'dendritic', which is not a cell type"),
    ("macrophage,X,increases,migration speed,2,1,1,0", "migration speed is the speed of a persistent walk"),
    ("macrophage,X,increases,oxygen uptake,2,1,1,0", "macrophage cells take up no 'oxygen'"),
    ("tumor,oxygen,decreases,transform to tumor,0,1,1,0", "cannot transform to its own type"),
    ("tumor,oxygen,increases,cycle entry,0.1,1,1,0\ntumor,P,increases,cycle entry,0.2,1,1,0",
     "rules.csv:2: saturation 0.2 differs from 0.1 at rules.csv:1"),
]


@pytest.mark.parametrize("rows, message", BAD, ids=[m for _, m in BAD])
def test_a_wrong_rule_is_refused_in_one_line(tmp_path, hybridsim_cli, one_error_line, rows, message):
    (tmp_path / "rules.csv").write_text(rows + "\n")
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(rules="rules.csv"))
    one_error_line(hybridsim_cli("check", str(config)), 2, message)


def test_a_missing_rules_file_is_one_line(tmp_path, hybridsim_cli, one_error_line):
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(rules="nowhere.csv"))
    one_error_line(hybridsim_cli("check", str(config)), 2, "rules file")
