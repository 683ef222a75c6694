"""A stand-in for colorama (installed on many clusters): like the real one, ``init()``
registers an exit handler that writes a colour reset to stdout. numba colours its
error messages with colorama when it can import it."""

import atexit
import sys

__version__ = "0.4.6"


class _Codes:
    def __getattr__(self, name):
        return ""


Fore = Back = Style = _Codes()


def init(*args, **kwargs):
    atexit.register(lambda: sys.stdout.write("\x1b[0m"))


def reinit():
    pass


def deinit():
    pass
