"""``hybridsim analyze …``: the analysis tools (:mod:`hybridsim.analysis`) on the
user's own model files.

MODEL is a run config (its ``[network]``, fields and agents are used) or a
network file (TOML or SBML). The tools are serial; under ``mpirun`` rank 0 does
the work.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import InputError
from .arguments import Parser, name_values, positive_float, positive_int, subcommand, world


def add_parser(sub) -> None:
    analyze = subcommand(sub, "analyze", lambda args, petsc_args: run(args),
                         help="multiscale analysis: lens, QSSA reduction, identifiability, noise, homogenization",
                         description="Analysis tools on your model (a run config or a network file). "
                         "See docs/analysis.md for a worked example of each.")
    tools = analyze.add_subparsers(dest="tool", metavar="TOOL", parser_class=Parser)
    tools.required = True

    def tool(name, func, help, description, *, model=True, **defaults):
        p = tools.add_parser(name, help=help, description=description)
        p.set_defaults(tool_func=func, **defaults)
        if model:
            p.add_argument("model", metavar="MODEL", help="run config (TOML with [domain]) or network file (TOML/SBML)")
            p.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                           help="concentration of a field that modulates a rate (repeatable)")
        return p

    lens = tool("lens", cmd_lens, help="stochastic or deterministic? per species, field and cell density",
                description="Typical molecule numbers per cell (rate equations from the initial counts) "
                "and per voxel, the predicted relative noise 1/√n, and the recommended treatment; "
                "for a config with cells, whether their density is a continuum on the fields' scale.")
    lens.add_argument("--tolerance", type=positive_float, default=0.05, metavar="TOL",
                      help="relative fluctuation a continuum description may have (default 0.05)")
    qssa = tool("qssa", cmd_qssa, help="reduce fast reactions to their quasi-steady state and compare",
                description="Find fast reactions from the Jacobian's spectrum at the initial state (or "
                "take --fast), build the model reduced to the slow manifold, integrate both from the "
                "initial counts and print them side by side with the largest relative difference.")
    qssa.add_argument("--fast", metavar="R1,R2", help="fast reactions by name (default: detected)")
    qssa.add_argument("--t-end", type=positive_float, required=True, metavar="T", help="end time, min")
    qssa.add_argument("--points", type=positive_int, default=6, metavar="N", help="output times (default 6)")
    qssa.add_argument("--min-gap", type=positive_float, default=10.0, metavar="G",
                      help="smallest ratio of time scales that counts as separated (default 10)")
    ident = tool("identifiability", cmd_identifiability, help="which rate constants can measurements determine?",
                 description="Sensitivities of the observed species to the log rate constants (rate "
                 "equations); structural rank and non-identifiable combinations at random parameter "
                 "points; Fisher information, correlations and Cramér–Rao bounds for the stated noise.")
    ident.add_argument("--parameters", required=True, metavar="R1,R2", help="reactions whose rate constants to assess")
    ident.add_argument("--observe", required=True, metavar="S1,S2", help="measured species (A+B for a sum)")
    ident.add_argument("--times", required=True, metavar="T1,T2", help="measurement times, min; 'steady' for "
                       "the settled state")
    ident.add_argument("--experiment", action="append", default=[], metavar="S=N[,S2=N2]",
                       help="one experiment's initial counts (repeatable; default: the declared counts)")
    ident.add_argument("--noise-rel", type=float, default=0.1, metavar="R", help="relative noise s.d. (default 0.1)")
    ident.add_argument("--noise-abs", type=float, default=0.0, metavar="A", help="absolute noise s.d., molecules")
    ident.add_argument("--replicates", type=positive_int, default=1, metavar="N", help="repeats of each measurement")
    noise = tool("noise", cmd_noise, model=False, help="Fano factor, CV², autocorrelation and 1/N averaging from a run",
                 description="Noise statistics of one species across the cells of a run (OUTDIR/agents.h5, "
                 "cells present at every output): per output time, over time, and the variance of "
                 "tissue averages against the number of cells. Writes OUTDIR/plots/noise_<species>.png.")
    noise.add_argument("outdir", metavar="OUTDIR", help="output directory of a run with cells")
    noise.add_argument("--species", required=True, metavar="NAME", help="network species")
    noise.add_argument("--after", type=float, default=0.0, metavar="T",
                       help="ignore outputs before T min (the transient)")
    homog = tool("homogenize", cmd_homogenize, model=False, collective=True,
                 help="effective diffusion tensor of a periodic micro-structure",
                 description="Solve the periodic cell problem with PETSc (in parallel under mpirun) for "
                 "the local diffusivities in FILE and print the effective diffusion tensor, its bounds "
                 "and the line to put in a run config. FILE: .npy, .txt/.csv (rows y, columns x), "
                 ".h5 (dataset D, axes z, y, x) or .png (grey levels, with --phases).")
    homog.add_argument("structure", metavar="FILE", help="local diffusivities of one periodic cell")
    homog.add_argument("--spacing", metavar="HX,HY[,HZ]", help="pixel/voxel sides (default: equal)")
    homog.add_argument("--phases", metavar="D1,D2[,…]", help="for an image: D of each grey level, dark to light")
    homog.add_argument("--dataset", default="D", metavar="NAME", help="HDF5 dataset (default D)")


def run(args) -> int:
    if world().rank != 0 and not getattr(args, "collective", False):
        return 0
    return args.tool_func(args)


# ----------------------------------------------------------------------------- helpers


def _values(items, what: str, minimum: float | None = None) -> dict[str, float]:
    return name_values(items, what, minimum=minimum)


def load_model(path: str):
    """``(network, config or None)`` from a run config or a network file."""
    import tomllib

    from ..config import load_config, load_network

    p = Path(path)
    if p.suffix.lower() == ".toml" and p.is_file():
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path} is not valid TOML: {exc}") from None
        if "domain" in data:
            config = load_config(p)
            if config.network is None and config.agents is not None and len(config.agents.types) > 1:
                names = ", ".join(config.agents.type_names)
                raise InputError(f"{path} has several cell types ({names}), each with its own network: give this "
                                 "tool one type's network file")
            if config.network is None and config.agents is not None:
                return config.agents.types[0].network, config
            if config.network is None:
                raise InputError(f"{path} has no [network]: the cells' reactions are what this tool analyses")
            return config.network, config
    return load_network(str(p)), None


def _model_fields(network, config, given: dict[str, float]) -> dict[str, float]:
    """Field values for the rate equations: those given, else (for a config) each
    field's typical concentration, said aloud."""
    from ..analysis.lens import typical_fields

    needed = network.fields
    missing = [f for f in needed if f not in given]
    if not missing or config is None:
        return given
    typical = typical_fields(config)
    out = dict(given)
    for name in missing:
        value, why = typical[name]
        out[name] = value
        print(f"field {name} = {value:.4g} (typical, from {why}; set it with --field {name}=VALUE)")
    return out


