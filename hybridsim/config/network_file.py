"""A reaction network from a file — TOML (``[network]`` or top-level species and
reactions) or SBML (``.xml``/``.sbml``) — or from a dict in the TOML layout."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import InputError
from .network import Network, parse_network
from .reader import Table
from .sbml import read_sbml


def read_network_file(path: str | Path, *, fields: tuple[str, ...] | None = None) -> Network:
    """A network from a TOML file (``[network]`` table or top-level species/reactions)
    or an SBML file (``.xml``/``.sbml``)."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise InputError(f"network file {str(path)!r} {what}")
    if path.suffix.lower() in (".xml", ".sbml"):
        return read_sbml(path, fields=fields)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"network file {str(path)!r} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"network file {str(path)!r} is not valid TOML (or SBML .xml): {exc}") from None
    if "network" in data and set(data) == {"network"}:
        return parse_network(data["network"], "network", fields=fields, source=str(path))
    return parse_network(Table(data, ""), "", fields=fields, source=str(path))


def load_network(spec: Any, *, base_dir: str | Path | None = None,
                 fields: tuple[str, ...] | None = None) -> Network:
    """A :class:`Network` from a dict in the TOML layout, a path to a TOML or SBML
    file (relative paths resolve against ``base_dir``), or a Network."""
    if isinstance(spec, Network):
        return spec
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        if base_dir is not None and not path.is_absolute():
            path = Path(base_dir) / path
        return read_network_file(path, fields=fields)
    return parse_network(spec, "network", fields=fields)
