"""PNG images of a run (``hybridsim plot OUTDIR``); serial, matplotlib.

Fields: 1D profiles over time, 2D maps, the mid-plane of 3D. Agents: their
positions coloured by a network species (2D; x–y projection in 3D; species
against x in 1D) and time series of the agent count and of each species'
mean and Fano factor across cells. Mechanics: the last displacement and
volumetric strain (1D: profiles; 2D: a map with the deformed grid outline,
exaggerated; 3D: the mid-plane) and the tissue's size change over time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..parallel.collective import moments
from .agent_output import AGENTS_FILE
from .mechanics_output import MECHANICS_FILE
from .output import FIELDS_FILE


def pyplot():
    """matplotlib's pyplot with the file-only Agg backend (an InputError if matplotlib is missing)."""
    try:
        import matplotlib
    except ImportError:
        raise InputError(
            "hybridsim plot needs matplotlib: `pip install matplotlib` (or Debian's python3-matplotlib)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _open(path: Path):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{str(path)!r} cannot be read as HDF5: {exc}") from None


def plot_run(outdir, species=None, every_output: bool = False, color: str | None = None) -> list[Path]:
    """Draw ``outdir/fields.h5`` and ``outdir/agents.h5`` (whichever exist) into
    ``outdir/plots``; ``color`` is the network species that colours the agents.
    Returns the files written."""
    outdir = Path(outdir)
    fields, agents = outdir / FIELDS_FILE, outdir / AGENTS_FILE
    if not fields.is_file() and not agents.is_file():
        raise InputError(f"{str(outdir)!r} holds neither {FIELDS_FILE} nor {AGENTS_FILE}: "
                         "give the output directory of a run")
    plt = pyplot()
    written = []
    overlay = _agent_positions(agents, color) if agents.is_file() else None
    if fields.is_file():
        written += _plot_fields(plt, outdir, fields, species, every_output, overlay)
    elif species:
        raise InputError(f"--species selects fields, but {str(outdir)!r} has no {FIELDS_FILE}")
    if agents.is_file():
        written += _plot_agents(plt, outdir, agents, color)
    elif color:
        raise InputError(f"--color selects an agent species, but {str(outdir)!r} has no {AGENTS_FILE}")
    if (outdir / MECHANICS_FILE).is_file():
        written += _plot_mechanics(plt, outdir, outdir / MECHANICS_FILE)
    return written


