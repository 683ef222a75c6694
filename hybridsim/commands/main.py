"""Command line: ``hybridsim run|check|inspect|ssa|analyze|plot|paraview``.

Launched as ``mpirun -n 4 hybridsim run CONFIG [options] [PETSc options]``.
Options that start with a single dash and have a name longer than one letter
(``-rd_ksp_type cg``, ``-log_view``) go to PETSc; put them after CONFIG.

Exit codes: 0 success, 2 bad input, 3 the run could not continue, 4 stopped by
SIGTERM/SIGUSR1 after writing a checkpoint, 5 stopped at once by a second signal
(or the grace time), 1 internal error. Messages are
printed once, by rank 0, as ``error: …``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from .. import __version__
from ..errors import HybridsimError, InputError, StorageError
from . import analyze, check, inspect, paraview, plot, run, ssa
from .arguments import Parser, split_petsc_options, world


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="hybridsim",
        description="Distributed hybrid multiscale tissue simulator. Launch with "
        "`mpirun -n N hybridsim run CONFIG` (or `srun hybridsim run CONFIG`).",
        epilog="Units: µm, min, concentration in molecules/µm³ (or nM), D in µm²/min, rates in 1/min. "
        "Exit codes: 0 ok, 2 bad input, 3 run failed, 4 stopped by a signal (checkpoint written), "
        "5 stopped at once by a second signal or the grace time (HYBRIDSIM_STOP_GRACE, default 60 s), "
        "1 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"hybridsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in (run, inspect, check, ssa, analyze, plot, paraview):
        command.add_parser(sub)
    return parser


def _end_without_closing_files(code: int) -> None:
    """End every rank now, skipping the interpreter's shutdown and MPI_Finalize:
    both would wait for HDF5/MPI-IO files whose collective close cannot complete
    after a failed write. Every rank gets here (the error was agreed on)."""
    sys.stdout.flush()
    sys.stderr.flush()
    world().Barrier()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        own, petsc_args = split_petsc_options(argv)
        parser = build_parser()
        args = parser.parse_args(own)
        if args.command is None:
            parser.print_help()
            return 2
        if petsc_args and args.command != "run":
            raise InputError(f"hybridsim {args.command}: PETSc options ({petsc_args[0]} …) only apply to 'run'")
        return args.func(args, petsc_args)
    except HybridsimError as exc:
        if world().rank == 0:
            print(f"error: {exc}", file=sys.stderr, flush=True)
        if isinstance(exc, StorageError):
            _end_without_closing_files(exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: show it, and do not leave other ranks waiting
        comm = world()
        sys.stderr.write(f"[rank {comm.rank}] internal error in hybridsim {__version__}:\n")
        traceback.print_exc()
        sys.stderr.flush()
        if comm.size > 1:
            comm.Abort(1)
        return 1
