"""Run configuration: TOML text → frozen, validated dataclasses.

Every key, its type, default and unit is listed in ``docs/config.md``. Validation
errors are :class:`~hybridsim.errors.InputError` with one line that names the key
and the problem, e.g. ``species.cytokine.D must be > 0 µm²/min (got -1)``.

Units: length µm, time min, concentration molecules/µm³ (or nM, as declared in
``units.concentration``), diffusion µm²/min, rates 1/min.

This module knows nothing about MPI or PETSc.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .agents.config import Agents, parse_agents
from .agents.network import Network, load_network, parse_network
from .errors import InputError
from .mechanics.config import Mechanics, parse_mechanics
from .toml_reader import MISSING, Table, check_number, describe, fmt, suggest

AXES = ("x", "y", "z")
SCHEMES = ("backward_euler", "crank_nicolson")
SPLITTINGS = ("lie", "strang")
SOLVER_METHODS = ("auto", "jacobi", "multigrid", "hypre")
SEED_LIMIT = 1 << 56  # the Philox key holds a 56-bit seed and an 8-bit stream number
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


# --------------------------------------------------------------------------- model


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

    def contains(self, points):
        """Boolean mask of the rows of ``points`` (shape ``(n, dim)``, µm) inside."""
        import numpy as np

        points = np.asarray(points, dtype=float)
        if self.center is not None:
            d2 = ((points - np.asarray(self.center)) ** 2).sum(axis=1)
            return d2 <= self.radius**2
        return np.all(
            (points >= np.asarray(self.lower)) & (points < np.asarray(self.upper)), axis=1
        )


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

    def __call__(self, t: float) -> float:
        import numpy as np

        return float(np.interp(t, self.times, self.values))


@dataclass(frozen=True)
class Source:
    """Production ``rate`` (concentration/min) inside ``region`` (whole domain if
    ``None``); ``rate`` is a number or a :class:`Schedule`."""

    rate: float | Schedule
    region: Region | None = None

    def rate_at(self, t: float) -> float:
        return self.rate(t) if isinstance(self.rate, Schedule) else float(self.rate)


@dataclass(frozen=True)
class Uptake:
    """Saturable uptake ``−vmax·c/(km + c)``: vmax in concentration/min, km in
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
    uptake: Uptake | None = None
    # boundary[axis][side], side 0 = low face, 1 = high face
    boundary: tuple[tuple[Face, Face], ...] = ()
    # a diagonal diffusion tensor: D along axis a is D·axis_factors[a] (empty: isotropic)
    axis_factors: tuple[float, ...] = ()

    def diffusivities(self) -> tuple[float, ...]:
        """Every diffusivity the field has, along any axis (µm²/min)."""
        factors = self.axis_factors or (1.0,)
        return tuple(v * f for v in self.D.all_values() for f in factors)


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
class Time:
    """Time stepping. ``dt`` is the coupling step (agents advance by it); fields
    advance by ``dt/field_substeps`` per solve (``dt/(2·field_substeps)`` with
    Strang splitting, which puts the agents between two half steps of the fields)."""

    dt: float  # min
    t_end: float  # min
    scheme: str = "backward_euler"
    splitting: str = "lie"
    field_substeps: int = 1

    @property
    def field_dt(self) -> float:
        """Length of one field solve, min."""
        halves = 2 if self.splitting == "strang" else 1
        return self.dt / (halves * self.field_substeps)

    @property
    def n_steps(self) -> int:
        """Number of steps of size ``dt`` that reach ``t_end`` (the last may be
        shortened; see :meth:`step_sizes`)."""
        return max(1, math.ceil(self.t_end / self.dt - 1e-9))


@dataclass(frozen=True)
class Output:
    directory: str = "output"
    interval: float = 0.0  # min; 0 → ten outputs over the run
    fields: tuple[str, ...] = ()  # empty → all species


@dataclass(frozen=True)
class Checkpoint:
    """Checkpoints: every ``interval`` min of simulated time (0: only at the end of
    the run and when stopped by a signal), the newest ``keep`` kept, in
    ``directory`` (empty: ``<output directory>/checkpoints``)."""

    interval: float = 0.0
    keep: int = 3
    directory: str = ""


@dataclass(frozen=True)
class Solver:
    method: str = "auto"
    rtol: float = 1e-8
    atol: float = 1e-50
    max_iterations: int = 10000


@dataclass(frozen=True)
class Config:
    domain: Domain
    time: Time
    species: tuple[Species, ...]
    output: Output = field(default_factory=Output)
    solver: Solver = field(default_factory=Solver)
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    seed: int = 0
    title: str = ""
    concentration_unit: str = "molecules/µm³"
    source_text: str = ""  # the TOML text the config came from (stored in output)
    network: Network | None = None  # intracellular reaction network of the agents
    agents: Agents | None = None
    mechanics: Mechanics | None = None  # tissue elasticity driven by a field

    def species_named(self, name: str) -> Species:
        for s in self.species:
            if s.name == name:
                return s
        raise KeyError(name)


# --------------------------------------------------------------------------- parsers


def _axis_index(name: Any, key: str, dim: int) -> int:
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


def _subtable(value: Any, key: str) -> Table:
    if not isinstance(value, dict):
        raise InputError(f"{key} must be a table (got {describe(value)})")
    return Table(value, key)


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
        axis = _axis_index(lt.raw("axis"), lt.key("axis"), dim)
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
        rt = _subtable(item, f"{key}.regions[{i}]")
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


