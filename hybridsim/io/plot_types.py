"""Plots of runs with several cell types (``hybridsim plot``; serial, matplotlib):
a colour per type, and the time series of each type's cell count, species means and
Fano factors, with the fraction of heterotypic contacts when cells have bodies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..parallel.collective import moments
from .figures import open_output, save_figure


def type_colours(plt, n: int):
    """A colour map of ``n`` distinct colours for type indices 0…n−1."""
    from matplotlib.colors import ListedColormap

    return ListedColormap([plt.get_cmap("tab10")(k % 10) for k in range(n)])


def label_types(fig, mappable, ax, types) -> None:
    mappable.set_clim(-0.5, len(types) - 0.5)
    bar = fig.colorbar(mappable, ax=ax, ticks=range(len(types)), label="cell type")
    bar.ax.set_yticklabels(types)


def type_series(path: Path, types: list[str]) -> dict:
    """Per output of ``agents.h5``: time, and per type its cell count and, for each
    species its cells hold, the mean and Fano factor (``{type: {"count": …, "S": (means,
    fanos)}}`` arrays over the outputs)."""
    out = {"time": [], **{t: {"count": []} for t in types}}
    with open_output(path) as f:
        species = [s.decode() for s in f.attrs["species"]]
        for step in sorted(f["steps"]):
            g = f["steps"][step]
            out["time"].append(float(g.attrs["time"]))
            kinds = g["type"][...]
            for k, name in enumerate(types):
                mine = kinds == k
                out[name]["count"].append(int(mine.sum()))
                for s in species:
                    stats, _ = moments(None, g["species"][s][...][mine][:, None])
                    means, fanos = out[name].setdefault(s, ([], []))
                    means.append(float(stats.mean[0]))
                    fanos.append(float(stats.fano[0]))
    return out


def plot_types(plt, outdir: Path, path: Path, types: list[str]) -> Path:
    """``agents_timeseries.png`` of a run with cell types: cells of each type, each
    type's species means and Fano factors (from ``summary.csv``, every step, if it is
    there; else from the outputs) and the heterotypic-contact fraction."""
    summary = outdir / "summary.csv"
    rows = np.genfromtxt(summary, delimiter=",", names=True) if summary.is_file() else None
    if rows is not None and rows.size > 1:
        time = rows["time"]
        series = {t: {"count": rows[f"{t}_agents"]} for t in types}
        for t in types:
            for column in rows.dtype.names:
                if column.startswith(f"{t}_") and column.endswith("_mean"):
                    name = column[len(t) + 1:-len("_mean")]
                    series[t][name] = (rows[column], rows[f"{t}_{name}_fano"])
        hetero = rows["heterotypic_fraction"] if "heterotypic_fraction" in rows.dtype.names else None
    else:
        series = type_series(path, types)
        time = np.array(series.pop("time"))
        hetero = None
    panels = 4 if hetero is not None else 3
    fig, axes = plt.subplots(panels, 1, figsize=(6, 2.6 * panels), sharex=True)
    for k, t in enumerate(types):
        colour = plt.get_cmap("tab10")(k % 10)
        axes[0].plot(time, series[t]["count"], "-", color=colour, label=t)
        styles = iter(("-", "--", ":", "-."))
        for name, values in series[t].items():
            if name == "count" or not np.any(np.asarray(values[0]) > 0):
                continue
            means, fanos = values
            style = next(styles, "-")
            axes[1].plot(time, means, style, color=colour, label=f"{t}: {name}")
            axes[2].plot(time, fanos, style, color=colour, label=f"{t}: {name}")
    axes[0].set_ylabel("cells")
    axes[0].legend(fontsize="small")
    axes[1].set_ylabel("mean per cell")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize="small", ncol=2)
    axes[2].set_ylabel("Fano factor")
    if hetero is not None:
        axes[3].plot(time, hetero, "k-")
        axes[3].set_ylabel("heterotypic contacts")
        axes[3].set_ylim(0, None)
    axes[-1].set_xlabel("t (min)")
    return save_figure(fig, outdir / "plots" / "agents_timeseries.png", plt)


