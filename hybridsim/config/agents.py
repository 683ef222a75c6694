"""The ``[agents]`` part of a run config: placement, motility, division, death
and boundaries, validated into frozen dataclasses (no MPI here).

A run has one or more *cell types* (:class:`CellType`): everything a cell does
— its network, placement, body, motility, fates, uptake, chemotaxis and type
changes — belongs to its type; :class:`Agents` holds the types and what they
share (boundaries, the SSA method, the contact model and the adhesion between
types). A single-type config writes all of it in ``[agents]``; several types are
declared as ``[cell_types.NAME]`` (:mod:`.cell_types`).

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
    """Condition on a species count (or, with ``field``, on the concentration of
    the field ``species`` sampled at the cell): ``≥ value`` (``above``) or ``≤ value``."""

    species: str
    value: float
    above: bool = True
    field: bool = False


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
    # (type name, rate per touching cell of that type, 1/min): e.g. killing on contact (cells with a body)
    contact: tuple[tuple[str, float], ...] = ()

    @property
    def active(self) -> bool:
        return self.rate > 0 or self.threshold is not None or bool(self.contact)


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
class Transition:
    """A change of type (differentiation, transformation) to the type ``target``, by
    the same rules as a division or death (``when``: a rate, a threshold on a species
    or on a sampled field, a minimum age). Species the two types' networks share keep
    their molecules; the new type's other species start at its network's initial
    counts; the old type's species the new one lacks are set to 0 (``unshared =
    "drop"``) or kept, inert, in the cell (``"keep"``) for a later change back."""

    target: str
    when: Fate
    unshared: str = "drop"


@dataclass(frozen=True)
class CellType:
    """What cells of one type are and do; ``name`` is ``"cell"`` in a single-type config."""

    name: str
    network: Network
    placements: tuple[Placement, ...]
    motility: Motility = Motility()
    division: Fate = Fate()
    death: Fate = Fate()
    diameter: float = 10.0  # µm; daughters are placed one diameter apart (point cells)
    uptake: tuple[CellUptake, ...] = ()
    chemotaxis: Chemotaxis | None = None
    body: Body | None = None  # cells with size, growth and contact forces (None: points)
    changes: tuple[Transition, ...] = ()


@dataclass(frozen=True)
class Agents:
    """The cells of a run: their types and what the types share."""

    types: tuple[CellType, ...]
    # boundary[axis] = (low face, high face), each one of BOUNDARY_TYPES
    boundary: tuple[tuple[str, str], ...] = ()
    method: str = "exact"  # "exact" SSA, "tau-leaping" or "hybrid" (partitioned by copy number)
    # tau-leaping and hybrid: bound on a species' relative change per leap. Measured on birth–death
    # at 1000 copies: ε = 0.03 is 67× faster than exact SSA but inflates the stationary Fano factor
    # to 1.27; ε = 0.01 is 7× faster with a Fano factor of 1.01.
    tau_epsilon: float = 0.01
    # hybrid: molecules from which a species' reactions are leaped (relative noise ≈ 7 %)
    hybrid_threshold: int = 200
    # adhesion[a][b] between cells of types a and b: µm/min (potential) or the factor on the spring's
    # attraction (spring); symmetric. Empty for a single type (its contact.adhesion).
    adhesion: tuple[tuple[float, ...], ...] = ()
    named: bool = False  # declared as [cell_types.NAME]: cells carry a type id in the store and output

    # ---------------------------------------------------------------- the types together

    @property
    def type_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.types)

    def type_index(self, name: str) -> int:
        return self.type_names.index(name)

    @property
    def species(self) -> tuple[str, ...]:
        """Every type's network species, in order of first appearance: the store's count
        columns (a species of the same name is the same molecule in every type)."""
        return tuple(dict.fromkeys(s for t in self.types for s in t.network.species))

    @property
    def placements(self) -> tuple[Placement, ...]:
        return tuple(p for t in self.types for p in t.placements)

    @property
    def uptake(self) -> tuple[CellUptake, ...]:
        """Every type's uptakes (in type order)."""
        return tuple(u for t in self.types for u in t.uptake)

    @property
    def uptakes(self) -> tuple[tuple[int, CellUptake], ...]:
        """``(type index, uptake)`` of every type's uptakes."""
        return tuple((k, u) for k, t in enumerate(self.types) for u in t.uptake)

    @property
    def reservoirs(self) -> tuple[tuple[int, CellUptake], ...]:
        """Uptakes that feed a network species (each keeps a per-cell fractional reservoir)."""
        return tuple((k, u) for k, u in self.uptakes if u.into is not None)

    @property
    def secreted_fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for t in self.types for f in t.network.secreted_fields))

    @property
    def has_bodies(self) -> bool:
        return self.types[0].body is not None  # every type has a body, or none has

    @property
    def persistent(self) -> bool:
        return any(t.motility.kind == "persistent" for t in self.types)

    @property
    def necrosis(self) -> bool:
        return any(t.body is not None and t.body.necrosis is not None for t in self.types)

    @property
    def chemotaxis_fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.chemotaxis.field for t in self.types if t.chemotaxis is not None))

    @property
    def contacts(self) -> bool:
        """Whether cells count their touching neighbours by type (bodies and several types)."""
        return self.has_bodies and len(self.types) > 1

    # ---------------------------------------------------------------- a single type

    @property
    def only(self) -> CellType:
        """The cell type of a single-type run."""
        if len(self.types) != 1:
            raise ValueError("this run has several cell types")
        return self.types[0]

    @property
    def motility(self) -> Motility:
        return self.only.motility

    @property
    def division(self) -> Fate:
        return self.only.division

    @property
    def death(self) -> Fate:
        return self.only.death

    @property
    def diameter(self) -> float:
        return self.only.diameter

    @property
    def chemotaxis(self) -> Chemotaxis | None:
        return self.only.chemotaxis

    @property
    def body(self) -> Body | None:
        return self.only.body


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


