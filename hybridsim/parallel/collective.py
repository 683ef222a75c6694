"""Collective error handling: a bad input found on one rank stops every rank
with the same message, instead of leaving the others waiting in a collective
call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..config import Config, parse_config, read_config_text
from ..errors import HybridsimError

T = TypeVar("T")


def agree(comm, func: Callable[..., T], *args, **kwargs) -> T:
    """Call ``func`` on every rank of ``comm`` (collective).

    If it raises a :class:`HybridsimError` on any rank, every rank raises the
    error of the lowest such rank; otherwise every rank gets its own result.
    """
    try:
        result, error = func(*args, **kwargs), None
    except HybridsimError as exc:
        result, error = None, exc
    errors = comm.allgather(None if error is None else (type(error), str(error)))
    for item in errors:
        if item is not None:
            kind, message = item
            raise kind(message)
    return result


def load_config(path, comm) -> Config:
    """Read the config on rank 0 only (one file-system access per run, not per
    rank), share the text, and validate it on every rank (collective)."""
    text = agree(comm, lambda: read_config_text(path) if comm.rank == 0 else None)
    text = comm.bcast(text, root=0)
    return agree(comm, parse_config, text, str(path), Path(path).parent)
