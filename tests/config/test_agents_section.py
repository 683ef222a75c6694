"""The [agents] section: every bad key is named in one line; a network needs cells and cells a network."""

import pytest

from hybridsim.config import parse_config
from hybridsim.errors import InputError

AGENT_CONFIG = """
[domain]
size = [100.0, 80.0]
cells = [10, 8]
periodic = ["x"]
[time]
dt = 1.0
t_end = 10.0
[network]
species = {{ M = 0 }}
reactions = [{{ products = {{ M = 1 }}, rate = 1.0 }}]
[agents]
{agents}
"""


@pytest.mark.parametrize("agents, message", [
    ("initial = { count = 10 }\nmotility = { type = 'persistent', speed = 2.0 }",
     "agents.motility.persistence is required"),
    ("initial = { count = 10 }\nmotility = { type = 'jumping' }", "agents.motility.type must be one of"),
    ("initial = { count = 10, lattice = { spacing = 5.0 } }", "needs exactly one of count"),
    ("initial = { count = 10 }\ndivision = { rate = { k = 1.0, species = 'Q' } }",
     "agents.division.rate.species names 'Q', which is not a network species"),
    ("initial = { count = 10 }\nboundary = { x_min = 'reflecting' }",
     "agents.boundary.x_min = 'reflecting' is inconsistent with the fields: axis x is periodic"),
    ("initial = { count = 10 }\nboundary = { y_mid = 'reflecting' }", "agents.boundary.y_mid is not a face"),
    ("initial = { count = 10 }\ndeath = { min_age = 3.0 }", "agents.death needs a rate"),
    ("initial = { count = 10, counts = { P = 3 } }", "agents.initial.counts.P is not a species"),
    ("initial = { file = 'nowhere.csv' }", "agents.initial.file: 'nowhere.csv' does not exist"),
    ("initial = { count = 10 }\ndiameter = -1.0", "agents.diameter must be > 0"),
    ("initial = { count = 10 }\nspeed = 3.0", "agents.speed is not a known key"),
])
def test_bad_agent_config_names_the_key(agents, message):
    with pytest.raises(InputError, match=message) as info:
        parse_config(AGENT_CONFIG.format(agents=agents))
    assert "\n" not in str(info.value)


def test_network_without_agents_and_agents_without_network_are_refused():
    text = AGENT_CONFIG.format(agents="initial = { count = 1 }")
    with pytest.raises(InputError, match=r"network is defined but \[agents\] is missing"):
        parse_config(text.split("[agents]")[0])
    no_network = text.replace("[network]\nspecies = { M = 0 }\nreactions = [{ products = { M = 1 }, rate = 1.0 }]\n",
                              "")
    with pytest.raises(InputError, match="agents need an intracellular network"):
        parse_config(no_network)
