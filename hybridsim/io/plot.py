"""PNG images of a run (``hybridsim plot OUTDIR``); serial, matplotlib.

Fields: 1D profiles over time, 2D maps, the mid-plane of 3D. Agents: their
positions coloured by a network species (2D; x–y projection in 3D; species
against x in 1D) — or, with several cell types, by type — and time series of the
agent count and of each species' mean and Fano factor across cells (per type, with
the fraction of heterotypic contacts when cells have bodies). Cells with bodies are drawn as discs of their
radius (2D) or as their cross-sections with the plane through the tissue's centre
(3D), necrotic ones in grey, with the growth curve: cell count, colony radius from
the radius of gyration, and the front speed fitted over the last half of the run. Mechanics: the last displacement and
volumetric strain (1D: profiles; 2D: a map with the deformed grid outline,
exaggerated; 3D: the mid-plane) and the tissue's size change over time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..parallel.collective import moments
from .agent_output import AGENTS_FILE
from .figures import open_output as _open
from .figures import pyplot, save_figure
from .mechanics_output import MECHANICS_FILE
from .output import FIELDS_FILE
from .plot_types import label_types, plot_types, type_colours


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
        dim = len(f.attrs["cells"])
        if u.ndim == 1:  # files written before the displacement had 3 components in 1D
            u = u[:, None]
        if dim == 1:
            u = u[:, 0]
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
    """A function ``time → (positions, values of the colouring species, its name,
    radii, type names)`` for the agent outputs in ``path`` (None where there is no
    output at that time); with cell types and no ``color``, the values are the types."""
    with _open(path) as f:
        species = [s.decode() for s in f.attrs["species"]]
        types = [t.decode() for t in f.attrs["types"]] if "types" in f.attrs and color is None else None
        name = "type" if types else (color if color in species else species[-1])
        by_time = {}
        for step in f["steps"]:
            g = f["steps"][step]
            radius = g["radius"][...] if "radius" in g else None
            values = g["type"][...] if types else g["species"][name][...]
            by_time[round(float(g.attrs["time"]), 9)] = (g["position"][...], values, radius)

    def lookup(time: float):
        hit = by_time.get(round(float(time), 9))
        return None if hit is None else (hit[0], hit[1], name, hit[2], types)

    return lookup


def growth_curve(path) -> dict[str, np.ndarray]:
    """Per output of ``agents.h5``: ``time`` (min), ``count``, ``necrotic`` (count) and
    ``radius_of_gyration`` (µm, √⟨|x − x̄|²⟩ over the cells), and ``colony_radius`` —
    the radius of the uniform disc (2D: √2·R_g) or ball (3D: √(5/3)·R_g; 1D:
    √3·R_g, a half-length) with that radius of gyration."""
    rows = []
    with _open(Path(path)) as f:
        for step in sorted(f["steps"]):
            g = f["steps"][step]
            pos = g["position"][...]
            rg = float(np.sqrt(((pos - pos.mean(axis=0)) ** 2).sum(axis=1).mean())) if len(pos) else 0.0
            necrotic = int(g["necrotic"][...].sum()) if "necrotic" in g else 0
            rows.append((float(g.attrs["time"]), len(pos), necrotic, rg, pos.shape[1]))
    time, count, necrotic, rg, dim = (np.array(c) for c in zip(*rows)) if rows else [np.empty(0)] * 5
    shape = {1: 3.0, 2: 2.0, 3: 5.0 / 3.0}
    factor = np.sqrt(shape[int(dim[0])]) if rows else 1.0
    return {"time": time, "count": count, "necrotic": necrotic, "radius_of_gyration": rg,
            "colony_radius": factor * rg}


def front_speed(time: np.ndarray, radius: np.ndarray) -> float:
    """Least-squares slope (µm/min) of ``radius`` over the last half of ``time``."""
    late = time >= time[0] + 0.5 * (time[-1] - time[0])
    if late.sum() < 2:
        return float("nan")
    return float(np.polyfit(time[late], radius[late], 1)[0])


def _section(pos: np.ndarray, radius: np.ndarray):
    """The cells' discs in the x–y plane: all of them in 2D; in 3D the cross-sections
    with the plane z = mean z of the cells (radius √(r² − Δz²)). Returns the
    centres, the disc radii, the mask of the cells drawn and that z (or None)."""
    if pos.shape[1] == 2:
        return pos, radius, np.ones(len(pos), dtype=bool), None
    z = float(pos[:, 2].mean()) if len(pos) else 0.0
    dz = pos[:, 2] - z
    cut = np.abs(dz) < radius
    return pos[cut, :2], np.sqrt(radius[cut] ** 2 - dz[cut] ** 2), cut, z


def _discs(ax, centres, radii, values, necrotic, cmap="plasma"):
    """Draw discs of ``radii`` (µm, in data units) coloured by ``values``; necrotic
    cells grey. Returns the mappable for a colour bar."""
    from matplotlib.collections import EllipseCollection

    live = ~necrotic
    collection = EllipseCollection(2 * radii[live], 2 * radii[live], np.zeros(live.sum()), units="xy",
                                   offsets=centres[live], offset_transform=ax.transData, cmap=cmap,
                                   edgecolors="k", linewidths=0.2)
    collection.set_array(values[live])
    ax.add_collection(collection)
    if necrotic.any():
        ax.add_collection(EllipseCollection(2 * radii[necrotic], 2 * radii[necrotic], np.zeros(necrotic.sum()),
                                            units="xy", offsets=centres[necrotic], offset_transform=ax.transData,
                                            facecolors="0.6", edgecolors="0.3", linewidths=0.2))
    ax.autoscale_view()
    return collection


def _plot_growth(plt, target: Path, path: Path) -> Path:
    curve = growth_curve(path)
    t = curve["time"] / 60.0
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.4, 6.0), sharex=True)
    a1.semilogy(t, curve["count"], "k.-", label="cells")
    if curve["necrotic"].any():
        some = curve["necrotic"] > 0
        a1.semilogy(t[some], curve["necrotic"][some], ".-", color="0.5", label="necrotic")
    a1.set_ylabel("cells")
    a1.legend(fontsize="small")
    speed = front_speed(curve["time"], curve["colony_radius"]) * 60.0 if len(t) > 2 else float("nan")
    a2.plot(t, curve["colony_radius"], "o-", ms=3, label="colony radius (from R_g)")
    a2.plot(t, curve["radius_of_gyration"], "--", color="0.5", label="radius of gyration R_g")
    a2.set_ylabel("µm")
    a2.set_xlabel("t (h)")
    a2.legend(fontsize="small")
    a2.set_title(f"front speed over the last half: {speed:.3g} µm/h", fontsize=9)
    return save_figure(fig, target / "growth.png", plt)


def _plot_agents(plt, outdir: Path, path: Path, color: str | None) -> list[Path]:
    given = color
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
        types = [t.decode() for t in f.attrs["types"]] if "types" in f.attrs else []
        by_type = bool(types) and given is None
        value = last["type"][...] if by_type else last["species"][color][...]
        t_last = last.attrs["time"]
        radius = last["radius"][...] if "radius" in last else None
        necrotic = last["necrotic"][...].astype(bool) if "necrotic" in last else np.zeros(len(pos), dtype=bool)
    target = outdir / "plots"
    target.mkdir(exist_ok=True)
    written = []
    fig, ax = plt.subplots(figsize=(6, 5))
    if pos.shape[1] == 1:
        ax.plot(pos[:, 0], value, ".", ms=3)
        ax.set_xlabel("x (µm)")
        ax.set_ylabel(f"{color} (molecules per cell)")
    elif radius is not None:
        centres, radii, cut, z = _section(pos, radius)
        discs = _discs(ax, centres, radii, value[cut], necrotic[cut],
                       cmap=type_colours(plt, len(types)) if by_type else "plasma")
        if by_type:
            label_types(fig, discs, ax, types)
        else:
            fig.colorbar(discs, ax=ax, label=f"{color} (molecules per cell)" + ("; grey: necrotic" if necrotic.any()
                                                                                else ""))
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        ax.set_aspect("equal")
    else:
        sc = ax.scatter(pos[:, 0], pos[:, 1], c=value, s=6, cmap=type_colours(plt, len(types)) if by_type
                        else "plasma")
        if by_type:
            label_types(fig, sc, ax, types)
        else:
            fig.colorbar(sc, ax=ax, label=f"{color} (molecules per cell)")
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        ax.set_aspect("equal")
    where = ""
    if pos.shape[1] == 3:
        where = f" (slice z = {z:.4g} µm: {int(cut.sum())} cut)" if radius is not None else " (x–y projection)"
    ax.set_title(f"{len(value)} agents at t = {t_last:g} min{where}", fontsize=10)
    written.append(save_figure(fig, target / "agents.png", plt))
    if radius is not None:
        written.append(_plot_growth(plt, target, path))
    if types:
        written.append(plot_types(plt, outdir, path, types))
        return written
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
                    pos, value, species_name, radius, types = cells
                    cmap = type_colours(plt, len(types)) if types else "autumn"
                    if radius is not None and pos.shape[1] == 2:  # bodies: discs of their radius
                        sc = _discs(ax, pos, radius, value, np.zeros(len(pos), dtype=bool), cmap=cmap)
                    else:
                        sc = ax.scatter(pos[:, 0], pos[:, 1], c=value, s=4, cmap=cmap, edgecolors="none")
                    if types:
                        label_types(fig, sc, ax, types)
                    else:
                        fig.colorbar(sc, ax=ax, label=f"cells: {species_name} (molecules)", pad=0.01)
                ax.set_xlabel("x (µm)")
                ax.set_ylabel("y (µm)")
                where = ", mid-plane z" if dim == 3 else ""
                ax.set_title(f"{name} at t = {g.attrs['time']:g} min{where}")
                written.append(save_figure(fig, target / f"{name}_{step}.png", plt))
    return written


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
