"""Phenotype rules, "signal → behaviour", in the form of PhysiCell's rules CSV
(Johnson et al. 2023; ``core/PhysiCell_rules.cpp``), validated with one-line errors.

A rule says that a *signal* the cell senses *increases* or *decreases* one of its
*behaviours* with a Hill response. Rows of a CSV file (``[agents] rules = "rules.csv"``)
or ``[[cell_types.NAME.rules]]`` tables, with the columns, in this order::

    type, signal, direction, behaviour, saturation, half_max, hill[, applies_to_dead]

``direction`` is ``increases`` or ``decreases``; ``saturation`` is the behaviour's value
when the signal is far above ``half_max`` (in the behaviour's unit), ``half_max`` is in
the signal's unit and ``hill`` is the Hill power. PhysiCell's version-3 files (eight
columns, no header) read unchanged; a header row is allowed. As in PhysiCell, with the
type's configured value ``b₀``, the increasing rules of a behaviour give
``U = Σ (s/h)ⁿ / (1 + Σ (s/h)ⁿ)`` and the value ``b₀ + (b_max − b₀)·U``; then the
decreasing ones give ``D`` likewise and the value ``b + (b_min − b)·D``. All increasing
rules of a behaviour share one saturation ``b_max`` (and the decreasing ones one
``b_min``); differing values are refused.

Signals: a species of the type's network (molecules), a field (its concentration at
the cell), ``pressure`` and ``volume`` (cells with a body), ``contact with TYPE`` (the
touching cells of a type; bodies). Behaviours (with the keys they change):
``cycle entry`` or ``division`` (the division rate, 1/min), ``apoptosis`` or ``death``
(the death rate, 1/min), ``migration speed`` (a persistent walk's speed, µm/min),
``FIELD uptake`` (µm³/min), ``chemotactic response to FIELD`` (the sensitivity),
``transform to TYPE`` (the rate of a change of type, 1/min) and ``growth`` (µm³/min).
Other PhysiCell signals and behaviours are refused by name. ``applies_to_dead`` 1 lets
a rule act on necrotic cells (0, the default: their signal counts as 0).

Standard library only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .reader import Table, check_number, suggest

DIRECTIONS = ("increases", "decreases")
COLUMNS = ("type", "signal", "direction", "behaviour", "saturation", "half_max", "hill", "applies_to_dead")
BEHAVIOURS = ("cycle entry", "division", "apoptosis", "death", "migration speed", "FIELD uptake",
              "chemotactic response to FIELD", "transform to TYPE", "growth")


@dataclass(frozen=True)
class Rule:
    """One rule: ``kind`` is ``species``, ``field``, ``pressure``, ``volume`` or ``contact``,
    ``source`` the species, field or type it reads (empty for pressure and volume)."""

    kind: str
    source: str
    up: bool
    saturation: float
    half_max: float
    hill: float
    applies_to_dead: bool = False
    where: str = field(default="", compare=False)  # file:line or key, for messages

    def describe(self) -> str:
        signal = {"contact": f"contact with {self.source}", "pressure": "pressure", "volume": "volume"}.get(
            self.kind, self.source)
        return (f"{signal} {'increases' if self.up else 'decreases'} it towards {self.saturation:g} "
                f"(half-max {self.half_max:g}, Hill {self.hill:g})")


@dataclass(frozen=True)
class RuleEntry:
    """A validated row: the type it is for, the behaviour (``(kind, argument)``) and the rule."""

    type: str
    behaviour: tuple[str, str]
    rule: Rule


def _behaviour(text: str, where: str, fields, types) -> tuple[str, str]:
    name = " ".join(text.split())
    if name in ("cycle entry", "division"):
        return ("division", "")
    if name in ("apoptosis", "death"):
        return ("death", "")
    if name in ("migration speed", "growth"):
        return (name.replace(" ", "_"), "")
    if name.endswith(" uptake") and name[: -len(" uptake")] in fields:
        return ("uptake", name[: -len(" uptake")])
    if name.startswith("chemotactic response to ") and name[len("chemotactic response to "):] in fields:
        return ("chemotaxis", name[len("chemotactic response to "):])
    if name.startswith("transform to "):
        target = name[len("transform to "):]
        if target not in types:
            raise InputError(f"{where}: behaviour {text!r} names the type {target!r}, which is not a cell type "
                             f"(types: {', '.join(types)})")
        return ("change", target)
    raise InputError(f"{where}: behaviour {text!r} is not one hybridsim has; supported: "
                     + ", ".join(BEHAVIOURS) + f"{suggest(name, _known_behaviours(fields, types))}")


def _known_behaviours(fields, types) -> list[str]:
    return (["cycle entry", "division", "apoptosis", "death", "migration speed", "growth"]
            + [f"{f} uptake" for f in fields] + [f"chemotactic response to {f}" for f in fields]
            + [f"transform to {t}" for t in types])


def _signal(text: str, where: str, species, fields, types, body: bool) -> tuple[str, str]:
    name = " ".join(text.split())
    if name in species:
        return ("species", name)
    if name in fields:
        return ("field", name)
    if name in ("pressure", "volume"):
        if not body:
            raise InputError(f"{where}: signal {text!r} needs cells with a body")
        return (name, "")
    if name.startswith("contact with "):
        other = name[len("contact with "):]
        if other not in types:
            raise InputError(f"{where}: signal {text!r} names {other!r}, which is not a cell type "
                             f"(types: {', '.join(types)})")
        if not body:
            raise InputError(f"{where}: signal {text!r} needs cells with a body (only they touch)")
        return ("contact", other)
    known = list(species) + list(fields) + (["pressure", "volume"] if body else []) + \
        ([f"contact with {t}" for t in types] if body else [])
    raise InputError(f"{where}: signal {text!r} is neither a species of the type's network, nor a field, nor one "
                     f"of pressure, volume, 'contact with TYPE'{suggest(name, known)}")


def parse_rule(values: dict, where: str, types: dict, fields: tuple[str, ...]) -> RuleEntry:
    """Validate one rule given as ``column → text or number`` (:data:`COLUMNS`);
    ``types`` maps each type name to ``(its network species, whether it has a body)``."""
    for column in COLUMNS[:7]:
        if column not in values or str(values[column]).strip() == "":
            raise InputError(f"{where}: the rule has no {column} (columns: {', '.join(COLUMNS)})")
    kind = str(values["type"]).strip()
    if kind not in types:
        raise InputError(f"{where}: type {kind!r} is not a cell type (types: {', '.join(types)})"
                         f"{suggest(kind, list(types))}")
    species, body = types[kind]
    signal = _signal(str(values["signal"]), where, species, fields, tuple(types), body)
    direction = str(values["direction"]).strip()
    if direction not in DIRECTIONS:
        raise InputError(f"{where}: direction must be 'increases' or 'decreases' (got {direction!r})")
    behaviour = _behaviour(str(values["behaviour"]), where, fields, tuple(types))

    def number(column: str, positive: bool = False) -> float:
        raw = values[column]
        if isinstance(raw, str):
            try:
                raw = float(raw)
            except ValueError:
                raise InputError(f"{where}: {column} must be a number (got {values[column]!r})") from None
        return check_number(raw, f"{where}: {column}", minimum=0.0, positive=positive)

    dead = values.get("applies_to_dead", 0)
    dead = str(dead).strip().lower() in ("1", "1.0", "true")
    rule = Rule(signal[0], signal[1], direction == "increases", number("saturation"), number("half_max", True),
                number("hill", True), dead, where)
    return RuleEntry(kind, behaviour, rule)


def read_rules_csv(path: str | Path, types: dict, fields: tuple[str, ...]) -> list[RuleEntry]:
    """Every rule of a rules CSV (hybridsim's columns, or PhysiCell's version-3 file)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"rules file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"rules file {str(path)!r} cannot be read: {exc}") from None
    out = []
    for number, row in enumerate(csv.reader(lines), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        where = f"{path.name}:{number}"
        if number == 1 and cells[0].lower().replace(" ", "_") in ("type", "cell_type"):
            continue  # a header
        if len(cells) not in (7, 8):
            raise InputError(f"{where}: a rule has 7 or 8 columns ({', '.join(COLUMNS)}); got {len(cells)}")
        out.append(parse_rule(dict(zip(COLUMNS, cells)), where, types, fields))
    return out


def rules_of_table(t: Table, type_name: str, types: dict, fields: tuple[str, ...]) -> list[RuleEntry]:
    """The ``[[cell_types.NAME.rules]]`` tables of one type (no ``type`` key: it is theirs)."""
    out = []
    for rt in t.tables("rules"):
        values = {"type": type_name}
        for column in COLUMNS[1:]:
            if rt.has(column):
                values[column] = rt.raw(column)
        rt.finish()
        out.append(parse_rule(values, rt.path, types, fields))
    return out


def check_saturations(entries: list[RuleEntry]) -> None:
    """All increasing (decreasing) rules of one behaviour of one type share their saturation."""
    seen: dict = {}
    for e in entries:
        key = (e.type, e.behaviour, e.rule.up)
        if key in seen and seen[key].saturation != e.rule.saturation:
            first = seen[key]
            raise InputError(f"{e.rule.where}: saturation {e.rule.saturation:g} differs from "
                             f"{first.saturation:g} at {first.where}: the rules that "
                             f"{'increase' if e.rule.up else 'decrease'} one behaviour share one saturation")
        seen.setdefault(key, e.rule)