def _body_key(t: Table) -> str:
    """The body table of the cell type a fate table ``t`` belongs to."""
    return t.path.rsplit(".", 1)[0] + ".body"


def _fate(t: Table | None, network: Network, what: str, body: bool, fields: tuple[str, ...] = (),
          types: tuple[str, ...] = ()) -> Fate:
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
        sources = [k for k in ("species", "field") if tt.has(k)]
        if len(sources) != 1:
            raise InputError(f"{tt.path} needs exactly one of species = \"NAME\" (a network species) or "
                             "field = \"NAME\" (a field sampled at the cell)")
        on_field = sources[0] == "field"
        name = (tt.name_in("field", fields, "field species") if on_field
                else tt.name_in("species", network.species, "network species"))
        has = [k for k in ("above", "below") if tt.has(k)]
        if len(has) != 1:
            unit = "concentration" if on_field else "molecules"
            raise InputError(f"{tt.path} needs exactly one of above = N or below = N ({unit})")
        value = tt.number(has[0], minimum=0.0)
        tt.finish()
        threshold = Threshold(name, value, has[0] == "above", on_field)
    min_age = t.number("min_age", 0.0, unit="min", minimum=0.0)
    pressure = None
    pt = t.table("pressure")
    if pt is not None:
        if not body:
            raise InputError(f"{pt.path} needs [{_body_key(t)}]: only cells with a body feel a pressure")
        has = [k for k in ("above", "below") if pt.has(k)]
        if len(has) != 1:
            raise InputError(f"{pt.path} needs exactly one of above = p or below = p (simple pressure)")
        value = pt.number(has[0], minimum=0.0)
        pt.finish()
        pressure = Threshold("pressure", value, has[0] == "above")
    contact = []
    ct = t.table("contact")
    if ct is not None:
        if not body:
            raise InputError(f"{ct.path} needs [{_body_key(t)}]: only cells with a body touch")
        for other in ct.data:
            check_key_name(ct.key(other), other, types, "cell type")
            contact.append((other, ct.number(other, unit="1/min per touching cell", minimum=0.0)))
        ct.finish()
    t.finish()
    fate = Fate(rate, modulation, threshold, min_age, pressure, tuple(contact))
    if not fate.active:
        raise InputError(f"{t.path} needs a rate (1/min), a threshold or a contact rate for {what}")
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


def _body(t: Table, network: Network, fields: tuple[str, ...], shared=None) -> Body | None:
    body, contact, necrosis = (t.table(name) for name in ("body", "contact", "necrosis"))
    if body is None:
        for table in (contact, necrosis):
            if table is not None:
                raise InputError(f"{table.path} needs [{t.key('body')}]: only cells with a body touch or turn "
                                 "necrotic")
        return None
    return parse_body(body, contact, necrosis, network, fields, shared)


