"""Phenotype rules attached to the cell types they are for: the rows of a rules CSV
and the ``[[cell_types.NAME.rules]]`` tables (:mod:`.rules`) become rules on the
behaviours of each :class:`~hybridsim.config.agents.CellType` — its division or death
rate, speed, uptake, chemotactic sensitivity, growth, or a change of type (created
with a base rate of 0 when the rules are all it has). Standard library only.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import InputError
from .agents import MAX_CHANGES, CellType, Fate, Transition
from .reader import Table
from .rules import RuleEntry, check_saturations, read_rules_csv, rules_of_table


def rule_entries(t: Table, cell: CellType, types: dict, fields: tuple[str, ...]) -> list[RuleEntry]:
    """The rules of the type ``cell`` written in its table ``t`` (``[[...rules]]``)."""
    if not t.has("rules") or isinstance(t.raw("rules"), str):
        return []
    return rules_of_table(t, cell.name, types, fields)


def file_rule_entries(t: Table, types: dict, fields: tuple[str, ...], base_dir) -> list[RuleEntry]:
    """The rules of the CSV file ``rules = "…"`` in ``t`` (``[agents]``), if any."""
    if not t.has("rules") or not isinstance(t.raw("rules"), str):
        return []
    path = Path(t.string("rules"))
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    return read_rules_csv(path, types, fields)


def type_signals(types) -> dict:
    """``name → (network species, has a body)`` of each type, for validating rules."""
    return {c.name: (c.network.species, c.body is not None) for c in types}


def with_rules(cell: CellType, entries: list[RuleEntry]) -> CellType:
    """``cell`` with the rules ``entries`` (its own) attached to the behaviours they change;
    a behaviour the type does not have is refused in one line."""
    if not entries:
        return cell
    changes = list(cell.changes)
    values = {}
    for e in entries:
        kind, argument = e.behaviour
        where = e.rule.where
        if kind in ("division", "death"):
            fate = values.get(kind, getattr(cell, kind))
            values[kind] = replace(fate, rules=fate.rules + (e.rule,))
        elif kind == "migration_speed":
            m = values.get("motility", cell.motility)
            if m.kind != "persistent":
                raise InputError(f"{where}: migration speed is the speed of a persistent walk, and {cell.name} cells "
                                 f"move by {m.kind!r} motility")
            values["motility"] = replace(m, rules=m.rules + (e.rule,))
        elif kind == "growth":
            body = values.get("body", cell.body)
            if body is None:
                raise InputError(f"{where}: growth needs cells with a body ({cell.name} cells have none)")
            values["body"] = replace(body, growth_rules=body.growth_rules + (e.rule,))
        elif kind == "uptake":
            uptake = list(values.get("uptake", cell.uptake))
            hits = [k for k, u in enumerate(uptake) if u.field == argument]
            if not hits:
                raise InputError(f"{where}: {cell.name} cells take up no {argument!r} (add an uptake of it)")
            for k in hits:
                uptake[k] = replace(uptake[k], rules=uptake[k].rules + (e.rule,))
            values["uptake"] = tuple(uptake)
        elif kind == "chemotaxis":
            c = values.get("chemotaxis", cell.chemotaxis)
            if c is None or c.field != argument:
                raise InputError(f"{where}: {cell.name} cells have no chemotaxis to {argument!r}")
            values["chemotaxis"] = replace(c, rules=c.rules + (e.rule,))
        else:  # a change of type
            if argument == cell.name:
                raise InputError(f"{where}: a {cell.name} cell cannot transform to its own type")
            hits = [k for k, c in enumerate(changes) if c.target == argument]
            if not hits:
                changes.append(Transition(argument, Fate()))
                hits = [len(changes) - 1]
            k = hits[0]
            changes[k] = replace(changes[k], when=replace(changes[k].when, rules=changes[k].when.rules + (e.rule,)))
    if len(changes) > MAX_CHANGES:
        raise InputError(f"{entries[0].rule.where}: at most {MAX_CHANGES} type changes per cell type")
    return replace(cell, changes=tuple(changes), **values)


def attach_rules(types: tuple[CellType, ...], entries: list[RuleEntry]) -> tuple[CellType, ...]:
    """Every type with its rules attached (:func:`with_rules`)."""
    check_saturations(entries)
    return tuple(with_rules(c, [e for e in entries if e.type == c.name]) for c in types)
"""The keys of one cell type (the rest of ``[agents]`` is shared by every type)."""


