"""Contact forces between cells with bodies: a cell list and the force laws (numba
kernels on arrays; no MPI — the ghost copies of other ranks' cells are given).

The cells of this rank and the ghosts are binned on a grid of bins of side ``b`` ≥
the largest interaction distance, laid out in *global* coordinates (bin ``k`` spans
``[k·b, (k+1)·b)`` on every rank), and inside a bin sorted by global id; positions
and radii are copied in that order, so neighbours are read from contiguous memory.
Each owned cell sums the velocities its neighbours give it over the ``3^dim`` bins
around it — row by row (z, then y), each row's three bins one contiguous range in x
order — and inside each bin in id order. The terms and their order therefore do not
depend on how the domain is split, so the result is bitwise the same on any number
of ranks. Counting sort by bin, then insertion sort of each (small) bin by id: O(n)
without a Python loop over cells. All arrays are allocated by numpy, in
:func:`contact_velocities` (so their size is what ``hybridsim check`` reports).

Force laws (velocities, µm/min; :class:`~hybridsim.config.bodies.Contact`), with the
strengths of the pair's cell types ``t_i``, ``t_j`` read from ``T × T`` tables
(``c_r``, ``c_a`` for the potential; ``μ`` and the attraction factor ``a`` for springs):

* ``potential`` (PhysiCell ``Cell::add_potentials``): ``v_i += [c_r (1 − d/R)²₊ −
  c_a (1 − d/S)²₊]·(x_i − x_j)/d`` with ``R = r_i + r_j``, ``S = A·(r_i + r_j)``;
* ``spring`` (Chaste ``GeneralisedLinearSpringForce``): rest length ``s = r_i + r_j``,
  ``v_i += μ s ln(1 + (d−s)/s)·(x_j − x_i)/d`` for ``d < s`` and
  ``a μ (d−s) e^{−5(d−s)/s}·(x_j − x_i)/d`` for ``s ≤ d < cutoff·s`` (``a`` as in
  Chaste's ``DifferentialAdhesionGeneralisedLinearSpringForce``).

With ``contacts`` (``(n, T)``), each owned cell also counts its neighbours closer
than ``r_i + r_j`` by their type.

Simple pressure (PhysiCell): ``Σ_j (1 − d/R)²₊ / 0.027288820670331``, 1 for a cell among
12 close-packed neighbours at the equilibrium spacing of the potential.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

POTENTIAL = 0
SPRING = 1
PRESSURE_SCALE = 0.027288820670331  # 12·(1 − √(π/(2√3)))², PhysiCell's normalisation
_SMALLEST_DISTANCE = 1e-5  # µm: two centres closer than this count as this far apart


@njit(cache=True)
def _bin_extent(p1, p2, bin_size):
    """Global index of the first bin and number of bins per axis of the points of
    both arrays (3 axes; 1 beyond ``dim``)."""
    dim = p1.shape[1]
    origin = np.zeros(3, np.int64)
    shape = np.ones(3, np.int64)
    if p1.shape[0] + p2.shape[0] == 0:
        return origin, shape
    for a in range(dim):
        lo, hi = np.inf, -np.inf
        for points in (p1, p2):
            for i in range(points.shape[0]):
                lo = min(lo, points[i, a])
                hi = max(hi, points[i, a])
        origin[a] = np.int64(math.floor(lo / bin_size))
        shape[a] = np.int64(math.floor(hi / bin_size)) - origin[a] + 1
    return origin, shape


@njit(cache=True, inline="always")
def _bin_of(x, i, dim, bin_size, origin, shape):
    b = 0
    stride = 1
    for a in range(dim):
        b += (np.int64(math.floor(x[i, a] / bin_size)) - origin[a]) * stride
        stride *= shape[a]
    return b


@njit(cache=True)
def _bin(p1, i1, r1, t1, p2, i2, r2, t2, bin_size, origin, shape, which, order, starts, xs, rs, ts):
    """Cell list of the points of ``p1`` then ``p2`` (ids ``i1``, ``i2``): ``order[q]``
    is the point (index into ``p1`` then ``p2``) at sorted place ``q``, with
    ``starts[b]:starts[b+1]`` the places of local bin ``b`` (x fastest) in id order;
    ``xs``, ``rs``, ``ts`` get the positions, radii and types in that order (``which``: scratch)."""
    n1, dim = p1.shape
    m = n1 + p2.shape[0]
    n_bins = starts.size - 1
    starts[:] = 0
    for k in range(m):
        b = _bin_of(p1, k, dim, bin_size, origin, shape) if k < n1 else \
            _bin_of(p2, k - n1, dim, bin_size, origin, shape)
        which[k] = b
        starts[b + 1] += 1
    for b in range(n_bins):
        starts[b + 1] += starts[b]
    for k in range(m):  # starts[b] runs to the end of bin b ...
        order[starts[which[k]]] = k
        starts[which[k]] += 1
    for b in range(n_bins, 0, -1):  # ... and is moved back to its start
        starts[b] = starts[b - 1]
    starts[0] = 0
    for b in range(n_bins):  # insertion sort by id: bins hold a few cells
        for q in range(starts[b] + 1, starts[b + 1]):
            item = order[q]
            key = i1[item] if item < n1 else i2[item - n1]
            t = q - 1
            while t >= starts[b]:
                other = order[t]
                if (i1[other] if other < n1 else i2[other - n1]) <= key:
                    break
                order[t + 1] = other
                t -= 1
            order[t + 1] = item
    for q in range(m):
        k = order[q]
        if k < n1:
            xs[q, :] = p1[k, :]
            rs[q] = r1[k]
            ts[q] = t1[k]
        else:
            xs[q, :] = p2[k - n1, :]
            rs[q] = r2[k - n1]
            ts[q] = t2[k - n1]


def _with_types(cells):
    """``(position, radius, ids, types)`` of cells given with or without their types (0)."""
    if len(cells) == 4:
        return cells
    return (*cells, np.zeros(cells[2].shape[0], np.int64))


def bin_cells(owned, ghosts, bin_size: float):
    """The cell list of the ``owned`` and ``ghosts`` cells (each ``(position (n, dim)
    µm, radius (n,) µm, ids (n,)[, types (n,)])``): ``(order, starts, origin, shape,
    xs, rs, ts)`` as filled by :func:`_bin`."""
    (p1, r1, i1, t1), (p2, r2, i2, t2) = _with_types(owned), _with_types(ghosts)
    origin, shape = _bin_extent(p1, p2, bin_size)
    m = p1.shape[0] + p2.shape[0]
    order, which = np.empty(m, np.int64), np.empty(m, np.int64)
    starts = np.empty(int(np.prod(shape)) + 1, np.int64)
    xs, rs, ts = np.empty((m, p1.shape[1])), np.empty(m), np.empty(m, np.int64)
    _bin(p1, i1, r1, np.ascontiguousarray(t1, dtype=np.int64), p2, i2, r2, np.ascontiguousarray(t2, dtype=np.int64),
         bin_size, origin, shape, which, order, starts, xs, rs, ts)
    del which
    return order, starts, origin, shape, xs, rs, ts


_NO_CONTACTS = np.zeros((0, 0))


def contact_velocities(owned, ghosts, bin_size, model, strength, adhesion, reach, drag, size, wall_faces, wall, dt,
                       velocity, pressure, contacts=None) -> float:
    """Velocities (µm/min) that contact gives the ``owned`` cells (``(position, radius,
    ids[, types])``) from each other and from the ``ghosts`` (the same), and their simple
    pressures. ``bin_size`` (µm) is at least the largest interaction distance;
    ``strength`` is the repulsion (potential) or the stiffness (spring), ``adhesion``
    the adhesion (potential) or the factor on the attraction (spring) — numbers, or
    ``T × T`` tables by the pair's types; ``reach`` the relative adhesion distance
    (potential) or the cutoff (spring). ``wall_faces`` ``(dim, 2)`` is 1 where a face
    pushes back with ``wall·(1 − δ/r)²`` at distance δ < r (``size``: the domain, µm).
    ``contacts`` ``(n, T)``, if given, gets the touching neighbours of each type.
    Returns the largest ``dt·|v|/r`` of the owned cells (the substep's displacement
    relative to the cell's radius)."""
    n_owned = owned[0].shape[0]
    if n_owned == 0:
        return 0.0
    order, starts, origin, shape, xs, rs, ts = bin_cells(owned, ghosts, bin_size)
    strength = np.atleast_2d(np.asarray(strength, dtype=float))
    adhesion = np.atleast_2d(np.asarray(adhesion, dtype=float))
    return _velocities(xs, rs, ts, order, n_owned, starts, origin, shape, bin_size, model, strength, adhesion, reach,
                       drag, size, wall_faces, wall, dt, velocity, pressure,
                       _NO_CONTACTS if contacts is None else contacts)


@njit(cache=True)
def _velocities(xs, rs, ts, order, n_owned, starts, origin, shape, bin_size, model, strength, adhesion, reach, drag,
                size, wall_faces, wall, dt, velocity, pressure, contacts):
    """The kernel of :func:`contact_velocities` on a cell list (sorted ``xs``, ``rs``)."""
    m, dim = xs.shape
    cutoff = max(reach, 1.0)  # relative to r_i + r_j: nothing acts beyond
    cell = np.zeros(3, np.int64)
    largest = 0.0
    rows = 3 ** (dim - 1)
    counting = contacts.shape[0] > 0
    for q in range(m):
        i = order[q]
        if i >= n_owned:
            continue  # a ghost: its own rank moves it
        ti = ts[q]
        if counting:
            contacts[i, :] = 0.0
        for a in range(dim):
            cell[a] = np.int64(math.floor(xs[q, a] / bin_size)) - origin[a]
        lo_x = max(cell[0] - 1, 0)
        hi_x = min(cell[0] + 1, shape[0] - 1)
        v0 = 0.0
        v1 = 0.0
        v2 = 0.0
        p = 0.0
        ri = rs[q]
        for row in range(rows):
            b = 0
            inside = True
            rest = row
            stride = shape[0]
            for a in range(1, dim):
                k = cell[a] + rest % 3 - 1
                rest //= 3
                if k < 0 or k >= shape[a]:
                    inside = False
                b += k * stride
                stride *= shape[a]
            if not inside:
                continue
            for t in range(starts[b + lo_x], starts[b + hi_x + 1]):
                if t == q:
                    continue
                dx0 = xs[q, 0] - xs[t, 0]
                dx1 = xs[q, 1] - xs[t, 1] if dim > 1 else 0.0
                dx2 = xs[q, 2] - xs[t, 2] if dim > 2 else 0.0
                d2 = dx0 * dx0 + dx1 * dx1 + dx2 * dx2
                rsum = ri + rs[t]
                far = cutoff * rsum
                if d2 >= far * far:
                    continue
                d = max(math.sqrt(d2), _SMALLEST_DISTANCE)
                tj = ts[t]
                push = 0.0
                if d < rsum:
                    push = (1.0 - d / rsum) ** 2
                    p += push / PRESSURE_SCALE
                    if counting:
                        contacts[i, tj] += 1.0
                if model == POTENTIAL:
                    pull = (1.0 - d / (reach * rsum)) ** 2 if d < reach * rsum else 0.0
                    magnitude = (strength[ti, tj] * push - adhesion[ti, tj] * pull) / d  # along x_i − x_j
                else:
                    overlap = d - rsum
                    if overlap < 0.0:
                        magnitude = -strength[ti, tj] * rsum * math.log(1.0 + overlap / rsum) / d
                    else:
                        magnitude = -adhesion[ti, tj] * strength[ti, tj] * overlap * math.exp(-5.0 * overlap / rsum) / d
                v0 += magnitude * dx0
                v1 += magnitude * dx1
                v2 += magnitude * dx2
        if wall > 0.0:
            for a in range(dim):
                for side in range(2):
                    if wall_faces[a, side] == 0:
                        continue
                    gap = xs[q, a] if side == 0 else size[a] - xs[q, a]
                    if gap < ri:
                        push = (1.0 - 2.0 * side) * wall * (1.0 - max(gap, 0.0) / ri) ** 2
                        if a == 0:
                            v0 += push
                        elif a == 1:
                            v1 += push
                        else:
                            v2 += push
        v0 /= drag
        v1 /= drag
        v2 /= drag
        velocity[i, 0] = v0
        if dim > 1:
            velocity[i, 1] = v1
        if dim > 2:
            velocity[i, 2] = v2
        largest = max(largest, dt * math.sqrt(v0 * v0 + v1 * v1 + v2 * v2) / ri)
        pressure[i] = p
    return largest
