"""PNG images of a run's fields (``hybridsim plot OUTDIR``); serial, matplotlib."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .output import FIELDS_FILE


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise InputError(
            "hybridsim plot needs matplotlib: `pip install matplotlib` (or Debian's python3-matplotlib)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_run(outdir, species=None, every_output: bool = False) -> list[Path]:
    """Draw the fields in ``outdir/fields.h5`` into ``outdir/plots``; returns the
    files written."""
    import h5py

    outdir = Path(outdir)
    path = outdir / FIELDS_FILE
    if not path.is_file():
        raise InputError(f"{str(path)!r} does not exist: give the output directory of a run")
    plt = _pyplot()
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{str(path)!r} cannot be read as HDF5: {exc}") from None
    with f:
        size = f["grid"].attrs["size"]
        unit = f.attrs.get("concentration_unit", "molecules/µm³")
        steps = sorted(f["steps"])
        if not steps:
            raise InputError(f"{str(path)!r} holds no output yet")
        names = list(f["steps"][steps[0]])
        for s in species or []:
            if s not in names:
                raise InputError(f"species {s!r} is not in {str(path)!r} (it has: {', '.join(names)})")
        names = species or names
        target = outdir / "plots"
        target.mkdir(exist_ok=True)
        written = []
        dim = len(size)
        for name in names:
            if dim == 1:
                fig, ax = plt.subplots(figsize=(6, 4))
                x = (np.arange(f["grid"].attrs["cells"][0]) + 0.5) * f["grid"].attrs["spacing"][0]
                chosen = steps if len(steps) <= 12 else steps[:: max(1, len(steps) // 10)] + [steps[-1]]
                cmap = plt.get_cmap("viridis")
                for i, step in enumerate(chosen):
                    g = f["steps"][step]
                    ax.plot(x, g[name][...], color=cmap(i / max(1, len(chosen) - 1)),
                            label=f"t = {g.attrs['time']:g} min")
                ax.set_xlabel("x (µm)")
                ax.set_ylabel(f"{name} ({unit})")
                ax.legend(fontsize="small")
                written.append(_save(fig, target / f"{name}.png", plt))
                continue
            for step in steps if every_output else steps[-1:]:
                g = f["steps"][step]
                data = g[name][...]
                if dim == 3:
                    data = data[data.shape[0] // 2]
                fig, ax = plt.subplots(figsize=(6, 5))
                im = ax.imshow(data, origin="lower", extent=(0, size[0], 0, size[1]), cmap="viridis")
                fig.colorbar(im, ax=ax, label=f"{name} ({unit})")
                ax.set_xlabel("x (µm)")
                ax.set_ylabel("y (µm)")
                where = ", mid-plane z" if dim == 3 else ""
                ax.set_title(f"{name} at t = {g.attrs['time']:g} min{where}")
                written.append(_save(fig, target / f"{name}_{step}.png", plt))
    return written


def _save(fig, path: Path, plt) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
