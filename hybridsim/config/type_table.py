"""Reading the keys of one cell type — placement, motility, fates, uptake,
chemotaxis, body, type changes — and what ``[agents]`` shares (boundaries, method)
into the dataclasses of :mod:`.agents`, with one-line errors that name the key.
Standard library only.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .agents import (
    BOUNDARY_TYPES,
    MAX_CHANGES,
    METHODS,
    MOTILITY_TYPES,
    Agents,
    CellType,
    CellUptake,
    Chemotaxis,
    Fate,
    Motility,
    Placement,
    Threshold,
    Transition,
)
from .bodies import Body, parse_body
from .network import Network, parse_modulated_value
from .reader import Table, as_table, check_count, check_key_name, check_number
from .space import Region, face_entries, optional_region


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


TYPE_KEYS = ("initial", "motility", "division", "death", "diameter", "uptake", "chemotaxis", "body", "contact",
             "necrosis", "change", "network")
"""The keys of one cell type (the rest of ``[agents]`` is shared by every type; ``rules``
may be either: a CSV file for every type in ``[agents]``, tables in a type's own)."""


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
