"""The cells of a run, validated into one :class:`~hybridsim.config.agents.Agents`:
a single type written in ``[agents]`` (:func:`parse_agents`), or several types in
``[cell_types.NAME]`` tables (:func:`parse_cell_types`), with what the types share in
``[agents]`` (boundaries, the SSA method, the contact model and ``[agents.adhesion]``).

Each type's table takes the keys of a single-type ``[agents]`` table that describe
cells (:data:`~hybridsim.config.agents.TYPE_KEYS`), plus its own ``network`` (a
file name or an inline table; without one the type carries the top-level
``[network]``). With bodies every type has one; the contact model, drag and substep
are shared, the strengths (``repulsion``, ``adhesion``; ``stiffness`` for springs)
are the type's. Between two types the repulsion is the geometric mean of theirs
(PhysiCell's ``sqrt(r_i r_j)``); the adhesion is the geometric mean of their own
adhesions unless ``[agents.adhesion]`` gives the pair's value — µm/min with the
potential, a factor on the attraction with springs (Chaste's differential adhesion)::

    [agents.adhesion]
    light = { light = 0.8, dark = 0.1 }
    dark = { dark = 0.4 }

Units as in :mod:`.agents`. Standard library only.
"""

from __future__ import annotations

import math
import re

from ..errors import InputError
from .agents import Agents
from .bodies import Contact, check_substep, parse_contact
from .network import Network, parse_network
from .network_file import load_network
from .phenotype import attach_rules, file_rule_entries, rule_entries, type_signals
from .reader import Table, as_table, check_key_name
from .type_table import TYPE_KEYS, _boundary, parse_cell_type, parse_method

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _network(t: Table, default: Network | None, base_dir, fields: tuple[str, ...]) -> Network:
    if not t.has("network"):
        if default is None:
            raise InputError(f"{t.path} needs a network: {t.key('network')} = \"file.toml\" / \"model.xml\", an "
                             "inline table with species and reactions, or a top-level [network] for every type")
        return default
    raw = t.raw("network")
    if isinstance(raw, str):
        return load_network(raw, base_dir=base_dir, fields=fields)
    return parse_network(raw, t.key("network"), fields=fields, source=t.key("network"))


def _adhesion(t: Table | None, types, contact: Contact) -> tuple[tuple[float, ...], ...]:
    names = tuple(c.name for c in types)
    if contact.model == "potential":
        own = [c.body.contact.adhesion for c in types]
        matrix = [[math.sqrt(a * b) for b in own] for a in own]
    else:
        matrix = [[1.0] * len(names) for _ in names]
    if t is None:
        return tuple(map(tuple, matrix))
    given: dict[tuple[str, str], tuple[float, str]] = {}
    unit = "µm/min" if contact.model == "potential" else "(factor on the spring's attraction)"
    for a in t.data:
        check_key_name(t.key(a), a, names, "cell type")
        row = as_table(t.raw(a), t.key(a))
        for b in row.data:
            check_key_name(row.key(b), b, names, "cell type")
            given[(a, b)] = (row.number(b, unit=unit, minimum=0.0), row.key(b))
        row.finish()
    for (a, b), (value, key) in given.items():
        other = given.get((b, a))
        if other is not None and other[0] != value:
            raise InputError(f"{key} = {value:g} but {other[1]} = {other[0]:g}: the adhesion between two types must "
                             "be symmetric (the two cells pull on each other equally); give the pair once")
        i, j = names.index(a), names.index(b)
        matrix[i][j] = matrix[j][i] = value
    t.finish()
    return tuple(map(tuple, matrix))


def _check_pairs(types, contact: Contact, key: str) -> None:
    """The explicit substep must resolve the stiffest pair of types."""
    for a in types:
        for b in types:
            ca, cb = a.body.contact, b.body.contact
            if contact.model == "potential":
                rate = 2.0 * math.sqrt(ca.repulsion * cb.repulsion) / (a.body.radius + b.body.radius) / contact.drag
            else:
                rate = math.sqrt(ca.stiffness * cb.stiffness) / contact.drag
            check_substep(contact, min(a.body.radius, b.body.radius), key, rate)


def parse_cell_types(ct: Table, at: Table | None, size: tuple[float, ...], periodic: tuple[bool, ...],
                     network: Network | None, base_dir=None, fields: tuple[str, ...] = ()) -> Agents:
    """Validate ``[cell_types]`` (``ct``) with the shared ``[agents]`` table (``at``,
    may be None); ``network`` is the top-level network (None if there is none)."""
    names = tuple(ct.data)
    if not names:
        raise InputError(f"{ct.path} must declare at least one cell type, e.g. [cell_types.tumour]")
    for name in names:
        if not _NAME.match(name):
            raise InputError(f"{ct.key(name)}: {name!r} is not a valid cell type name (letters, digits, '_')")
        ct.used.add(name)
    at = at if at is not None else Table({}, "agents")
    for key in TYPE_KEYS:
        if at.has(key) and key != "contact":  # [agents.contact] holds what every type shares
            raise InputError(f"{at.key(key)} belongs to a cell type when [cell_types] are declared: set "
                             f"cell_types.{names[0]}.{key} (and the other types' own)")
    shared_table = at.table("contact")
    shared = parse_contact(shared_table)
    tables = {name: as_table(ct.raw(name), ct.key(name)) for name in names}
    with_body = [name for name, t in tables.items() if t.has("body")]
    if with_body and len(with_body) != len(names):
        lacking = next(name for name in names if name not in with_body)
        raise InputError(f"cell_types.{lacking} has no body but cell_types.{with_body[0]} has one: in a run with "
                         f"bodies every type needs its own [cell_types.{lacking}.body]")
    if shared_table is not None and not with_body:
        raise InputError(f"{shared_table.path} needs bodies ([cell_types.NAME.body]): only cells with a body touch")
    types = []
    for name, t in tables.items():
        net = _network(t, network, base_dir, fields)
        types.append(parse_cell_type(t, name, size, net, base_dir, fields, names, shared if with_body else None))
    signals = type_signals(types)
    if at.has("rules") and not isinstance(at.raw("rules"), str):
        raise InputError(f"{at.key('rules')} must be a rules CSV file when [cell_types] are declared (each row names "
                         "its type); rules as tables go in [[cell_types.NAME.rules]]")
    entries = file_rule_entries(at, signals, fields, base_dir)
    for cell, t in zip(types, tables.values()):
        entries += rule_entries(t, cell, signals, fields)
        t.finish()
    types = attach_rules(tuple(types), entries)
    adhesion = ()
    adhesion_table = at.table("adhesion")
    if with_body:
        _check_pairs(types, shared, shared_table.key("dt") if shared_table is not None else "agents.contact.dt")
        adhesion = _adhesion(adhesion_table, types, shared)
    elif adhesion_table is not None:
        raise InputError(f"{adhesion_table.path} needs bodies ([cell_types.NAME.body]): only cells with a body adhere")
    agents = Agents(types=types, boundary=_boundary(at.table("boundary"), periodic), adhesion=adhesion, named=True,
                    **parse_method(at))
    at.finish()
    return agents


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
    signals = type_signals((cell,))
    entries = rule_entries(t, cell, signals, fields) + file_rule_entries(t, signals, fields, base_dir)
    agents = Agents(types=attach_rules((cell,), entries), boundary=_boundary(t.table("boundary"), periodic),
                    **parse_method(t))
    t.finish()
    return agents
