"""A ParaView script for a run's output (``hybridsim paraview OUTDIR``; serial, h5py).

The script (``OUTDIR/view.py``, Python for ParaView's ``pvpython``/``pvbatch`` or its
GUI's ``--script``) opens ``fields.xdmf``, ``agents.xdmf`` and ``mechanics.xdmf`` with
ParaView's XDMF3 reader at the last output time and shows them together:

- the first field (or ``--field``) as a coloured surface (Viridis; 3D: the slice
  through the middle of z),
- the cells as spheres of their radius (cells with bodies; Glyph scaled by ``radius``)
  or as points, coloured by type (categories named by the types) or by a species,
- the tissue's grid moved by its displacement (Warp By Vector) as a wireframe,

with the camera looking down on the tissue's plane (2D, 1D) or from a corner (3D).
``pvbatch OUTDIR/view.py --screenshot picture.png`` saves the picture.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from .figures import open_output

SCRIPT = "view.py"


def describe_output(outdir: Path) -> dict:
    """What the script needs to know of a run's output: size, dimension, fields, the
    cells' arrays and types, and whether there is mechanics."""
    outdir = Path(outdir)
    found = {name: (outdir / f"{name}.xdmf").is_file() for name in ("fields", "agents", "mechanics")}
    if not any(found.values()):
        raise InputError(f"{str(outdir)!r} holds no fields.xdmf, agents.xdmf or mechanics.xdmf: is it the output "
                         "directory of a run?")
    info = {"outdir": str(outdir.resolve()), "fields": [], "species": [], "types": [], "radius": False,
            "mechanics": found["mechanics"], "agents": found["agents"]}
    if found["fields"]:
        with open_output(outdir / "fields.h5") as f:
            info["size"] = [float(x) for x in f["grid"].attrs["size"]]
            steps = sorted(f["steps"])
            info["fields"] = sorted(f["steps"][steps[-1]]) if steps else []
    if found["mechanics"]:
        with open_output(outdir / "mechanics.h5") as f:
            info.setdefault("size", [float(x) for x in f.attrs["size"]])
    if found["agents"]:
        with open_output(outdir / "agents.h5") as f:
            info["species"] = [s.decode() for s in f.attrs["species"]]
            info["types"] = [t.decode() for t in f.attrs["types"]] if "types" in f.attrs else []
            steps = sorted(f["steps"])
            info["radius"] = bool(steps) and "radius" in f["steps"][steps[-1]]
            if "size" not in info and steps:
                position = f["steps"][steps[-1]]["position"][...]
                info["size"] = [float(x) for x in position.max(axis=0)] if len(position) else [1.0]
    info["dim"] = len(info["size"])
    return info


def write_script(outdir, field: str | None = None, color: str | None = None, target: Path | None = None) -> Path:
    """Write the ParaView script for the run in ``outdir``; ``field`` is the field
    shown (default the first), ``color`` the species colouring the cells (default: the
    type, or the last species). Returns its path."""
    info = describe_output(Path(outdir))
    if field is not None and field not in info["fields"]:
        names = ", ".join(info["fields"]) or "none"
        raise InputError(f"--field {field!r} is not a field of this run (fields: {names})")
    if color is not None and color not in info["species"]:
        raise InputError(f"--color {color!r} is not a species of the cells (species: "
                         f"{', '.join(info['species']) or 'none'})")
    info["field"] = field or (info["fields"][0] if info["fields"] else None)
    info["color"] = color
    target = Path(target or Path(outdir) / SCRIPT)
    target.write_text(TEMPLATE.replace("INFO = {}", f"INFO = json.loads({json.dumps(json.dumps(info))})"),
                      encoding="utf-8")
    return target


