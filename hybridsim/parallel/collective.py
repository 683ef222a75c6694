"""Collective helpers: errors agreed on by every rank, work done on rank 0 and
shared, offsets of the ranks' rows in a global array, and moments across ranks.

A bad input found on one rank stops every rank with the same message, instead
of leaving the others waiting in a collective call (:func:`agree`,
:func:`on_root`). Every function here is collective: every rank of ``comm``
must call it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..config import Config, parse_config, read_config_text
from ..errors import HybridsimError

T = TypeVar("T")


def _raise_first(errors) -> None:
    for item in errors:
        if item is not None:
            kind, message = item
            raise kind(message)


def agree(comm, func: Callable[..., T], *args, **kwargs) -> T:
    """Call ``func`` on every rank of ``comm``.

    If it raises a :class:`HybridsimError` on any rank, every rank raises the
    error of the lowest such rank; otherwise every rank gets its own result.
    """
    try:
        result, error = func(*args, **kwargs), None
    except HybridsimError as exc:
        result, error = None, exc
    _raise_first(comm.allgather(None if error is None else (type(error), str(error))))
    return result


def on_root(comm, func: Callable[..., T], *args, **kwargs) -> T:
    """Call ``func`` on rank 0 only and give its result to every rank; a
    :class:`HybridsimError` it raises is raised on every rank."""
    result, error = None, None
    if comm.rank == 0:
        try:
            result = func(*args, **kwargs)
        except HybridsimError as exc:
            error = (type(exc), str(exc))
    result, error = comm.bcast((result, error), root=0)
    _raise_first([error])
    return result


def offsets(comm, n: int) -> tuple[int, int]:
    """``(start, total)``: where this rank's ``n`` rows begin in an array holding
    every rank's rows in rank order, and the length of that array."""
    total = comm.allreduce(n)
    start = comm.exscan(n)  # None on rank 0
    return (start if comm.rank > 0 else 0), total


@dataclass(frozen=True)
class Moments:
    """Mean, variance and Fano factor (variance/mean, NaN where the mean is 0 or
    there are no rows) of each column over ``n`` rows."""

    n: int
    mean: np.ndarray
    variance: np.ndarray

    @property
    def fano(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((self.n > 0) & (self.mean > 0), self.variance / self.mean, np.nan)


def moments(comm, values: np.ndarray, extra=()) -> tuple[Moments, np.ndarray]:
    """Moments of the columns of ``values`` (``(n, k)``) over the rows of every rank
    (``comm`` None: this rank's rows only), from the sums of the values and of their
    squares; ``extra`` numbers are summed over the ranks in the same reduction and
    returned as the second item."""
    x = np.asarray(values, dtype=float)
    extra = np.asarray(extra, dtype=float).ravel()
    local = np.concatenate([[x.shape[0]], extra, x.sum(axis=0), (x**2).sum(axis=0)])
    total = np.empty_like(local)
    if comm is None:
        total[...] = local
    else:
        from mpi4py import MPI

        comm.Allreduce(local, total, op=MPI.SUM)
    n, k, e = int(total[0]), x.shape[1], extra.size
    sums, squares = total[1 + e:1 + e + k], total[1 + e + k:]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sums / n if n else np.full(k, np.nan)
        variance = squares / n - mean**2 if n else np.full(k, np.nan)
    return Moments(n, mean, variance), total[1:1 + e]


def load_config(path, comm) -> Config:
    """Read the config on rank 0 only (one file-system access per run, not per
    rank), share the text, and validate it on every rank."""
    text = on_root(comm, read_config_text, path)
    return agree(comm, parse_config, text, str(path), Path(path).parent)
