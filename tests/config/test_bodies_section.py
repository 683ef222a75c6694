"""[agents.body], [agents.contact], [agents.necrosis]: every bad value is named in one line,
on the command line too (exit 2, no hang on any rank)."""

import re

import pytest

from hybridsim.config import parse_config
from hybridsim.errors import InputError

BODY_CONFIG = """
[domain]
size = [100.0, 80.0]
cells = [10, 8]
[time]
dt = 1.0
t_end = 10.0
[species.oxygen]
D = 100.0
[network]
species = {{ M = 0 }}
reactions = [{{ products = {{ M = 1 }}, rate = 1.0 }}]
[agents]
initial = {{ count = 10 }}
{agents}
"""


def parse(agents: str):
    return parse_config(BODY_CONFIG.format(agents=agents))


@pytest.mark.parametrize("agents, message", [
    ("[agents.body]\nradius = -2.0", "agents.body.radius must be > 0"),
    ("[agents.body]\n[agents.contact]\nmodel = 'spring'\nstiffness = -1.0", "agents.contact.stiffness must be > 0"),
    ("[agents.body]\n[agents.contact]\nrepulsion = -1.0", "agents.contact.repulsion must be ≥ 0"),
    ("[agents.body]\n[agents.contact]\nmax_adhesion_distance = 0.9",
     "agents.contact.max_adhesion_distance must be ≥ 1"),
    ("[agents.body]\n[agents.contact]\ndt = 1.0", "agents.contact.dt = 1 min is too long for the contact forces"),
    ("[agents.body]\n[agents.contact]\nmodel = 'spring'\nstiffness = 15.0", "agents.contact.dt = 0.1 min is too long"),
    ("[agents.body]\n[agents.contact]\nmodel = 'glue'", "agents.contact.model must be one of"),
    ("[agents.body]\n[agents.contact]\nmodel = 'spring'\nadhesion = 1.0", "agents.contact.adhesion is not a known key"),
    ("[agents.contact]\nrepulsion = 5.0", "agents.contact needs [agents.body]"),
    ("[agents.necrosis]\nfield = 'oxygen'\nbelow = 1.0", "agents.necrosis needs [agents.body]"),
    ("[agents.body]\ndivision_volume = 100.0", "agents.body.division_volume = 100 µm³ must exceed the initial volume"),
    ("[agents.body]\ngrowth = { k = 1.0, field = 'glucose' }", "agents.body.growth.field names 'glucose'"),
    ("[agents.body]\n[agents.necrosis]\nfield = 'oxygen'\nbelow = 1.0\nremove_at = 1.5",
     "agents.necrosis.remove_at must be < 1"),
    ("[agents.body]\n[agents.necrosis]\nfield = 'M'\nbelow = 1.0", "agents.necrosis.field names 'M'"),
    ("division = { rate = 0.01, pressure = { below = 0.5 } }", "agents.division.pressure needs [agents.body]"),
    ("[agents.body]\n[agents.division]\nrate = 0.01\npressure = { at = 0.5 }", "needs exactly one of above = p"),
    ("diameter = 8.0\n[agents.body]", "agents.diameter is the size of point cells"),
])
def test_bad_body_config_names_the_key(agents, message):
    with pytest.raises(InputError, match=re.escape(message)) as info:
        parse(agents)
    assert "\n" not in str(info.value)


def test_defaults_are_physicells():
    body = parse("[agents.body]").agents.body
    assert body.radius == pytest.approx(8.412710547954228)
    assert body.volume == pytest.approx(2494.0, rel=1e-4)  # PhysiCell's default total volume, µm³
    c = body.contact
    assert (c.model, c.repulsion, c.adhesion, c.max_adhesion_distance, c.dt) == ("potential", 10.0, 0.4, 1.25, 0.1)


@pytest.mark.parametrize("n", (1, 2))
def test_unstable_substep_is_one_line_exit_2_on_every_rank(n, tmp_path, mpirun, one_error_line):
    config = tmp_path / "unstable.toml"
    config.write_text(BODY_CONFIG.format(agents="[agents.body]\n[agents.contact]\nrepulsion = 100.0"))
    for command in ("check", "run"):
        result = mpirun.hybridsim(n, command, str(config), timeout=60)
        one_error_line(result, 2, "agents.contact.dt = 0.1 min is too long")
