"""What every subcommand shares: the argument parser that reports errors as one
line, PETSc options kept apart from hybridsim's own, and argument types."""

from __future__ import annotations

import argparse
import difflib
import math
import re
import sys

from ..errors import InputError

_PETSC_OPTION = re.compile(r"^-[A-Za-z][A-Za-z0-9_]+$")
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def world():
    """``MPI.COMM_WORLD`` (imported on first use, so ``--help`` starts fast)."""
    from mpi4py import MPI

    return MPI.COMM_WORLD


def say(comm, text: str, quiet: bool = False) -> None:
    """Print ``text`` on rank 0 (unless ``quiet``)."""
    if comm.rank == 0 and not quiet:
        print(text, flush=True)


def split_petsc_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """Separate PETSc options (``-name [value]``) from hybridsim's own arguments.

    A token after a PETSc option is its value unless it starts with ``-`` (and
    is not a number)."""
    own, petsc = [], []
    i = 0
    while i < len(argv):
        token = argv[i]
        if _PETSC_OPTION.match(token):
            petsc.append(token)
            if i + 1 < len(argv) and (not argv[i + 1].startswith("-") or _NUMBER.match(argv[i + 1])):
                petsc.append(argv[i + 1])
                i += 1
        else:
            own.append(token)
        i += 1
    return own, petsc


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every option of ``parser`` and of its sub-commands."""
    options = []
    for action in parser._actions:
        options += action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                options += _option_strings(sub)
    return options


class Parser(argparse.ArgumentParser):
    """Raises :class:`InputError` instead of exiting, and prints help on rank 0 only."""

    def error(self, message):
        if message.startswith("unrecognized arguments:"):
            options = _option_strings(self)
            for word in message.split(":", 1)[1].split():
                close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
                if word.startswith("-") and close:
                    message += f" (did you mean {close[0]}?)"
                    break
        raise InputError(f"{self.prog}: {message}")

    def _print_message(self, message, file=None):
        if message and world().rank == 0:
            (file or sys.stdout).write(message)


def subcommand(sub, name: str, func, help: str, description: str, **defaults) -> argparse.ArgumentParser:
    """A subcommand ``name`` of ``sub`` (a subparsers action) that runs ``func(args, …)``."""
    parser = sub.add_parser(name, help=help, description=description)
    parser.set_defaults(func=func, **defaults)
    return parser


def _number(text: str, parse, expected: str):
    try:
        return parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def positive_float(text: str) -> float:
    value = _number(text, float, "a number")
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int, "an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def seed(text: str) -> int:
    from ..config import SEED_LIMIT

    value = _number(text, int, "a non-negative integer")
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**56), got {value}")
    return value


def name_values(items: list[str], what: str, *, minimum: float | None = None) -> dict[str, float]:
    """``NAME=VALUE`` options (each may hold several, comma-separated) as a dict;
    ``what`` names the option in the one-line error."""
    out = {}
    for item in items:
        for part in item.split(","):
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or not name:
                raise InputError(f"{what} expects NAME=VALUE, got {part!r}")
            try:
                out[name] = float(value)
            except ValueError:
                raise InputError(f"{what} expects NAME=VALUE with a number, got {part!r}") from None
            if minimum is not None and not out[name] >= minimum:
                raise InputError(f"{what} {name} must be ≥ {minimum:g} (got {value})")
    return out
