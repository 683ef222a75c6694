"""Coefficients given per grid cell (diffusivity, decay, initial values, sources)
evaluated at cell centres. Pure numpy: no MPI, no PETSc."""

from __future__ import annotations

import numpy as np

from ..config import Layers, SpatialValue


def layer_values(layers: Layers, coordinate: np.ndarray) -> np.ndarray:
    """Value of the layer holding each ``coordinate`` (µm along ``layers.axis``)."""
    bounds = np.cumsum(layers.thickness)
    phase = np.mod(coordinate, layers.period)
    index = np.searchsorted(bounds, phase, side="right")
    return np.asarray(layers.values)[np.minimum(index, len(bounds) - 1)]


def evaluate(spatial: SpatialValue, points: np.ndarray) -> np.ndarray:
    """``spatial`` at ``points`` (shape ``(n, dim)``, µm); returns shape ``(n,)``."""
    n = points.shape[0]
    if spatial.layers is None:
        out = np.full(n, spatial.value, dtype=float)
    else:
        out = layer_values(spatial.layers, points[:, spatial.layers.axis]).astype(float)
    for rv in spatial.regions:
        out[rv.region.contains(points)] = rv.value
    return out
