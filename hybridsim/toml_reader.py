"""Reading TOML tables with one-line errors that name the key.

:class:`Table` remembers which keys were read so that :meth:`Table.finish` can
reject unknown keys with the closest valid name ("did you mean …?").
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from .errors import InputError

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

    def finish(self) -> None:
        """Reject keys that were never read."""
        for name in self.data:
            if name not in self.used:
                hint = suggest(name, sorted(self.used))
                where = f"in [{self.path}]" if self.path else "at the top level"
                raise InputError(f"{self.key(name)} is not a known key {where}{hint}")


def suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_number(value: Any, key: str, *, unit: str = "", minimum=None, positive=False) -> float:
    """Validate that ``value`` is a finite number within bounds; return it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{key} must be a number{' in ' + unit if unit else ''} (got {describe(value)})")
    value = float(value)
    suffix = f" {unit}" if unit else ""
    if math.isnan(value) or (math.isinf(value) and (positive or minimum is not None) and value < 0):
        raise InputError(f"{key} must be a finite number (got {fmt(value)})")
    if positive and not value > 0:
        raise InputError(f"{key} must be > 0{suffix} (got {fmt(value)})")
    if minimum is not None and value < minimum:
        raise InputError(f"{key} must be ≥ {fmt(minimum)}{suffix} (got {fmt(value)})")
    return value
