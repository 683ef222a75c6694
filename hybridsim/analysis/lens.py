"""Choosing the lens: which description fits each species and the cell population.

Molecule numbers decide. A species with n molecules fluctuates by about 1/√n
(Poisson); below a few tens of molecules discreteness and noise shape the
dynamics and only the exact SSA is faithful; in the hundreds tau-leaping keeps
the noise at a fraction of the cost; in the thousands the relative noise is a
few percent and reaction-rate equations suffice. The same holds for a field per
voxel, and for cells per averaging patch when a density is treated as a
continuum.

The thresholds are :data:`EXACT_BELOW` and :data:`DETERMINISTIC_FROM` molecules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config.agents import Agents

EXACT_BELOW = 50.0  # molecules: relative noise ≥ 14 %
DETERMINISTIC_FROM = 2000.0  # molecules: relative noise ≤ 2.2 %


@dataclass(frozen=True)
class SpeciesLens:
    name: str
    typical: float  # molecules per cell (or per voxel for a field)
    noise: float  # predicted relative fluctuation 1/√n
    method: str  # "exact SSA" | "tau-leaping" | "deterministic"
    reason: str


def recommend(name: str, n: float, where: str = "per cell") -> SpeciesLens:
    """The description for a species with about ``n`` molecules ``where``."""
    noise = math.inf if n <= 0 else 1.0 / math.sqrt(n)
    if n < EXACT_BELOW:
        method = "exact SSA"
        reason = (f"~{n:.3g} molecules {where}: fluctuations ~{_pct(noise)} and single events matter")
    elif n < DETERMINISTIC_FROM:
        method = "tau-leaping"
        reason = (f"~{n:.3g} molecules {where}: noise ~{_pct(noise)} still matters, but many events per "
                  f"leap are safe (ε = {Agents.tau_epsilon:g})")
    else:
        method = "deterministic"
        reason = f"~{n:.3g} molecules {where}: noise ~{_pct(noise)}, rate equations suffice"
    return SpeciesLens(name, float(n), noise, method, reason)


def _pct(x: float) -> str:
    return "∞" if not math.isfinite(x) else f"{100 * x:.2g} %"


def network_levels(network, fields: dict[str, float] | None = None) -> np.ndarray:
    """Typical molecules per cell of each species: the larger of its initial count and
    the level the rate equations settle to (or their largest value over 10 relaxation
    times if they do not settle)."""
    from .rre import RateEquations

    rre = RateEquations(network, fields=fields)
    x0 = np.array(network.initial, dtype=float)
    try:
        level = rre.steady_state(x0)
    except RuntimeError:
        rates = np.abs(np.linalg.eigvals(rre.jacobian(0.0, np.maximum(x0, 1.0))))
        rates = rates[rates > 0]
        horizon = 10.0 / rates.min() if rates.size else 1.0
        level = rre.simulate(x0, np.linspace(0.0, horizon, 50)).max(axis=0)
    return np.maximum(x0, level)


def network_lens(network, fields: dict[str, float] | None = None) -> list[SpeciesLens]:
    """The recommendation for each network species at its typical level."""
    return [recommend(name, float(n)) for name, n in zip(network.species, network_levels(network, fields))]


def network_method(lenses: list[SpeciesLens]) -> tuple[str, str]:
    """``(agents.method, why)`` for a whole network from its species' lenses."""
    exact = [s.name for s in lenses if s.method == "exact SSA"]
    high = [s.name for s in lenses if s.method != "exact SSA"]
    if not high:
        return "exact", "every species is low-copy"
    if max(s.typical for s in lenses) < DETERMINISTIC_FROM:
        # measured (scripts/bench_partitioned.py): leaping pays from a few thousand molecules;
        # below that the exact kernel (~5·10⁷ events/s) is as fast and has no bias
        return "exact", (f"no species reaches {DETERMINISTIC_FROM:g} molecules, where leaping starts to pay "
                         "(the exact SSA is as fast here)")
    if not exact:
        return "tau-leaping", "every species is high-copy"
    threshold = min(max(int(min(s.typical for s in lenses if s.name in high) / 2), 1), Agents.hybrid_threshold)
    return "hybrid", (f"low-copy {', '.join(exact)} fire exactly while high-copy {', '.join(high)} are leaped "
                      f"(hybrid_threshold = {threshold})")


def field_typical_concentration(species) -> float:
    """A typical concentration of a field from its own terms: the largest of its
    initial values, Dirichlet values and source/decay balance (production rate / decay)."""
    values = list(species.initial.all_values())
    for pair in species.boundary:
        for face in pair:
            if face.kind == "dirichlet":
                values.append(face.value)
    decay = max(species.decay.all_values()) if species.decay.all_values() else 0.0
    for source in species.sources:
        rate = source.rate if isinstance(source.rate, float) else max(source.rate.values)
        if decay > 0:
            values.append(rate / decay)
    return max(values) if values else 0.0