TEMPLATE = '''"""ParaView view of a hybridsim run, written by `hybridsim paraview`.

    paraview --script=view.py            the picture in ParaView's window, ready to explore
    pvbatch view.py --screenshot a.png   the picture as a PNG (pvbatch needs a display: Xvfb)
"""

import json
import sys

from paraview.simple import (ColorBy, GetActiveViewOrCreate, GetAnimationScene, GetColorTransferFunction,
                             GetScalarBar, Glyph, Render, SaveScreenshot, Show, Slice, WarpByVector, Xdmf3ReaderT)

TAB10 = [(0.12, 0.47, 0.71), (1.0, 0.50, 0.05), (0.17, 0.63, 0.17), (0.84, 0.15, 0.16), (0.58, 0.40, 0.74),
         (0.55, 0.34, 0.29), (0.89, 0.47, 0.76), (0.50, 0.50, 0.50), (0.74, 0.74, 0.13), (0.09, 0.75, 0.81)]


def legend(lut, title, corner):
    """A colour legend in black, readable on the white background, in ``corner``."""
    bar = GetScalarBar(lut, view)
    bar.Title = title
    bar.ComponentTitle = ""
    bar.TitleColor = bar.LabelColor = [0.0, 0.0, 0.0]
    bar.WindowLocation = corner
    bar.Visibility = 1

INFO = {}
here = INFO["outdir"]
dim = INFO["dim"]
size = INFO["size"] + [0.0] * (3 - len(INFO["size"]))
view = GetActiveViewOrCreate("RenderView")
view.ViewSize = [1200, 900]
view.Background = [1.0, 1.0, 1.0]
try:
    view.UseColorPaletteForBackground = 0
except AttributeError:
    pass
view.OrientationAxesVisibility = 1 if dim == 3 else 0

rescale = []  # displays whose colours follow the last output's range
if INFO["field"]:
    fields = Xdmf3ReaderT(registrationName="fields", FileName=[here + "/fields.xdmf"])
    shown = fields
    if dim == 3:
        shown = Slice(registrationName="mid-plane", Input=fields)
        shown.SliceType = "Plane"
        shown.SliceType.Origin = [size[0] / 2, size[1] / 2, size[2] / 2]
        shown.SliceType.Normal = [0.0, 0.0, 1.0]
    display = Show(shown, view)
    display.SetRepresentationType("Surface")
    if dim == 1:  # a line: draw it thick
        display.LineWidth = 12.0
    ColorBy(display, ("CELLS", INFO["field"]))
    lut = GetColorTransferFunction(INFO["field"])
    lut.ApplyPreset("Viridis (matplotlib)", True)
    legend(lut, INFO["field"], "Lower Left Corner")
    rescale = [display]

if INFO["mechanics"]:
    mechanics = Xdmf3ReaderT(registrationName="mechanics", FileName=[here + "/mechanics.xdmf"])
    warped = WarpByVector(registrationName="deformed tissue", Input=mechanics)
    warped.Vectors = ["POINTS", "displacement"]
    display = Show(warped, view)
    display.SetRepresentationType("Wireframe")
    ColorBy(display, None)
    display.AmbientColor = display.DiffuseColor = [0.3, 0.3, 0.3]

if INFO["agents"]:
    agents = Xdmf3ReaderT(registrationName="cells", FileName=[here + "/agents.xdmf"])
    if INFO["radius"]:
        cells = Glyph(registrationName="cells as spheres", Input=agents, GlyphType="Sphere")
        cells.ScaleArray = ["POINTS", "radius"]
        cells.ScaleFactor = 2.0  # the sphere glyph has diameter 1: twice the radius
        cells.GlyphMode = "All Points"
        cells.GlyphType.ThetaResolution = cells.GlyphType.PhiResolution = 24
    else:
        cells = agents
    display = Show(cells, view)
    if not INFO["radius"]:
        display.SetRepresentationType("Points")
        display.PointSize = 6
        display.RenderPointsAsSpheres = 1
    name = "type" if INFO["types"] and not INFO["color"] else (INFO["color"] or INFO["species"][-1])
    ColorBy(display, ("POINTS", name))
    lut = GetColorTransferFunction(name)
    if name == "type":
        lut.InterpretValuesAsCategories = 1
        lut.Annotations = [x for k, t in enumerate(INFO["types"]) for x in (str(k), t)]
        lut.IndexedColors = [c for k in range(len(INFO["types"])) for c in TAB10[k % 10]]
        legend(lut, "cell type", "Lower Right Corner")
    else:
        lut.ApplyPreset("Plasma (matplotlib)", True)
        legend(lut, f"cells: {name} (molecules)", "Lower Right Corner")
        rescale.append(display)

scene = GetAnimationScene()
scene.UpdateAnimationUsingDataTimeSteps()
scene.AnimationTime = scene.EndTime
for display in rescale:
    display.RescaleTransferFunctionToDataRange(False, True)
view.ResetCamera()
centre = [size[0] / 2, size[1] / 2, size[2] / 2]
extent = max(size)
if dim < 3:  # looking down on the tissue's plane, x to the right, y up
    view.InteractionMode = "2D"
    view.CameraPosition = [centre[0], centre[1], extent * 3]
    view.CameraFocalPoint = [centre[0], centre[1], 0.0]
    view.CameraViewUp = [0.0, 1.0, 0.0]
    view.ResetCamera()
    view.CameraParallelProjection = 1
    view.CameraParallelScale = 0.55 * max(size[1], size[0] * 900 / 1200, 1e-9)
else:
    view.CameraPosition = [centre[0] + 1.6 * extent, centre[1] - 1.9 * extent, centre[2] + 1.4 * extent]
    view.CameraFocalPoint = centre
    view.CameraViewUp = [0.0, 0.0, 1.0]
    view.ResetCamera()
Render(view)
if "--screenshot" in sys.argv:
    SaveScreenshot(sys.argv[sys.argv.index("--screenshot") + 1], view, ImageResolution=[1200, 900])
'''