def _changes(t: Table, network: Network, fields: tuple[str, ...], types: tuple[str, ...], name: str,
             body: bool) -> tuple[Transition, ...]:
    out = []
    for ct in t.tables("change"):
        target = ct.name_in("to", types, "cell type")
        if target == name:
            raise InputError(f"{ct.key('to')} names the cell's own type {name!r}")
        unshared = ct.string("unshared", Transition.unshared, choices=("drop", "keep"))
        rest = {k: v for k, v in ct.data.items() if k not in ("to", "unshared")}
        when = _fate(Table(rest, ct.path), network, f"the change to {target!r}", body, fields, types)
        ct.used.update(rest)
        ct.finish()
        out.append(Transition(target, when, unshared))
    if len(out) > MAX_CHANGES:
        raise InputError(f"{t.key('change')}: at most {MAX_CHANGES} type changes per cell type (got {len(out)})")
    return tuple(out)


MAX_CHANGES = 32  # each type change rule has its own random stream

TYPE_KEYS = ("initial", "motility", "division", "death", "diameter", "uptake", "chemotaxis", "body", "contact",
             "necrosis", "change", "network")
"""The keys of one cell type (the rest of ``[agents]`` is shared by every type)."""


def parse_cell_type(t: Table, name: str, size: tuple[float, ...], network: Network, base_dir=None,
                    fields: tuple[str, ...] = (), types: tuple[str, ...] = (), shared_contact=None) -> CellType:
    """Validate the per-type keys of ``t`` (:data:`TYPE_KEYS`) into the cell type ``name``
    whose cells carry ``network``; ``types`` are the run's type names. Unknown keys are
    left for the caller's :meth:`Table.finish`."""
    raw = t.raw("initial")
    items = raw if isinstance(raw, list) else [raw]
    placements = []
    for i, item in enumerate(items):
        key = t.key("initial") + (f"[{i}]" if isinstance(raw, list) else "")
        if not isinstance(item, dict):
            raise InputError(f"{key} must be a table, e.g. {{ count = 1000 }}")
        placements.append(_placement(as_table(item, key), size, network, base_dir))
    body = _body(t, network, fields, shared_contact)
    has_body = body is not None
    if has_body and t.has("diameter"):
        raise InputError(f"{t.key('diameter')} is the size of point cells; cells with a body take "
                         f"{t.key('body.radius')} (µm)")
    return CellType(
        name=name,
        network=network,
        placements=tuple(placements),
        motility=_motility(t.table("motility"), network),
        division=_fate(t.table("division"), network, "division", has_body, fields, types),
        death=_fate(t.table("death"), network, "death", has_body, fields, types),
        diameter=t.number("diameter", CellType.diameter, unit="µm", positive=True),
        uptake=_uptakes(t, network, fields),
        chemotaxis=_chemotaxis(t.table("chemotaxis"), fields),
        body=body,
        changes=_changes(t, network, fields, types, name, has_body),
    )


def parse_method(t: Table) -> dict:
    """The shared ``method``, ``tau_epsilon`` and ``hybrid_threshold`` of ``[agents]``."""
    method = t.string("method", Agents.method, choices=METHODS)
    epsilon = t.number("tau_epsilon", Agents.tau_epsilon, positive=True)
    if not epsilon < 1:
        raise InputError(f"{t.key('tau_epsilon')} must be < 1 (got {epsilon:g}); typical values are 0.01–0.03")
    threshold = t.integer("hybrid_threshold", Agents.hybrid_threshold, minimum=1)
    if t.has("hybrid_threshold") and method != "hybrid":
        raise InputError(f"{t.key('hybrid_threshold')} only applies with method = 'hybrid' (method is {method!r})")
    return dict(method=method, tau_epsilon=epsilon, hybrid_threshold=threshold)


def parse_agents(t: Table, size: tuple[float, ...], periodic: tuple[bool, ...], network: Network | None,
                 base_dir=None, fields: tuple[str, ...] = ()) -> Agents:
    """Validate the ``[agents]`` table of a single-type run in a domain of ``size`` (µm)
    (``network`` is the run's intracellular network, ``fields`` the names of the
    chemical fields)."""
    if network is None:
        raise InputError("agents need an intracellular network: add [network] (species and reactions) "
                         "or network = \"file.toml\" / \"model.xml\"")
    if t.has("network"):
        raise InputError(f"{t.key('network')}: a single-type run's network is the top-level network = … "
                         "(per-type networks go in [cell_types.NAME])")
    cell = parse_cell_type(t, "cell", size, network, base_dir, fields, ("cell",))
    agents = Agents(types=(cell,), boundary=_boundary(t.table("boundary"), periodic), **parse_method(t))
    t.finish()
    return agents