def _parse_face(value: Any, key: str) -> Face:
    t = _subtable(value, key)
    kind = t.string("type", choices=("neumann", "dirichlet"))
    if kind == "dirichlet":
        v = t.number("value", unit="concentration", minimum=0.0)
    else:
        v = t.number("value", 0.0, unit="concentration·µm/min")
    t.finish()
    return Face(kind, v)


def _parse_species(name: str, t: Table, domain: Domain) -> Species:
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

    sources = []
    raw_sources = t.raw("sources", [])
    if not isinstance(raw_sources, list):
        raise InputError(f"{t.key('sources')} must be a list of tables ([[{t.key('sources')}]])")
    for i, item in enumerate(raw_sources):
        st = _subtable(item, f"{t.key('sources')}[{i}]")
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
        region_t = st.table("region")
        region = None
        if region_t is not None:
            region = parse_region(region_t, dim)
            region_t.finish()
        st.finish()
        sources.append(Source(rate, region))

    uptake = None
    ut = t.table("uptake")
    if ut is not None:
        uptake = Uptake(
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


def _parse_domain(t: Table) -> Domain:
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
        periodic[_axis_index(name, t.key("periodic"), dim)] = True
    t.finish()
    return Domain(tuple(size), tuple(cells), tuple(periodic))


def parse_config(text: str, source: str = "<config>", base_dir: str | Path | None = None) -> Config:
    """Parse and validate TOML ``text``; ``source`` names it in messages and
    relative file names in it (network, agent positions) resolve against ``base_dir``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source} is not valid TOML: {exc}") from None
    top = Table(data, "")
    title = top.string("title", "")
    seed = top.integer("seed", 0, minimum=0)
    if seed >= SEED_LIMIT:
        raise InputError(f"seed must be < 2**56 (got {seed})")
    units = top.table("units")
    domain = _parse_domain(top.table("domain", required=True))
    # amounts per unit length, area or volume: a 2D model's concentrations are per µm²
    unit = ("molecules/µm", "molecules/µm²", "molecules/µm³")[domain.dim - 1]
    if units is not None:
        unit = units.string("concentration", unit, choices=(unit, "nM"))
        units.finish()

    tt = top.table("time", required=True)
    dt = tt.number("dt", unit="min", positive=True)
    t_end = tt.number("t_end", unit="min", positive=True)
    scheme = tt.string("scheme", "backward_euler", choices=SCHEMES)
    splitting = tt.string("splitting", "lie", choices=SPLITTINGS)
    substeps = tt.integer("field_substeps", 1, minimum=1)
    tt.finish()
    time = Time(dt, t_end, scheme, splitting, substeps)

    st = top.table("species")
    species = []
    for name in st.data if st is not None else ():
        species.append(_parse_species(name, _subtable(st.raw(name), st.key(name)), domain))
    field_names = tuple(s.name for s in species)

    network = None
    if top.has("network"):
        raw = top.raw("network")
        if isinstance(raw, str):
            network = load_network(raw, base_dir=base_dir, fields=field_names)
        else:
            network = parse_network(raw, "network", fields=field_names, source=source)
    agents = None
    at = top.table("agents")
    if at is not None:
        agents = parse_agents(at, domain.dim, domain.periodic, network, base_dir, field_names)
    elif network is not None:
        raise InputError("network is defined but [agents] is missing: no cell would carry it")
    if not species and agents is None:
        raise InputError("the config defines neither fields ([species.NAME]) nor cells ([agents])")

    mechanics = None
    mt = top.table("mechanics")
    if mt is not None:
        mechanics = parse_mechanics(mt, domain, field_names)

    output = Output()
    ot = top.table("output")
    if ot is not None:
        names = [s.name for s in species]
        fields = tuple(ot.list_of("fields", str, []))
        for f in fields:
            if f not in names:
                raise InputError(
                    f"{ot.key('fields')} names {f!r}, which is not a species{suggest(f, names)}"
                )
        output = Output(
            directory=ot.string("directory", "output"),
            interval=ot.number("interval", 0.0, unit="min", minimum=0.0),
            fields=fields,
        )
        ot.finish()

    checkpoint = Checkpoint()
    ct = top.table("checkpoint")
    if ct is not None:
        checkpoint = Checkpoint(
            interval=ct.number("interval", 0.0, unit="min", minimum=0.0),
            keep=ct.integer("keep", 3, minimum=1),
            directory=ct.string("directory", ""),
        )
        ct.finish()

    solver = Solver()
    sv = top.table("solver")
    if sv is not None:
        solver = Solver(
            method=sv.string("method", "auto", choices=SOLVER_METHODS),
            rtol=sv.number("rtol", 1e-8, positive=True),
            atol=sv.number("atol", 1e-50, positive=True),
            max_iterations=sv.integer("max_iterations", 10000, minimum=1),
        )
        sv.finish()
    top.finish()
    return Config(
        domain=domain,
        time=time,
        species=tuple(species),
        output=output,
        solver=solver,
        checkpoint=checkpoint,
        seed=seed,
        title=title,
        concentration_unit=unit,
        source_text=text,
        network=network,
        agents=agents,
        mechanics=mechanics,
    )


def read_config_text(path: str | Path) -> str:
    """Read a config file, turning file-system problems into :class:`InputError`."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"config file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"config file {str(path)!r} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"config file {str(path)!r} cannot be read: {exc}") from None


def load_config(path: str | Path) -> Config:
    """Read and validate the TOML config at ``path`` (serial; see
    :func:`hybridsim.parallel.collective.load_config` under MPI)."""
    return parse_config(read_config_text(path), str(path), Path(path).parent)
