"""Exceptions that end a run with a one-line message instead of a traceback.

Exit codes (documented in the README):

* 0 — the run finished;
* 2 — bad input (config, command line, PETSc options): :class:`InputError`;
* 3 — the run could not continue (a linear solve diverged, the disk is full):
  :class:`RunError`;
* 1 — an unexpected internal error (a bug): traceback, all ranks aborted.
"""

from __future__ import annotations


class HybridsimError(Exception):
    """Base class of errors that are reported as ``error: <message>``."""

    exit_code = 1


class InputError(HybridsimError):
    """The user gave input that cannot be run (exit code 2)."""

    exit_code = 2


class RunError(HybridsimError):
    """The simulation could not continue (exit code 3)."""

    exit_code = 3
