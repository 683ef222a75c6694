"""Where the config's places are, evaluated on arrays of points (numpy; no MPI,
no PETSc): region masks, and values given per grid cell (diffusivity, decay,
initial values, elastic moduli) at cell centres.

Used by the fields, the mechanics and the placement of agents, so it sits just
above :mod:`hybridsim.config`.
"""

from __future__ import annotations

import numpy as np

from .config.space import Layers, Region, SpatialValue


def region_mask(region: Region, points: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``points`` (shape ``(n, dim)``, µm) inside ``region``:
    ``|x − center| ≤ radius`` for a ball, ``lower ≤ x < upper`` for a box."""
    points = np.asarray(points, dtype=float)
    if region.center is not None:
        d2 = ((points - np.asarray(region.center)) ** 2).sum(axis=1)
        return d2 <= region.radius**2
    return np.all((points >= np.asarray(region.lower)) & (points < np.asarray(region.upper)), axis=1)


def layer_values(layers: Layers, coordinate: np.ndarray) -> np.ndarray:
    """Value of the layer holding each ``coordinate`` (µm along ``layers.axis``)."""
    bounds = np.cumsum(layers.thickness)
    phase = np.mod(coordinate, layers.period)
    index = np.searchsorted(bounds, phase, side="right")
    return np.asarray(layers.values)[np.minimum(index, len(bounds) - 1)]


def evaluate_at_cells(spatial: SpatialValue, n_cells: int, centres) -> np.ndarray:
    """``spatial`` at ``n_cells`` cell centres that the callable ``centres`` returns
    (shape ``(n_cells, dim)``, µm); it is not called when the value is uniform, so a
    uniform coefficient costs no coordinates."""
    if spatial.is_uniform:
        return np.full(n_cells, float(spatial.value))
    return evaluate(spatial, centres())


def evaluate(spatial: SpatialValue, points: np.ndarray) -> np.ndarray:
    """``spatial`` at ``points`` (shape ``(n, dim)``, µm); returns shape ``(n,)``."""
    n = points.shape[0]
    if spatial.layers is None:
        out = np.full(n, spatial.value, dtype=float)
    else:
        out = layer_values(spatial.layers, points[:, spatial.layers.axis]).astype(float)
    for rv in spatial.regions:
        out[region_mask(rv.region, points)] = rv.value
    return out
