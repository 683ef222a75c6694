"""The ``[agents]`` part of a run config: placement, motility, division, death
and boundaries, validated into frozen dataclasses (no MPI here).

Units: µm, min, 1/min; molecule counts are per cell. Every key is listed in
``docs/config.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .bodies import Body, parse_body
from .network import Modulation, Network, parse_modulated_value
from .reader import Table, as_table, check_count, check_key_name, check_number
from .space import Region, face_entries, optional_region

MOTILITY_TYPES = ("none", "brownian", "persistent")
METHODS = ("exact", "tau-leaping", "hybrid")  # how the networks are advanced
BOUNDARY_TYPES = ("reflecting", "absorbing", "periodic")


@dataclass(frozen=True)
class Placement:
    """Initial agents: ``kind`` is ``"uniform"`` (``count`` agents uniformly at
    random in ``region``), ``"lattice"`` (one agent per lattice site of
    ``spacing`` µm in ``region``) or ``"file"`` (positions, and optionally counts
    per species, from a CSV or HDF5 ``file``). ``region`` None is the whole domain.
    ``counts`` overrides the network's initial counts (species → molecules)."""

    kind: str
    count: int = 0
    region: Region | None = None
    spacing: tuple[float, ...] = ()
    file: str = ""
    counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Motility:
    """``kind`` none | brownian (``diffusivity`` µm²/min) | persistent (``speed``
    µm/min, direction kept for ``persistence`` min on average). The modulation,
    if any, multiplies diffusivity or speed by a function of a species count."""

    kind: str = "none"
    diffusivity: float = 0.0
    speed: float = 0.0
    persistence: float = 1.0
    modulation: Modulation | None = None


@dataclass(frozen=True)
class Threshold:
    """Condition on a species count: ``count ≥ value`` (``above``) or ``≤ value``."""

    species: str
    value: float
    above: bool = True


@dataclass(frozen=True)
class Fate:
    """A division or death process: an event ``rate`` (1/min, optionally modulated
    by a species), and/or a ``threshold`` that triggers it deterministically;
    only cells at least ``min_age`` min old take part, and, with ``pressure``
    (cells with a body), only while their simple pressure is above or below a value."""

    rate: float = 0.0
    modulation: Modulation | None = None
    threshold: Threshold | None = None
    min_age: float = 0.0
    pressure: Threshold | None = None  # species "pressure": the gate on the cell's simple pressure

    @property
    def active(self) -> bool:
        return self.rate > 0 or self.threshold is not None


@dataclass(frozen=True)
class CellUptake:
    """First-order uptake of a field by every cell: a cell clears ``rate`` µm³/min
    (times the modulation by a species, if any), i.e. takes up ``rate·c``
    molecules/min from the field around it; with ``into``, the molecules join
    that network species."""

    field: str
    rate: float
    modulation: Modulation | None = None
    into: str | None = None


@dataclass(frozen=True)
class Chemotaxis:
    """Drift up the gradient of ``field``: ``v = χ∇c``, saturating smoothly at
    ``max_speed`` (µm/min) if that is > 0: ``v = χ∇c / (1 + |χ∇c|/max_speed)``.
    χ (``sensitivity``) in µm²/min per concentration unit."""

    field: str
    sensitivity: float
    max_speed: float = 0.0


@dataclass(frozen=True)
class Agents:
    placements: tuple[Placement, ...]
    motility: Motility = Motility()
    division: Fate = Fate()
    death: Fate = Fate()
    # boundary[axis] = (low face, high face), each one of BOUNDARY_TYPES
    boundary: tuple[tuple[str, str], ...] = ()
    diameter: float = 10.0  # µm; daughters are placed one diameter apart
    method: str = "exact"  # "exact" SSA, "tau-leaping" or "hybrid" (partitioned by copy number)
    # tau-leaping and hybrid: bound on a species' relative change per leap. Measured on birth–death
    # at 1000 copies: ε = 0.03 is 67× faster than exact SSA but inflates the stationary Fano factor
    # to 1.27; ε = 0.01 is 7× faster with a Fano factor of 1.01.
    tau_epsilon: float = 0.01
    # hybrid: molecules from which a species' reactions are leaped (relative noise ≈ 7 %)
    hybrid_threshold: int = 200
    uptake: tuple[CellUptake, ...] = ()
    chemotaxis: Chemotaxis | None = None
    body: Body | None = None  # cells with size, growth and contact forces (None: points)

    @property
    def reservoirs(self) -> tuple[CellUptake, ...]:
        """Uptakes that feed a network species (each keeps a per-cell fractional reservoir)."""
        return tuple(u for u in self.uptake if u.into is not None)


