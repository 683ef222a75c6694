"""The domain and the places in it that a config names: regions, layers,
values given per grid cell and the faces of the domain (no numpy here; the
values are evaluated at points by :mod:`hybridsim.geometry`).

Units: µm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .reader import MISSING, Table, as_table, check_number, describe, fmt, suggest

AXES = ("x", "y", "z")


@dataclass(frozen=True)
class Domain:
    size: tuple[float, ...]  # µm
    cells: tuple[int, ...]
    periodic: tuple[bool, ...]

    @property
    def dim(self) -> int:
        return len(self.size)

    @property
    def spacing(self) -> tuple[float, ...]:
        """Grid spacing per axis, µm."""
        return tuple(s / n for s, n in zip(self.size, self.cells))

    @property
    def n_cells(self) -> int:
        return math.prod(self.cells)


@dataclass(frozen=True)
class Region:
    """A box ``lower ≤ x < upper`` or a ball ``|x − center| ≤ radius`` (µm).

    Read from ``{ lower = [...], upper = [...] }`` or ``{ center = [...], radius = r }``.

    A grid cell belongs to a region when its centre does.
    """

    lower: tuple[float, ...] | None = None
    upper: tuple[float, ...] | None = None
    center: tuple[float, ...] | None = None
    radius: float | None = None


@dataclass(frozen=True)
class Layers:
    """A periodic stack of layers along one axis, starting at coordinate 0.

    Layer ``i`` has thickness ``thickness[i]`` (µm) and value ``values[i]``; the stack
    repeats with period ``sum(thickness)``.
    """

    axis: int
    thickness: tuple[float, ...]
    values: tuple[float, ...]

    @property
    def period(self) -> float:
        return float(sum(self.thickness))


@dataclass(frozen=True)
class RegionValue:
    region: Region
    value: float


@dataclass(frozen=True)
class SpatialValue:
    """A scalar given per grid cell: ``value`` everywhere, then ``layers``, then
    each of ``regions`` in order (later ones win)."""

    value: float
    layers: Layers | None = None
    regions: tuple[RegionValue, ...] = ()

    @property
    def is_uniform(self) -> bool:
        return self.layers is None and not self.regions

    def all_values(self) -> tuple[float, ...]:
        values = [self.value] if self.layers is None else list(self.layers.values)
        return tuple(values) + tuple(r.value for r in self.regions)


# --------------------------------------------------------------------------- parsers


def axis_index(name: Any, key: str, dim: int) -> int:
    """Index of the axis ``name`` ('x', 'y' or 'z') of a ``dim``-dimensional domain."""
    if name not in AXES[:dim]:
        raise InputError(f"{key} must be one of {', '.join(map(repr, AXES[:dim]))} (got {describe(name)})")
    return AXES.index(name)


def parse_region(t: Table, dim: int) -> Region:
    if t.has("center") or t.has("radius"):
        center = tuple(t.list_of("center", float, length=dim))
        radius = t.number("radius", unit="µm", positive=True)
        return Region(center=center, radius=radius)
    lower = tuple(t.list_of("lower", float, length=dim))
    upper = tuple(t.list_of("upper", float, length=dim))
    for a in range(dim):
        if not upper[a] > lower[a]:
            raise InputError(
                f"{t.key('upper')} must exceed {t.key('lower')} on axis {AXES[a]} "
                f"(got {fmt(lower[a])} to {fmt(upper[a])})"
            )
    return Region(lower=lower, upper=upper)


def optional_region(parent: Table, name: str, dim: int) -> Region | None:
    """The region in the sub-table ``name`` of ``parent``, or None if it is absent."""
    rt = parent.table(name)
    if rt is None:
        return None
    region = parse_region(rt, dim)
    rt.finish()
    return region


def parse_spatial(
    parent: Table, name: str, default: Any, dim: int, *, unit: str, positive: bool
) -> SpatialValue:
    """A number, or ``{ value = …, layers = {…}, regions = [{…, value = …}] }``."""
    raw = parent.raw(name, default)
    key = parent.key(name)
    bounds = dict(unit=unit, positive=positive, minimum=None if positive else 0.0)
    if not isinstance(raw, dict):
        return SpatialValue(check_number(raw, key, **bounds))
    t = Table(raw, key)
    layers = None
    lt = t.table("layers")
    if lt is not None:
        axis = axis_index(lt.raw("axis"), lt.key("axis"), dim)
        thickness = lt.list_of("thickness", float)
        values = lt.list_of("values", float)
        if not thickness:
            raise InputError(f"{lt.key('thickness')} must list at least one layer")
        if len(values) != len(thickness):
            raise InputError(
                f"{lt.key('values')} must have one entry per layer ({len(thickness)}, as in thickness), "
                f"got {len(values)}"
            )
        for i, h in enumerate(thickness):
            check_number(h, f"{lt.key('thickness')}[{i}]", unit="µm", positive=True)
        for i, v in enumerate(values):
            check_number(v, f"{lt.key('values')}[{i}]", **bounds)
        lt.finish()
        layers = Layers(axis, tuple(thickness), tuple(values))
    # with layers, `value` is not used: they cover the whole domain
    value = t.number("value", MISSING if layers is None else layers.values[0], **bounds)
    regions = []
    for i, item in enumerate(t.raw("regions", [])):
        rt = as_table(item, f"{key}.regions[{i}]")
        v = rt.number("value", **bounds)
        regions.append(RegionValue(parse_region(rt, dim), v))
        rt.finish()
    t.finish()
    return SpatialValue(value, layers, tuple(regions))


def face_entries(bt: Table, dim: int):
    """``(axis, side, name)`` for each face named in a boundary table (``x_min`` …;
    side 0 low, 1 high); a name that is not a face of the domain is an error."""
    valid = [f"{AXES[a]}_{side}" for a in range(dim) for side in ("min", "max")]
    for name in bt.data:
        if name not in valid:
            raise InputError(f"{bt.key(name)} is not a face of a {dim}D domain "
                             f"(faces: {', '.join(valid)}){suggest(name, valid)}")
        yield AXES.index(name[0]), 0 if name.endswith("min") else 1, name


def parse_domain(t: Table) -> Domain:
    size = t.list_of("size", float)
    if not 1 <= len(size) <= 3:
        raise InputError(f"{t.key('size')} must have 1, 2 or 3 entries (one per axis, µm), got {len(size)}")
    dim = len(size)
    for a, s in enumerate(size):
        check_number(s, f"{t.key('size')}[{a}]", unit="µm", positive=True)
    cells = t.list_of("cells", int, length=dim)
    for a, n in enumerate(cells):
        if n < 1:
            raise InputError(f"{t.key('cells')}[{a}] must be ≥ 1 (got {n})")
    periodic_names = t.list_of("periodic", str, [])
    periodic = [False] * dim
    for name in periodic_names:
        periodic[axis_index(name, t.key("periodic"), dim)] = True
    t.finish()
    return Domain(tuple(size), tuple(cells), tuple(periodic))
