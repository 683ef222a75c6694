"""Cell agents: reaction networks with exact SSA, motility, division and death.

Kernels in this package work on numpy arrays (numba) and import neither mpi4py
nor petsc4py; :mod:`hybridsim.parallel.migration` moves agents between ranks.
"""

from .network import Network, load_network
from .well_mixed import simulate_well_mixed

__all__ = ["Network", "load_network", "simulate_well_mixed"]
