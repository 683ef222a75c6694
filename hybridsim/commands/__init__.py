"""The ``hybridsim`` command line, one module per subcommand (:mod:`.run`,
:mod:`.check`, :mod:`.inspect`, :mod:`.ssa`, :mod:`.analyze`, :mod:`.plot`),
shared argument handling in :mod:`.arguments`, the entry point in :mod:`.main`."""

from .main import main

__all__ = ["main"]
