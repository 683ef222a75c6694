"""``hybridsim plot OUTDIR``: PNG images of a run's fields, agents and mechanics."""

from __future__ import annotations

from .arguments import subcommand, world


def add_parser(sub) -> None:
    plot = subcommand(sub, "plot", cmd_plot, help="draw PNG images of a run's fields and agents",
                      description="Write PNG images of OUTDIR/fields.h5 and OUTDIR/agents.h5 to OUTDIR/plots. Fields: "
                      "1D profiles over time, 2D maps, the mid-plane z slice of 3D. Agents: positions coloured by a "
                      "species (with several cell types: by type), and time series of the agent count and each "
                      "species' mean and Fano factor (per type, with the fraction of heterotypic contacts).")
    plot.add_argument("outdir", metavar="OUTDIR", help="output directory of a run")
    plot.add_argument("--species", action="append", metavar="NAME", help="only this species (repeatable)")
    plot.add_argument("--all", action="store_true", help="one image per output time, not just the last")
    plot.add_argument("--color", metavar="SPECIES",
                      help="network species that colours the agents (default: the last; with several cell types, "
                      "the type)")


def cmd_plot(args, petsc_args: list[str]) -> int:
    from ..io.plot import plot_run

    written = []
    if world().rank == 0:
        written = plot_run(args.outdir, species=args.species, every_output=args.all, color=args.color)
    for path in written:
        print(path)
    return 0
