"""Multilinear interpolation between cell-centred grid values and agent positions
(numba kernels on arrays).

Cell ``i`` of an axis has its centre at ``(i + ½)·h``. A point at ``x`` lies
between the centres of cells ``i₀ = ⌊x/h − ½⌋`` and ``i₀ + 1`` with fraction
``f = x/h − ½ − i₀``; in d dimensions its value is the weighted sum over the
``2^d`` surrounding centres (weights ``Π (1−f) or f``, summing to 1). Within half
a cell of a non-periodic wall there is only one centre along that axis: the
value is held constant there (``f`` clamped), and the gradient along that axis
is zero. Periodic axes wrap through the DMDA's ghost cells.

The same stencil serves both directions: sampling ``v = Σ w c`` and deposition
``c += w q / V`` use identical indices and weights, so deposition is exactly the
transpose of sampling and conserves the deposited amount to round-off.
Indices point into a rank's *ghosted* local array, flattened in Fortran order;
an agent owned by a rank always has its stencil inside that array.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def build_stencil(points, spacing, cells, periodic, ghost_starts, ghost_counts):
    """Indices ``(n, 2^d)`` into the flattened ghosted array, weights ``(n, 2^d)``
    and gradient weights ``(n, 2^d, d)`` (1/µm) of every point (µm)."""
    n, dim = points.shape
    corners = 1 << dim
    index = np.empty((n, corners), dtype=np.int64)
    weight = np.empty((n, corners))
    dweight = np.zeros((n, corners, dim))
    lo = np.empty(dim, dtype=np.int64)
    hi = np.empty(dim, dtype=np.int64)
    frac = np.empty(dim)
    slope = np.empty(dim)  # d f / d x along the axis (0 where clamped)
    stride = np.empty(dim, dtype=np.int64)
    s = 1
    for a in range(dim):
        stride[a] = s
        s *= ghost_counts[a]
    for p in range(n):
        for a in range(dim):
            u = points[p, a] / spacing[a] - 0.5
            i0 = np.int64(math.floor(u))
            f = u - i0
            slope[a] = 1.0 / spacing[a]
            i1 = i0 + 1
            if not periodic[a]:
                if i0 < 0:
                    i0, i1, f, slope[a] = 0, 0, 0.0, 0.0
                elif i1 > cells[a] - 1:
                    i0, i1, f, slope[a] = cells[a] - 1, cells[a] - 1, 0.0, 0.0
            lo[a] = i0 - ghost_starts[a]
            hi[a] = i1 - ghost_starts[a]
            frac[a] = f
        for c in range(corners):
            flat = 0
            w = 1.0
            for a in range(dim):
                if (c >> a) & 1:
                    flat += hi[a] * stride[a]
                    w *= frac[a]
                else:
                    flat += lo[a] * stride[a]
                    w *= 1.0 - frac[a]
            index[p, c] = flat
            weight[p, c] = w
            for b in range(dim):
                g = 1.0
                for a in range(dim):
                    if a == b:
                        g *= slope[a] if (c >> a) & 1 else -slope[a]
                    elif (c >> a) & 1:
                        g *= frac[a]
                    else:
                        g *= 1.0 - frac[a]
                dweight[p, c, b] = g
    return index, weight, dweight


@njit(cache=True)
def gather(values, index, weight):
    """``Σ_c weight[p, c] · values[index[p, c]]`` per point."""
    out = np.zeros(index.shape[0])
    for p in range(index.shape[0]):
        acc = 0.0
        for c in range(index.shape[1]):
            acc += weight[p, c] * values[index[p, c]]
        out[p] = acc
    return out


@njit(cache=True)
def gather_gradient(values, index, dweight):
    """Gradient ``(n, d)`` of the interpolant at every point."""
    n, corners, dim = dweight.shape
    out = np.zeros((n, dim))
    for p in range(n):
        for c in range(corners):
            v = values[index[p, c]]
            for b in range(dim):
                out[p, b] += dweight[p, c, b] * v
    return out


@njit(cache=True)
def scatter(target, index, weight, amounts, scale):
    """``target[index[p, c]] += weight[p, c] · amounts[p] · scale`` (the transpose of :func:`gather`)."""
    for p in range(index.shape[0]):
        q = amounts[p] * scale
        if q == 0.0:
            continue
        for c in range(index.shape[1]):
            target[index[p, c]] += weight[p, c] * q