def _combination(coefficients, names) -> str:
    """``L + C``, ``2·A − B``: a linear combination in readable form."""
    text = ""
    for c, name in zip(coefficients, names):
        if abs(c) < 1e-12:
            continue
        sign = "−" if c < 0 else "+"
        size = "" if abs(abs(c) - 1) < 1e-12 else f"{abs(c):.3g}·"
        text += f" {sign} {size}{name}" if text else f"{'−' if c < 0 else ''}{size}{name}"
    return text


def _names(text: str | None) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()] if text else []


# ----------------------------------------------------------------------------- tools


def cmd_lens(args) -> int:
    from ..analysis.lens import continuum_report, field_lens, network_lens, network_method

    network, config = load_model(args.model)
    fields = _model_fields(network, config, _values(args.field, "--field", 0.0))
    print(f"{args.model}: the lens for each part of the model")
    print(f"  {'species':<14}{'typical n':>12}{'noise 1/√n':>12}  recommendation")
    lenses = network_lens(network, fields)
    for s in lenses:
        print(f"  {s.name:<14}{s.typical:>12.4g}{_fmt_pct(s.noise):>12}  {s.method}: {s.reason}")
    method, why = network_method(lenses)
    print(f"  for the whole network: agents.method = {method!r} — {why}")
    if config is not None and config.species:
        print("fields (molecules per voxel at a typical concentration):")
        for s in field_lens(config):
            print(f"  {s.name:<14}{s.typical:>12.4g}{_fmt_pct(s.noise):>12}  {s.method}: {s.reason}")
    if config is not None and config.agents is not None:
        from ..io.agent_input import placement_count

        n = sum(placement_count(p, config.domain.size) for p in config.agents.placements)
        report = continuum_report(config, n)
        print(f"cells as a continuum ({n} cells):")
        for line in report.describe(args.tolerance):
            print("  " + line)
    return 0


def _fmt_pct(x: float) -> str:
    return "∞" if not math.isfinite(x) else f"{100 * x:.2g} %"


def cmd_qssa(args) -> int:
    from ..analysis.qssa import ReducedModel, detect_fast
    from ..analysis.rre import RateEquations

    network, config = load_model(args.model)
    rre = RateEquations(network, fields=_model_fields(network, config, _values(args.field, "--field", 0.0)))
    x0 = np.array(network.initial, dtype=float)
    fast = _names(args.fast)
    if not fast:
        sep = detect_fast(rre, np.maximum(x0, 1.0), min_gap=args.min_gap)
        fast = list(sep.fast)
        print(f"relaxation rates at the initial state (1/min): {', '.join(f'{r:.3g}' for r in sep.rates)}")
        print(f"{sep.n_fast_modes} fast mode(s); time-scale ratio ε ≈ {sep.epsilon:.3g}; fast reactions: "
              f"{', '.join(fast)}")
    model = ReducedModel(rre, fast)
    print("slow variables (conserved by the fast reactions): "
          + "; ".join(_combination(row, network.species) for row in model.Lambda))
    t = np.linspace(0.0, args.t_end, args.points)
    full = rre.simulate(x0, t, rtol=1e-10, atol=1e-10)
    reduced = model.simulate(x0, t)
    width = max(8, max(len(s) for s in network.species) + 2)
    print(f"{'t (min)':>9}  " + "".join(f"{s + ' full':>{width + 6}}{s + ' QSSA':>{width + 6}}"
                                         for s in network.species))
    for k in range(len(t)):
        print(f"{t[k]:>9.4g}  " + "".join(f"{full[k, i]:>{width + 6}.5g}{reduced[k, i]:>{width + 6}.5g}"
                                           for i in range(len(network.species))))
    scale = np.maximum(np.abs(full).max(axis=0), 1e-300)
    worst = np.abs(full[1:] - reduced[1:]).max(axis=0) / scale
    print("largest difference after t = 0, relative to each species' largest value: "
          + ", ".join(f"{s} {w:.2e}" for s, w in zip(network.species, worst)))
    return 0


