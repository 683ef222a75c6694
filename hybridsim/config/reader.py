"""Reading TOML tables with one-line errors that name the key.

:class:`Table` remembers which keys were read so that :meth:`Table.finish` can
reject unknown keys with the closest valid name ("did you mean …?").

One validation dialect serves every section of a config and every network file:
:func:`check_number` (finite, bounded), :func:`check_count` (a non-negative
integer), :func:`check_boolean`, :func:`check_name` (``KEY names 'x', which is
not a …``) and :func:`check_key_name` (``KEY.x is not a …``). A name that is
close to a valid one gets "did you mean …?"; otherwise the valid names are listed.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from ..errors import InputError

MISSING = object()


def describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


def fmt(x: float) -> str:
    return f"{x:g}"


class Table:
    """Reads one TOML table, remembering which keys were used so that unknown keys
    can be reported with the closest valid name."""

    def __init__(self, data: dict, path: str):
        self.data = data
        self.path = path
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = MISSING) -> Any:
        self.used.add(name)
        if name in self.data:
            return self.data[name]
        if default is MISSING:
            raise InputError(f"{self.key(name)} is required but missing")
        return default

    def number(
        self,
        name: str,
        default: Any = MISSING,
        *,
        unit: str = "",
        minimum: float | None = None,
        positive: bool = False,
    ) -> float:
        value = self.raw(name, default)
        return check_number(value, self.key(name), unit=unit, minimum=minimum, positive=positive)

    def integer(self, name: str, default: Any = MISSING, *, minimum: int | None = None) -> int:
        value = self.raw(name, default)
        key = self.key(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{key} must be an integer (got {describe(value)})")
        if minimum is not None and value < minimum:
            raise InputError(f"{key} must be ≥ {minimum} (got {value})")
        return value

    def boolean(self, name: str, default: Any = MISSING) -> bool:
        return check_boolean(self.raw(name, default), self.key(name))

    def name_in(self, name: str, choices, kind: str, default: Any = MISSING) -> str:
        """A string that must be one of ``choices`` (names of ``kind``, e.g. "field species")."""
        return check_name(self.string(name, default), self.key(name), choices, kind)

    def string(self, name: str, default: Any = MISSING, *, choices=None) -> str:
        value = self.raw(name, default)
        key = self.key(name)
        if not isinstance(value, str):
            raise InputError(f"{key} must be a string (got {describe(value)})")
        if choices is not None and value not in choices:
            options = ", ".join(map(repr, choices))
            raise InputError(f"{key} must be one of {options}{suggest(value, choices)} (got {value!r})")
        return value

    def list_of(self, name: str, kind: type, default: Any = MISSING, *, length: int | None = None) -> list:
        value = self.raw(name, default)
        key = self.key(name)
        kind_name = {float: "numbers", int: "integers", str: "strings"}[kind]
        if not isinstance(value, list):
            raise InputError(f"{key} must be a list of {kind_name} (got {describe(value)})")
        for item in value:
            ok = isinstance(item, kind) and not isinstance(item, bool)
            if kind is float:
                ok = isinstance(item, (int, float)) and not isinstance(item, bool)
            if not ok:
                raise InputError(f"{key} must be a list of {kind_name} (got {describe(item)} in it)")
            if kind is float and not math.isfinite(item):
                raise InputError(f"{key} must be a list of finite numbers (got {fmt(item)} in it)")
        if length is not None and len(value) != length:
            raise InputError(f"{key} must have {length} entries, one per axis (got {len(value)})")
        return [float(v) for v in value] if kind is float else list(value)

    def table(self, name: str, required: bool = False) -> Table | None:
        if not self.has(name):
            if required:
                raise InputError(f"{self.key(name)} is required but missing")
            self.used.add(name)
            return None
        value = self.raw(name)
        if not isinstance(value, dict):
            raise InputError(f"{self.key(name)} must be a table (got {describe(value)})")
        return Table(value, self.key(name))

    def tables(self, name: str) -> list[Table]:
        """An optional list of tables (``[[name]]``), each as a :class:`Table`."""
        raw = self.raw(name, [])
        key = self.key(name)
        if not isinstance(raw, list):
            raise InputError(f"{key} must be a list of tables ([[{key}]])")
        return [as_table(item, f"{key}[{i}]") for i, item in enumerate(raw)]

    def finish(self) -> None:
        """Reject keys that were never read."""
        for name in self.data:
            if name not in self.used:
                hint = suggest(name, sorted(self.used))
                where = f"in [{self.path}]" if self.path else "at the top level"
                raise InputError(f"{self.key(name)} is not a known key {where}{hint}")


def as_table(value: Any, key: str) -> Table:
    """``value`` read as a table at ``key``."""
    if not isinstance(value, dict):
        raise InputError(f"{key} must be a table (got {describe(value)})")
    return Table(value, key)


def suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_number(value: Any, key: str, *, unit: str = "", minimum=None, positive=False) -> float:
    """Validate that ``value`` is a finite number within bounds; return it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{key} must be a number{' in ' + unit if unit else ''} (got {describe(value)})")
    value = float(value)
    suffix = f" {unit}" if unit else ""
    if not math.isfinite(value):
        raise InputError(f"{key} must be a finite number{' in ' + unit if unit else ''} (got {fmt(value)})")
    if positive and not value > 0:
        raise InputError(f"{key} must be > 0{suffix} (got {fmt(value)})")
    if minimum is not None and value < minimum:
        raise InputError(f"{key} must be ≥ {fmt(minimum)}{suffix} (got {fmt(value)})")
    return value


def check_count(value: Any, key: str, what: str = "count") -> int:
    """Validate a non-negative integer (molecules, cells); ``what`` says what it counts."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{key} must be a non-negative integer {what} (got {describe(value)})")
    return value


def check_boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{key} must be true or false (got {describe(value)})")
    return value


def _known(choices) -> str:
    return ", ".join(map(repr, choices)) if choices else "none are defined"


def check_name(name: str, key: str, choices, kind: str) -> str:
    """``name`` (the value at ``key``) must be one of ``choices``, the names of ``kind``."""
    if name not in choices:
        hint = suggest(name, choices) or f" ({_known(choices)})"
        raise InputError(f"{key} names {name!r}, which is not a {kind}{hint}")
    return name


def check_key_name(key: str, name: str, choices, kind: str) -> str:
    """The key ``name`` (spelled in full as ``key``) must be one of ``choices``, the names of ``kind``."""
    if name not in choices:
        hint = suggest(name, choices) or f" ({_known(choices)})"
        raise InputError(f"{key} is not a {kind}{hint}")
    return name
