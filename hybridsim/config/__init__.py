"""The run configuration, the bottom layer: TOML text and network files (TOML,
SBML) → frozen, validated dataclasses. Standard library only; no numpy, no MPI.

Modules: :mod:`.reader` (tables and the validation dialect), :mod:`.space`
(domain, regions, values per cell, faces), :mod:`.species`, :mod:`.network`,
:mod:`.sbml`, :mod:`.network_file`, :mod:`.agents`, :mod:`.mechanics` and
:mod:`.run` (the whole config).
"""

from .network import Modulation, Network, Reaction, parse_network
from .network_file import load_network
from .run import (
                  SEED_LIMIT,
                  Checkpoint,
                  Config,
                  Output,
                  Solver,
                  Time,
                  load_config,
                  parse_config,
                  read_config_text,
                  with_overrides,
)
from .space import AXES, Domain, Layers, Region, RegionValue, SpatialValue
from .species import Face, SaturableUptake, Schedule, Source, Species

__all__ = ["AXES", "SEED_LIMIT", "Checkpoint", "Config", "Domain", "Face", "Layers", "Modulation", "Network",
           "Output", "Reaction", "Region", "RegionValue", "SaturableUptake", "Schedule", "Solver", "Source",
           "SpatialValue", "Species", "Time", "load_config", "load_network", "parse_config", "parse_network",
           "read_config_text", "with_overrides"]