def _misses_domain(region: Region, size: tuple[float, ...]) -> bool:
    """Whether ``region`` has no volume inside the domain ``[0, size]`` (µm)."""
    if region.center is not None:
        gap2 = sum(max(0.0, -c, c - L) ** 2 for c, L in zip(region.center, size))
        return gap2 >= region.radius**2
    return any(lo >= L or hi <= 0.0 for lo, hi, L in zip(region.lower, region.upper, size))


def _placement(t: Table, size: tuple[float, ...], network: Network, base_dir) -> Placement:
    dim = len(size)
    kinds = [k for k in ("count", "lattice", "file") if t.has(k)]
    if len(kinds) != 1:
        raise InputError(f"{t.path} needs exactly one of count (uniform random), lattice or file "
                         f"(got {', '.join(kinds) if kinds else 'none'})")
    counts = []
    ct = t.table("counts")
    if ct is not None:
        for name, value in ct.data.items():
            check_key_name(ct.key(name), name, network.species, "species of the network")
            counts.append((name, check_count(value, ct.key(name))))
            ct.used.add(name)
    region = optional_region(t, "region", dim)
    if region is not None and _misses_domain(region, size):
        extent = " × ".join(f"[0, {L:g}]" for L in size)
        raise InputError(f"{t.key('region')} lies outside the domain {extent} µm: no cell can be placed in it")
    if kinds[0] == "count":
        count = t.integer("count", minimum=0)
        t.finish()
        return Placement("uniform", count=count, region=region, counts=tuple(counts))
    if kinds[0] == "lattice":
        lt = t.table("lattice")
        if lt is None:
            raise InputError(f"{t.key('lattice')} must be a table, e.g. {{ spacing = 20.0 }}")
        raw = lt.raw("spacing")
        if isinstance(raw, list):
            spacing = tuple(lt.list_of("spacing", float, length=dim))
        else:
            spacing = (check_number(raw, lt.key("spacing"), unit="µm", positive=True),) * dim
        for a, h in enumerate(spacing):
            check_number(h, f"{lt.key('spacing')}[{a}]", unit="µm", positive=True)
        lt.finish()
        t.finish()
        return Placement("lattice", region=region, spacing=spacing, counts=tuple(counts))
    path = Path(t.string("file"))
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    if path.suffix.lower() not in (".csv", ".h5", ".hdf5"):
        raise InputError(f"{t.key('file')} must be a .csv or .h5/.hdf5 file (got {str(path)!r})")
    if not path.is_file():
        raise InputError(f"{t.key('file')}: {str(path)!r} does not exist")
    if region is not None:
        raise InputError(f"{t.key('region')} cannot be combined with file (positions come from the file)")
    t.finish()
    return Placement("file", file=str(path), counts=tuple(counts))


def _fate(t: Table | None, network: Network, what: str, body: bool) -> Fate:
    if t is None:
        return Fate()
    rate, modulation = 0.0, None
    if t.has("rate"):
        rate, modulation = parse_modulated_value(
            t.raw("rate"), t.key("rate"), value_name="k", unit="1/min", source_key="species",
            sources=network.species, source_kind="network species")
    threshold = None
    tt = t.table("threshold")
    if tt is not None:
        species = tt.name_in("species", network.species, "network species")
        has = [k for k in ("above", "below") if tt.has(k)]
        if len(has) != 1:
            raise InputError(f"{tt.path} needs exactly one of above = N or below = N (molecules)")
        value = tt.number(has[0], minimum=0.0)
        tt.finish()
        threshold = Threshold(species, value, has[0] == "above")
    min_age = t.number("min_age", 0.0, unit="min", minimum=0.0)
    pressure = None
    pt = t.table("pressure")
    if pt is not None:
        if not body:
            raise InputError(f"{pt.path} needs [agents.body]: only cells with a body feel a pressure")
        has = [k for k in ("above", "below") if pt.has(k)]
        if len(has) != 1:
            raise InputError(f"{pt.path} needs exactly one of above = p or below = p (simple pressure)")
        value = pt.number(has[0], minimum=0.0)
        pt.finish()
        pressure = Threshold("pressure", value, has[0] == "above")
    t.finish()
    fate = Fate(rate, modulation, threshold, min_age, pressure)
    if not fate.active:
        raise InputError(f"{t.path} needs a rate (1/min) or a threshold for {what}")
    return fate


def _motility(t: Table | None, network: Network) -> Motility:
    if t is None:
        return Motility()
    kind = t.string("type", choices=MOTILITY_TYPES)
    if kind == "none":
        t.finish()
        return Motility()
    if kind == "brownian":
        D, mod = parse_modulated_value(t.raw("diffusivity"), t.key("diffusivity"), value_name="D",
                                       unit="µm²/min", source_key="species", sources=network.species,
                                       source_kind="network species")
        t.finish()
        return Motility("brownian", diffusivity=D, modulation=mod)
    v, mod = parse_modulated_value(t.raw("speed"), t.key("speed"), value_name="v", unit="µm/min",
                                   source_key="species", sources=network.species, source_kind="network species")
    persistence = t.number("persistence", unit="min", positive=True)
    t.finish()
    return Motility("persistent", speed=v, persistence=persistence, modulation=mod)