def _plot_mechanics(plt, outdir: Path, path: Path) -> list[Path]:
    target = outdir / "plots"
    target.mkdir(exist_ok=True)
    written = []
    with _open(path) as f:
        steps = f["steps"]
        names = sorted(steps)
        if not names:
            return []
        times = [steps[n].attrs["time"] for n in names]
        relative = [steps[n].attrs["relative_size_change"] for n in names]
        g = steps[names[-1]]
        u = g["displacement"][...]
        dim = 1 if u.ndim == 1 else u.ndim - 1
        strain = sum(g[f"strain_{a}{a}"][...] for a in "xyz"[:dim])
        t = g.attrs["time"]
        if dim == 1:
            fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.4, 5.6), sharex=True)
            L = float(f.attrs["size"][0])
            a1.plot(np.linspace(0.0, L, u.size), u)
            a1.set_ylabel("displacement u (µm)")
            a2.stairs(strain, np.linspace(0.0, L, strain.size + 1))
            a2.set_ylabel("strain ε")
            a2.set_xlabel("x (µm)")
            a1.set_title(f"tissue at t = {t:g} min")
        else:
            if dim == 3:
                mid = u.shape[0] // 2
                u, strain = u[mid], strain[strain.shape[0] // 2]
            ny, nx = strain.shape
            Lx, Ly = (float(v) for v in f.attrs["size"][:2])
            aspect = Ly / Lx
            fig, ax = plt.subplots(figsize=(7.2, float(np.clip(6.0 * aspect, 1.2, 6.0)) + 1.4))
            bound = float(np.abs(strain).max()) or 1.0
            image = ax.imshow(strain, origin="lower", extent=(0, Lx, 0, Ly), cmap="coolwarm", vmin=-bound,
                              vmax=bound)
            fig.colorbar(image, ax=ax, label="tr ε", fraction=0.046 if aspect < 0.5 else 0.15, pad=0.02)
            # the deformed grid, its displacement exaggerated to 5 % of the tissue's size
            span = float(np.abs(u[..., :2]).max())
            scale = 0.05 * max(Lx, Ly) / span if span > 0 else 0.0
            X, Y = np.meshgrid(np.linspace(0, Lx, nx + 1), np.linspace(0, Ly, ny + 1))
            X, Y = X + scale * u[..., 0], Y + scale * u[..., 1]
            rows = np.unique(np.r_[np.arange(0, ny + 1, max(1, ny // 8)), ny])
            columns = np.unique(np.r_[np.arange(0, nx + 1, max(1, nx // 16)), nx])
            ax.plot(X[rows].T, Y[rows].T, "k-", lw=0.5)
            ax.plot(X[:, columns], Y[:, columns], "k-", lw=0.5)
            ax.set_xlabel("x (µm)")
            ax.set_ylabel("y (µm)")
            ax.set_title(f"strain, deformed grid (displacement ×{scale:.3g}) at t = {t:g} min"
                         + (", mid-plane z" if dim == 3 else ""), fontsize=9)
        written.append(save_figure(fig, target / "mechanics.png", plt))
        what = ("length", "area", "volume")[dim - 1]
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        ax.plot(times, relative, "o-")
        ax.set_xlabel("time (min)")
        ax.set_ylabel(f"relative {what} change")
        written.append(save_figure(fig, target / "size_change.png", plt))
    return written


def _agent_positions(path: Path, color: str | None):
    """A function ``time → (positions, values of the colouring species, its name)``
    for the agent outputs in ``path`` (None where there is no output at that time)."""
    with _open(path) as f:
        species = [s.decode() for s in f.attrs["species"]]
        name = color if color in species else species[-1]
        by_time = {}
        for step in f["steps"]:
            g = f["steps"][step]
            by_time[round(float(g.attrs["time"]), 9)] = (g["position"][...], g["species"][name][...])

    def lookup(time: float):
        hit = by_time.get(round(float(time), 9))
        return None if hit is None else (hit[0], hit[1], name)

    return lookup


def _plot_agents(plt, outdir: Path, path: Path, color: str | None) -> list[Path]:
    with _open(path) as f:
        species = [s.decode() for s in f.attrs["species"]]
        if color is not None and color not in species:
            raise InputError(f"--color {color!r} is not a network species (species: {', '.join(species)})")
        color = color or species[-1]
        steps = sorted(f["steps"])
        if not steps:
            raise InputError(f"{str(path)!r} holds no output yet")
        times, counts, means, fanos = [], [], [], []
        for step in steps:
            g = f["steps"][step]
            times.append(g.attrs["time"])
            counts.append(g.attrs["count"])
            stats, _ = moments(None, np.column_stack([g["species"][s][...] for s in species]))
            means.append(stats.mean)
            fanos.append(stats.fano)
        last = f["steps"][steps[-1]]
        pos = last["position"][...]
        value = last["species"][color][...]
        t_last = last.attrs["time"]
    target = outdir / "plots"
    target.mkdir(exist_ok=True)
    written = []
    fig, ax = plt.subplots(figsize=(6, 5))
    if pos.shape[1] == 1:
        ax.plot(pos[:, 0], value, ".", ms=3)
        ax.set_xlabel("x (µm)")
        ax.set_ylabel(f"{color} (molecules per cell)")
    else:
        sc = ax.scatter(pos[:, 0], pos[:, 1], c=value, s=6, cmap="plasma")
        fig.colorbar(sc, ax=ax, label=f"{color} (molecules per cell)")
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        ax.set_aspect("equal")
    ax.set_title(f"{len(value)} agents at t = {t_last:g} min" + (" (x–y projection)" if pos.shape[1] == 3 else ""))
    written.append(save_figure(fig, target / "agents.png", plt))
    means, fanos = np.array(means), np.array(fanos)
    summary = outdir / "summary.csv"
    integrals = {}
    if summary.is_file():  # every step, not only the outputs
        rows = np.genfromtxt(summary, delimiter=",", names=True)
        if rows.size > 1:
            times, counts = rows["time"], rows["agents"]
            means = np.column_stack([rows[f"{s}_mean"] for s in species])
            fanos = np.column_stack([rows[f"{s}_fano"] for s in species])
            integrals = {n[: -len("_integral")]: rows[n] for n in rows.dtype.names if n.endswith("_integral")}
    fig, axes = plt.subplots(4 if integrals else 3, 1, figsize=(6, 10 if integrals else 8), sharex=True)
    axes[0].plot(times, counts, "k-")
    axes[0].set_ylabel("agents")
    for s, name in enumerate(species):
        axes[1].plot(times, means[:, s], label=name)
        axes[2].plot(times, fanos[:, s], label=name)
    axes[1].set_ylabel("mean per cell")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize="small")
    axes[2].set_ylabel("Fano factor")
    for name, values in integrals.items():
        axes[3].plot(times, values, label=name)
    if integrals:
        axes[3].set_ylabel("field integral (molecules)")
        axes[3].legend(fontsize="small")
    axes[-1].set_xlabel("t (min)")
    written.append(save_figure(fig, target / "agents_timeseries.png", plt))
    return written


def _plot_fields(plt, outdir: Path, path: Path, species, every_output: bool, overlay=None) -> list[Path]:
    with _open(path) as f:
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
                written.append(save_figure(fig, target / f"{name}.png", plt))
                continue
            for step in steps if every_output else steps[-1:]:
                g = f["steps"][step]
                data = g[name][...]
                if dim == 3:
                    data = data[data.shape[0] // 2]
                fig, ax = plt.subplots(figsize=(6, 5))
                im = ax.imshow(data, origin="lower", extent=(0, size[0], 0, size[1]), cmap="viridis")
                fig.colorbar(im, ax=ax, label=f"{name} ({unit})")
                cells = overlay(g.attrs["time"]) if overlay is not None else None
                if cells is not None and len(cells[0]):
                    pos, value, species_name = cells
                    sc = ax.scatter(pos[:, 0], pos[:, 1], c=value, s=4, cmap="autumn", edgecolors="none")
                    fig.colorbar(sc, ax=ax, label=f"cells: {species_name} (molecules)", pad=0.01)
                ax.set_xlabel("x (µm)")
                ax.set_ylabel("y (µm)")
                where = ", mid-plane z" if dim == 3 else ""
                ax.set_title(f"{name} at t = {g.attrs['time']:g} min{where}")
                written.append(save_figure(fig, target / f"{name}_{step}.png", plt))
    return written


def save_figure(fig, path: Path, plt) -> Path:
    """Write ``fig`` to ``path`` (PNG, 100 dpi) and close it."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_noise(outdir, species: str, times, stats, acf=None, averaging=None) -> Path:
    """``OUTDIR/plots/noise_<species>.png``: the Fano factor and CV² over time, the
    autocorrelation (if ``acf``) and the variance of N-cell averages (if
    ``averaging``), from :mod:`hybridsim.analysis.noise`."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].plot(times, stats.fano, "-", color="C0")
    axes[0].axhline(1.0, color="grey", lw=0.5)
    axes[0].set_ylabel("Fano factor σ²/μ (1: Poisson)", color="C0")
    axes[0].set_xlabel("time (min)")
    twin = axes[0].twinx()
    twin.plot(times, stats.cv2, "-", color="C1")
    twin.set_ylabel("CV² σ²/μ²", color="C1")
    if acf is not None:
        axes[1].plot(acf.lags, acf.rho, "o-")
        axes[1].set_xlabel("lag (min)")
        axes[1].set_ylabel("autocorrelation")
        axes[1].set_title(f"τ = {acf.time:.3g} min")
    if averaging is not None:
        axes[2].loglog(averaging.sizes, averaging.variance, "o-", label=f"slope {averaging.exponent:.2f}")
        axes[2].loglog(averaging.sizes, averaging.variance[0] / averaging.sizes, "--", color="grey", label="1/N")
        axes[2].set_xlabel("cells averaged N")
        axes[2].set_ylabel("variance of the average")
        axes[2].legend()
    target = Path(outdir) / "plots"
    target.mkdir(exist_ok=True)
    return save_figure(fig, target / f"noise_{species}.png", plt)
