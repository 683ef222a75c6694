"""The ``hybridsim`` command line, one module per subcommand (:mod:`.run`,
:mod:`.check`, :mod:`.inspect`, :mod:`.ssa`, :mod:`.analyze`, :mod:`.plot`),
shared argument handling in :mod:`.arguments`, the entry point in :mod:`.main`."""

import os

# numba colours its error messages with colorama when that is installed, and colorama
# then writes a colour reset at every process's exit: on every rank, into batch logs, in
# front of error lines. Without the highlighting numba never starts colorama.
os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")

from .main import main  # noqa: E402  (after the environment is set)

__all__ = ["main"]