def _boundary(t: Table | None, periodic: tuple[bool, ...]) -> tuple[tuple[str, str], ...]:
    dim = len(periodic)
    faces = [["periodic" if p else "reflecting"] * 2 for p in periodic]
    if t is None:
        return tuple((f[0], f[1]) for f in faces)
    for a, side, name in face_entries(t, dim):
        kind = t.string(name, choices=BOUNDARY_TYPES)
        if (kind == "periodic") != periodic[a]:
            field_kind = "periodic" if periodic[a] else "not periodic"
            raise InputError(f"{t.key(name)} = {kind!r} is inconsistent with the fields: axis {name[0]} is "
                             f"{field_kind} (domain.periodic)")
        faces[a][side] = kind
    t.finish()
    return tuple((f[0], f[1]) for f in faces)


def _uptakes(t: Table, network: Network, fields: tuple[str, ...]) -> tuple[CellUptake, ...]:
    out = []
    for ut in t.tables("uptake"):
        field_name = ut.name_in("field", fields, "field species")
        rate, mod = parse_modulated_value(ut.raw("rate"), ut.key("rate"), value_name="k", unit="µm³/min",
                                          source_key="species", sources=network.species,
                                          source_kind="network species")
        into = ut.name_in("into", network.species, "network species") if ut.has("into") else None
        ut.finish()
        out.append(CellUptake(field_name, rate, mod, into))
    return tuple(out)


def _chemotaxis(t: Table | None, fields: tuple[str, ...]) -> Chemotaxis | None:
    if t is None:
        return None
    field_name = t.name_in("field", fields, "field species")
    chi = t.number("sensitivity", unit="µm²/min per concentration")
    vmax = t.number("max_speed", 0.0, unit="µm/min", minimum=0.0)
    t.finish()
    return Chemotaxis(field_name, chi, vmax)


def _body(t: Table, network: Network, fields: tuple[str, ...]) -> Body | None:
    body, contact, necrosis = (t.table(name) for name in ("body", "contact", "necrosis"))
    if body is None:
        for table in (contact, necrosis):
            if table is not None:
                raise InputError(f"{table.path} needs [agents.body]: only cells with a body touch or turn necrotic")
        return None
    return parse_body(body, contact, necrosis, network, fields)


def parse_agents(t: Table, size: tuple[float, ...], periodic: tuple[bool, ...], network: Network | None,
                 base_dir=None, fields: tuple[str, ...] = ()) -> Agents:
    """Validate the ``[agents]`` table in a domain of ``size`` (µm) (``network`` is the
    run's intracellular network, ``fields`` the names of the chemical fields)."""
    if network is None:
        raise InputError("agents need an intracellular network: add [network] (species and reactions) "
                         "or network = \"file.toml\" / \"model.xml\"")
    raw = t.raw("initial")
    items = raw if isinstance(raw, list) else [raw]
    placements = []
    for i, item in enumerate(items):
        key = t.key("initial") + (f"[{i}]" if isinstance(raw, list) else "")
        if not isinstance(item, dict):
            raise InputError(f"{key} must be a table, e.g. {{ count = 1000 }}")
        placements.append(_placement(as_table(item, key), size, network, base_dir))
    body = _body(t, network, fields)
    has_body = body is not None
    if has_body and t.has("diameter"):
        raise InputError(f"{t.key('diameter')} is the size of point cells; cells with [agents.body] take "
                         "agents.body.radius (µm)")
    diameter = t.number("diameter", Agents.diameter, unit="µm", positive=True)
    method = t.string("method", Agents.method, choices=METHODS)
    epsilon = t.number("tau_epsilon", Agents.tau_epsilon, positive=True)
    if not epsilon < 1:
        raise InputError(f"{t.key('tau_epsilon')} must be < 1 (got {epsilon:g}); typical values are 0.01–0.03")
    threshold = t.integer("hybrid_threshold", Agents.hybrid_threshold, minimum=1)
    if t.has("hybrid_threshold") and method != "hybrid":
        raise InputError(f"{t.key('hybrid_threshold')} only applies with method = 'hybrid' (method is {method!r})")
    agents = Agents(
        placements=tuple(placements),
        motility=_motility(t.table("motility"), network),
        division=_fate(t.table("division"), network, "division", has_body),
        death=_fate(t.table("death"), network, "death", has_body),
        boundary=_boundary(t.table("boundary"), periodic),
        diameter=diameter,
        method=method,
        tau_epsilon=epsilon,
        hybrid_threshold=threshold,
        uptake=_uptakes(t, network, fields),
        body=body,
        chemotaxis=_chemotaxis(t.table("chemotaxis"), fields),
    )
    t.finish()
    return agents