def typical_fields(config) -> dict[str, tuple[float, str]]:
    """Field name → (typical concentration, where it comes from). Cells that secrete
    into a field add their steady output, ``ρ·s/k`` (s molecules per cell per min at
    the rate equations' levels, k the field's decay including uptake)."""
    from .scales import species_scales

    out = {s.name: (field_typical_concentration(s), "its initial, boundary and source values")
           for s in config.species}
    if config.agents is None or not config.agents.secreted_fields:
        return out
    from ..io.agent_input import placement_count
    from .rre import RateEquations

    volume = float(np.prod(config.domain.size))
    for _ in range(2):  # secretion may depend on the field it feeds: one fixed-point pass
        values = {name: v for name, (v, _) in out.items()}
        released: dict[str, float] = {}  # field → molecules per µm^dim per min from every type
        cells = 0
        for cell in config.agents.types:
            network = cell.network
            n = sum(placement_count(p, config.domain.size) for p in cell.placements)
            cells += n
            if not network.secreted_fields or n == 0 or network.general:
                continue  # (the rate equations are for mass action: a general network's output is not estimated)
            rre = RateEquations(network, fields=values)
            a = rre.propensities(network_levels(network, values))
            for name in network.secreted_fields:
                s = sum(a[j] * r.secretes[1] for j, r in enumerate(network.reactions)
                        if r.secretes is not None and r.secretes[0] == name)
                released[name] = released.get(name, 0.0) + n / volume * s
        for name, rate in released.items():
            k = species_scales(config, config.species_named(name)).k_max
            if k > 0 and rate > 0:
                own = field_typical_concentration(config.species_named(name))
                out[name] = (max(own, rate / k), f"secretion by {cells} cells (Σρ·s/k = {rate:.3g}/{k:.3g})")
    return out


def field_lens(config) -> list[SpeciesLens]:
    """Per field: molecules per voxel at its typical concentration."""
    voxel = float(np.prod(config.domain.spacing))  # µm^dim
    per_unit = config.molecules_per_concentration
    typical = typical_fields(config)
    out = []
    for s in config.species:
        n = typical[s.name][0] * per_unit * voxel
        noise = math.inf if n <= 0 else 1.0 / math.sqrt(n)
        if n >= DETERMINISTIC_FROM:
            out.append(SpeciesLens(s.name, n, noise, "continuum field",
                                   f"~{n:.3g} molecules per voxel: fluctuations ~{_pct(noise)}, negligible"))
        else:
            out.append(SpeciesLens(s.name, n, noise, "continuum field (check)",
                                   f"~{n:.3g} molecules per voxel: the continuum ignores fluctuations of "
                                   f"~{_pct(noise)} per voxel; they average out over "
                                   f"{DETERMINISTIC_FROM / max(n, 1e-300):.3g} voxels"))
    return out


@dataclass(frozen=True)
class ContinuumReport:
    """Is a cell density a continuum on the scale the fields vary over?"""

    density: float  # cells per µm^dim
    cell_diameter: float  # µm
    variation_length: float  # µm: shortest decay length of the fields (or the domain size)
    cells_per_patch: float  # cells in a patch of side variation_length
    fluctuation: float  # predicted relative fluctuation of the density in a patch, 1/√N
    resolved: bool  # the patch is larger than a cell

    def cells_for(self, tolerance: float) -> float:
        """Cells per patch needed for a relative fluctuation of ``tolerance``."""
        return 1.0 / tolerance**2

    def describe(self, tolerance: float = 0.05) -> list[str]:
        lines = [f"cell density {self.density:.3g} per µm^d, diameter {self.cell_diameter:g} µm; the fields vary over "
                 f"ℓ ≈ {self.variation_length:.3g} µm"]
        if not self.resolved:
            lines.append(f"a cell ({self.cell_diameter:g} µm) is not small against ℓ: a continuum density is not "
                         "meaningful at this scale; keep the agents")
        lines.append(f"~{self.cells_per_patch:.3g} cells per ℓ-sized patch: a continuum density would fluctuate by "
                     f"~{_pct(self.fluctuation)}; {self.cells_for(tolerance):.0f} per patch give {_pct(tolerance)}")
        return lines


def continuum_report(config, n_cells: int) -> ContinuumReport:
    """Continuum validity for ``n_cells`` agents in the config's domain."""
    from .scales import species_scales

    d = config.domain
    volume = float(np.prod(d.size))
    density = n_cells / volume
    lengths = [species_scales(config, s).decay_length_min for s in config.species]
    lengths = [x for x in lengths if math.isfinite(x)]
    ell = min(lengths) if lengths else max(d.size)
    ell = min(ell, max(d.size))
    patch = density * ell**d.dim
    diameter = min(t.diameter for t in config.agents.types) if config.agents is not None else 10.0
    return ContinuumReport(density, diameter, ell, patch, 1.0 / math.sqrt(patch) if patch > 0 else math.inf,
                           diameter < ell)


def describe_lens(config) -> list[str]:
    """What ``hybridsim check`` says of the lens: which treatment each species'
    molecule numbers call for (``hybridsim analyze lens`` says more). The lens is
    advice: a network whose rate equations cannot be solved gets a note, not an error."""
    from ..errors import InputError

    lines = []
    agents = config.agents
    if agents is not None:
        fields = {name: value for name, (value, _) in typical_fields(config).items()}
        for cell in agents.types:
            label = f"cell type {cell.name}: " if agents.named else ""
            try:
                lenses = network_lens(cell.network, fields)
                for s in lenses:
                    lines.append(f"  {label}{s.name}: {s.method} — {s.reason}")
                method, why = network_method(lenses)
                verdict = "as configured" if method == agents.method else f"configured: {agents.method!r}"
                lines.append(f"  {label}network: agents.method = {method!r} ({verdict}) — {why}")
            except (RuntimeError, InputError) as exc:
                lines.append(f"  ({label}network species: no estimate: {exc})")
    for s in field_lens(config):
        lines.append(f"  field {s.name}: {s.method} — {s.reason}")
    if not lines:
        return []
    return ["lens (typical molecule numbers → treatment; `hybridsim analyze lens` for more):", *lines]
