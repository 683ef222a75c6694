"""Top-down coupling: field values at agent positions.

:func:`cell_values` gives each agent the concentration of the grid cell that
holds it (piecewise-constant sampling). Agents are always inside the subdomain
of the rank that owns them, so no ghost values are needed.
"""

from __future__ import annotations

import numpy as np

from ..parallel.grid import Grid


def cell_values(grid: Grid, vec, points: np.ndarray) -> np.ndarray:
    """Value of the global vector ``vec`` in the cell of each owned point (``(n, dim)``, µm)."""
    local = grid.view(vec, readonly=True)
    index = grid.cell_index(points) - np.asarray(grid.starts)[:, None]
    return local[tuple(index)]
