"""Cell agents: reaction networks with exact SSA, motility, division and death.

Kernels in this package work on numpy arrays (numba) and import neither mpi4py
nor petsc4py; :mod:`hybridsim.parallel.agents` moves agents between ranks.
The validated networks themselves are config (:mod:`hybridsim.config.network`);
``Network`` and ``load_network`` are offered here too. Names are imported on first
use, so importing the package does not load numba.
"""

from __future__ import annotations

__all__ = ["Network", "load_network", "simulate_well_mixed"]


def __getattr__(name: str):
    if name in ("Network", "load_network"):
        from .. import config

        return getattr(config, name)
    if name == "simulate_well_mixed":
        from .well_mixed import simulate_well_mixed

        return simulate_well_mixed
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
