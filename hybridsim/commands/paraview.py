"""``hybridsim paraview OUTDIR``: a ParaView script that shows a run's fields, cells and
mechanics together (:mod:`hybridsim.io.paraview`)."""

from __future__ import annotations

from .arguments import subcommand, world


def add_parser(sub) -> None:
    view = subcommand(sub, "paraview", cmd_paraview, help="write a ParaView script that shows a run",
                      description="Write OUTDIR/view.py, a ParaView (pvpython) script that opens the run's "
                      "fields.xdmf, agents.xdmf and mechanics.xdmf at the last output: the field coloured "
                      "(Viridis), cells as spheres of their radius (or points) coloured by type or a species, "
                      "the deformed grid as a wireframe, the camera on the tissue's plane (3D: from a corner). "
                      "Open it with `paraview --script=OUTDIR/view.py`, or save the picture with "
                      "`pvbatch OUTDIR/view.py --screenshot picture.png`.")
    view.add_argument("outdir", metavar="OUTDIR", help="output directory of a run")
    view.add_argument("--field", metavar="NAME", help="the field to colour (default: the first)")
    view.add_argument("--color", metavar="SPECIES",
                      help="network species that colours the cells (default: the type, or the last species)")


def cmd_paraview(args, petsc_args: list[str]) -> int:
    from ..io.paraview import write_script

    if world().rank == 0:
        path = write_script(args.outdir, field=args.field, color=args.color)
        print(f"wrote {path}")
        print(f"open it: paraview --script={path}")
        print(f"or save the picture: pvbatch {path} --screenshot picture.png")
    return 0
