"""The chemical fields of a run config (``[species.NAME]``): diffusion, decay,
initial values, sources, saturable uptake and boundary conditions.

Units: µm, min; D in µm²/min, decay in 1/min; concentrations in molecules per
µm^dim (or nM, as declared in ``units.concentration``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError
from .reader import MISSING, Table, as_table, check_number, describe, fmt
from .space import AXES, Domain, Region, SpatialValue, face_entries, optional_region, parse_spatial

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Face:
    """Boundary condition on one face of the domain.

    ``kind`` is ``"neumann"`` (``value`` = inward flux, concentration·µm/min; 0 is
    a closed wall) or ``"dirichlet"`` (``value`` = concentration on the face).
    """

    kind: str = "neumann"
    value: float = 0.0


@dataclass(frozen=True)
class Schedule:
    """Piecewise-linear function of time through ``(times[i], values[i])``, held
    constant before the first and after the last point (times in min)."""

    times: tuple[float, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class Source:
    """Production ``rate`` (concentration/min) inside ``region`` (whole domain if
    ``None``); ``rate`` is a number or a :class:`Schedule`."""

    rate: float | Schedule
    region: Region | None = None


@dataclass(frozen=True)
class SaturableUptake:
    """Michaelis–Menten uptake ``−vmax·c/(km + c)``: vmax in concentration/min, km in
    concentration."""

    vmax: float
    km: float


@dataclass(frozen=True)
class Species:
    """One chemical field."""

    name: str
    D: SpatialValue  # µm²/min
    decay: SpatialValue  # 1/min
    initial: SpatialValue  # concentration
    sources: tuple[Source, ...] = ()
    uptake: SaturableUptake | None = None
    # boundary[axis][side], side 0 = low face, 1 = high face
    boundary: tuple[tuple[Face, Face], ...] = ()
    # a diagonal diffusion tensor: D along axis a is D·axis_factors[a] (empty: isotropic)
    axis_factors: tuple[float, ...] = ()

    def diffusivities(self) -> tuple[float, ...]:
        """Every diffusivity the field has, along any axis (µm²/min)."""
        factors = self.axis_factors or (1.0,)
        return tuple(v * f for v in self.D.all_values() for f in factors)


def _parse_face(value, key: str) -> Face:
    t = as_table(value, key)
    kind = t.string("type", choices=("neumann", "dirichlet"))
    if kind == "dirichlet":
        v = t.number("value", unit="concentration", minimum=0.0)
    else:
        v = t.number("value", Face.value, unit="concentration·µm/min")
    t.finish()
    return Face(kind, v)


def _parse_source(st: Table, dim: int) -> Source:
    rate_raw = st.raw("rate")
    if isinstance(rate_raw, dict):
        sched = Table(rate_raw, st.key("rate"))
        times = sched.list_of("t", float)
        values = sched.list_of("value", float)
        if not times or len(times) != len(values):
            raise InputError(f"{st.key('rate')} needs lists t and value of the same, non-zero length")
        if any(b <= a for a, b in zip(times, times[1:])):
            raise InputError(f"{sched.key('t')} must be strictly increasing (min)")
        sched.finish()
        rate: float | Schedule = Schedule(tuple(times), tuple(values))
    else:
        rate = check_number(rate_raw, st.key("rate"), unit="concentration/min")
    region = optional_region(st, "region", dim)
    st.finish()
    return Source(rate, region)


def parse_species(name: str, t: Table, domain: Domain) -> Species:
    """Validate ``[species.<name>]`` on ``domain``."""
    dim = domain.dim
    if not _NAME.match(name):
        raise InputError(
            f"{t.path} is not a valid species name: use letters, digits and '_', starting with a letter"
        )
    axis_factors: tuple[float, ...] = ()
    raw_D = t.raw("D")
    if isinstance(raw_D, dict) and "tensor" in raw_D:
        D, axis_factors = _parse_tensor(Table(raw_D, t.key("D")), dim)
    else:
        D = parse_spatial(t, "D", MISSING, dim, unit="µm²/min", positive=True)
    decay = parse_spatial(t, "decay", 0.0, dim, unit="1/min", positive=False)
    initial = parse_spatial(t, "initial", 0.0, dim, unit="concentration", positive=False)
    sources = [_parse_source(st, dim) for st in t.tables("sources")]

    uptake = None
    ut = t.table("uptake")
    if ut is not None:
        uptake = SaturableUptake(
            ut.number("vmax", unit="concentration/min", minimum=0.0),
            ut.number("km", unit="concentration", positive=True),
        )
        ut.finish()

    faces = [[Face(), Face()] for _ in range(dim)]
    bt = t.table("boundary")
    if bt is not None:
        for a, side, face_name in face_entries(bt, dim):
            if domain.periodic[a]:
                raise InputError(
                    f"{bt.key(face_name)} cannot be set: axis {AXES[a]} is periodic (domain.periodic)"
                )
            faces[a][side] = _parse_face(bt.raw(face_name), bt.key(face_name))
        bt.finish()
    t.finish()
    return Species(
        name=name,
        D=D,
        decay=decay,
        initial=initial,
        sources=tuple(sources),
        uptake=uptake,
        boundary=tuple((f[0], f[1]) for f in faces),
        axis_factors=axis_factors,
    )


def _parse_tensor(t: Table, dim: int) -> tuple[SpatialValue, tuple[float, ...]]:
    """``{ tensor = [Dxx, Dyy, …] }`` or a symmetric matrix with zero off-diagonals
    (e.g. from ``hybridsim analyze homogenize``): a uniform, diagonal diffusion tensor."""
    raw = t.raw("tensor")
    key = t.key("tensor")
    t.finish()
    if isinstance(raw, list) and raw and all(isinstance(r, list) for r in raw):
        if len(raw) != dim or any(len(r) != dim for r in raw):
            raise InputError(f"{key} must be a {dim}×{dim} matrix or a list of {dim} diagonal entries")
        rows = [[check_number(v, f"{key}[{i}][{j}]", unit="µm²/min") for j, v in enumerate(r)]
                for i, r in enumerate(raw)]
        scale = max(abs(rows[i][i]) for i in range(dim))
        for i in range(dim):
            for j in range(dim):
                if i != j and abs(rows[i][j]) > 1e-9 * scale:
                    raise InputError(f"{key} has off-diagonal entries ({fmt(rows[i][j])} at [{i}][{j}]): only "
                                     "tensors diagonal on the grid axes are supported; align the grid with the "
                                     "principal directions")
        diagonal = [rows[i][i] for i in range(dim)]
    elif isinstance(raw, list):
        if len(raw) != dim:
            raise InputError(f"{key} must list {dim} diagonal entries, one per axis (got {len(raw)})")
        diagonal = [check_number(v, f"{key}[{i}]", unit="µm²/min") for i, v in enumerate(raw)]
    else:
        raise InputError(f"{key} must be a list of {dim} diagonal entries or a {dim}×{dim} matrix "
                         f"(got {describe(raw)})")
    for i, v in enumerate(diagonal):
        if not v > 0:
            raise InputError(f"{key}: entry {i} must be > 0 µm²/min (got {fmt(v)})")
    top = max(diagonal)
    return SpatialValue(top), tuple(v / top for v in diagonal)
