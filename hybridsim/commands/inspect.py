"""``hybridsim inspect CHECKPOINT``: what a checkpoint holds, with every checksum verified."""

from __future__ import annotations

from .arguments import subcommand, world


def add_parser(sub) -> None:
    inspect = subcommand(sub, "inspect", cmd_inspect, help="print what a checkpoint holds and verify it",
                         description="Print a checkpoint's step, time, seed, config hash, field integrals, agent "
                         "count and molecules per species, and verify every checksum (exit code 3 if one fails).")
    inspect.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint-<step>.h5 file")


def cmd_inspect(args, petsc_args: list[str]) -> int:
    from ..io.checkpoint import describe

    if world().rank == 0:
        lines = describe(args.checkpoint)
        print("\n".join(lines))
        return 0 if lines[-1].endswith("all valid") else 3
    return 0