def cmd_identifiability(args) -> int:
    from ..analysis.identifiability import STEADY, Experiment, practical, structural

    network, config = load_model(args.model)
    fields = _model_fields(network, config, _values(args.field, "--field", 0.0))
    params, observe = _names(args.parameters), _names(args.observe)
    times = []
    for item in _names(args.times):
        if item == STEADY:
            times.append(STEADY)
            continue
        try:
            times.append(float(item))
        except ValueError:
            raise InputError(f"--times expects numbers (min) or 'steady', got {item!r}") from None
        if not times[-1] > 0:
            raise InputError(f"--times must be > 0 (got {item})")
    experiments = [Experiment(e, _values([e], "--experiment", 0.0), fields) for e in args.experiment] or [
        Experiment("declared counts", {}, fields)]
    print(f"parameters (log rate constants): {', '.join(params)}; observed: {', '.join(observe)}; "
          f"times: {', '.join(map(str, times))}; {len(experiments)} experiment(s)")
    print("structural:")
    for line in structural(network, params, observe, times, experiments).describe():
        print("  " + line)
    print(f"practical (noise s.d. {args.noise_abs:g} + {args.noise_rel:g}·y, {args.replicates} replicate(s)):")
    for line in practical(network, params, observe, times, experiments, noise_abs=args.noise_abs,
                          noise_rel=args.noise_rel, replicates=args.replicates).describe():
        print("  " + line)
    return 0


def cmd_noise(args) -> int:
    from ..analysis.noise import across_cells, autocorrelation, averaging, read_counts
    from ..io.plot import plot_noise

    times, counts = read_counts(args.outdir, args.species)
    keep = times >= args.after
    times, counts = times[keep], counts[keep]
    if len(times) < 2:
        raise InputError(f"fewer than 2 outputs at t ≥ {args.after:g} min: lower --after or write more outputs")
    stats = across_cells(counts, times)
    print(f"{args.species} in {counts.shape[1]} cells present at all {len(times)} outputs (t ≥ {args.after:g} min):")
    print(f"  {'t (min)':>9}{'mean':>12}{'variance':>12}{'Fano':>9}{'CV²':>10}")
    for k in range(len(times)):
        print(f"  {times[k]:>9.4g}{stats.mean[k]:>12.5g}{stats.variance[k]:>12.5g}{stats.fano[k]:>9.4g}"
              f"{stats.cv2[k]:>10.4g}")
    acf = avg = None
    dt = np.diff(times)
    if len(times) >= 4 and np.allclose(dt, dt[0], rtol=1e-6):
        acf = autocorrelation(counts, float(dt[0]))
        print(f"  correlation time {acf.time:.4g} ± {acf.stderr:.2g} min (area under the autocorrelation)")
    else:
        print("  (autocorrelation needs at least 4 equally spaced outputs)")
    if counts.shape[1] >= 4:
        avg = averaging(counts)
        print(f"  variance of the average of N cells ∝ N^{avg.exponent:.3f} ± {avg.exponent_stderr:.2g} "
              "(−1 for independent cells)")
    print(f"  plot: {plot_noise(args.outdir, args.species, times, stats, acf, avg)}")
    return 0


def _numbers(text: str | None, what: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{what} expects numbers separated by commas, got {text!r}") from None
    if any(not v > 0 for v in values):
        raise InputError(f"{what} must be > 0 (got {text})")
    return values


def cmd_homogenize(args) -> int:
    """Collective: every rank reads the (one-cell) structure and solves its share."""
    from ..analysis.homogenization import effective_diffusion, read_structure
    from ..parallel.collective import agree

    comm = world()
    phases = _numbers(args.phases, "--phases")
    D = agree(comm, read_structure, args.structure, phases, args.dataset)
    spacing = _numbers(args.spacing, "--spacing")
    if spacing is not None and len(spacing) != D.ndim:
        raise InputError(f"--spacing needs {D.ndim} values for a {D.ndim}D structure (got {len(spacing)})")
    result = effective_diffusion(D, spacing, comm=comm)
    if comm.rank == 0:
        print(f"{args.structure}: {'×'.join(map(str, D.shape))} cells, D from {D.min():.4g} to {D.max():.4g}; "
              f"cell problems solved in {', '.join(map(str, result.iterations))} iterations on {comm.size} rank(s)")
        print("\n".join(result.describe()))
    return 0
