"""Exceptions that end a run with a one-line message instead of a traceback.

Exit codes (documented in the README):

* 0 — the run finished;
* 2 — bad input (config, command line, PETSc options): :class:`InputError`;
* 3 — the run could not continue (a linear solve diverged, the disk is full):
  :class:`RunError`;
* 4 — stopped by SIGTERM/SIGUSR1 after writing a checkpoint (not an error);
* 5 — stopped at once by a second SIGTERM/SIGUSR1, or by a step still running the
  grace time after the first, without a new checkpoint;
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


class StorageError(RunError):
    """Writing a file failed part-way (disk full, quota, I/O error) on some rank
    (exit code 3). The parallel HDF5 files of the run may be in a state in which
    closing them (a collective operation) would not return, so they are left
    open and the process ends without closing them; completed checkpoints are
    untouched."""
