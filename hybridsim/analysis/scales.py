"""Derived scales of reaction–diffusion (pure functions, SI-free: µm, min).

* decay length ``ℓ = √(D/k)`` (µm): how far a molecule diffuses before it decays;
* Damköhler number ``Da = (L/ℓ)²``: decay versus diffusion across the tissue of
  size L (Da ≫ 1: sharp gradients near sources; Da ≪ 1: nearly uniform field);
* diffusion time ``L²/D`` (min);
* diffusion number ``ν = Δt·D·Σ 1/h²``: stiffness of one implicit step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import Config, Species
from ..fields.solvers import diffusion_number, memory_per_cell, planned_method
from ..parallel.layout import default_proc_sizes


def decay_length(D: float, k: float) -> float:
    """``√(D/k)`` in µm (infinite without decay)."""
    return math.inf if k <= 0 else math.sqrt(D / k)


def damkohler(L: float, D: float, k: float) -> float:
    """``(L/ℓ)² = k L²/D``."""
    return k * L * L / D


@dataclass(frozen=True)
class SpeciesScales:
    name: str
    D_min: float  # µm²/min
    D_max: float
    k_min: float  # 1/min, linear decay plus vmax/km of uptake (its low-c limit)
    k_max: float
    decay_length_min: float  # µm
    decay_length_max: float
    damkohler_min: float
    damkohler_max: float
    diffusion_time: float  # L²/D_min, min
    diffusion_number: float  # Δt·D_max·Σ1/h²


def cell_uptake_rate(config: Config, field: str) -> tuple[float, float]:
    """``(ρ, k_eff)`` for uptake of ``field`` by the initial cells: their mean density
    ρ (cells per µm^dim) and the decay rate ``k_eff = ρ·Σu`` (1/min) they act as in the
    continuum limit (VALIDATION case 11; base clearances u, without modulation)."""
    from ..io.agent_input import placement_count

    agents = config.agents
    if agents is None:
        return 0.0, 0.0
    rates = [u.rate for u in agents.uptake if u.field == field]
    if not rates:
        return 0.0, 0.0
    n = sum(placement_count(p, config.domain.size) for p in agents.placements)
    rho = n / math.prod(config.domain.size)
    return rho, rho * sum(rates)


def species_scales(config: Config, species: Species) -> SpeciesScales:
    """Scales of ``species``; L is the largest extent of the domain. With
    regions or layers the extreme values give a range. ``k`` includes saturable
    uptake at low concentration (vmax/km) and uptake by cells (ρ·u)."""
    L = max(config.domain.size)
    Ds = species.diffusivities()
    uptake = species.uptake.vmax / species.uptake.km if species.uptake else 0.0
    uptake += cell_uptake_rate(config, species.name)[1]
    ks = [k + uptake for k in species.decay.all_values()]
    D_min, D_max, k_min, k_max = min(Ds), max(Ds), min(ks), max(ks)
    return SpeciesScales(
        name=species.name,
        D_min=D_min,
        D_max=D_max,
        k_min=k_min,
        k_max=k_max,
        decay_length_min=decay_length(D_min, k_max),
        decay_length_max=decay_length(D_max, k_min),
        damkohler_min=damkohler(L, D_max, k_min),
        damkohler_max=damkohler(L, D_min, k_max),
        diffusion_time=L * L / D_min,
        diffusion_number=diffusion_number(config.time.dt, D_max, config.domain.spacing),
    )


def _range(lo: float, hi: float) -> str:
    same = lo == hi or (math.isinf(lo) and math.isinf(hi))
    return f"{lo:.4g}" if same else f"{lo:.4g}–{hi:.4g}"


def describe_field_scales(config: Config, ranks: int) -> list[str]:
    """What ``hybridsim check`` says of the fields: per species D, k, ℓ, Da, L²/D,
    the stiffness of a step and the solver it calls for; uptake by the initial
    cells; unknowns and memory on ``ranks`` ranks."""
    d = config.domain
    L = max(d.size)
    lines = [f"scales (L = {L:g} µm, the largest extent; k includes uptake vmax/km and by cells ρ·u):",
             f"  {'species':<14}{'D µm²/min':>12}{'k 1/min':>11}{'ℓ=√(D/k) µm':>14}"
             f"{'Da=(L/ℓ)²':>12}{'L²/D min':>11}{'ν=DΔtΣh⁻²':>12}  solver"]
    procs = default_proc_sizes(d.cells, ranks)
    for s in config.species:
        sc = species_scales(config, s)
        method = planned_method(config, s, procs)  # on the rank grid PETSc will choose
        lines.append(f"  {s.name:<14}{_range(sc.D_min, sc.D_max):>12}{_range(sc.k_min, sc.k_max):>11}"
                     f"{_range(sc.decay_length_min, sc.decay_length_max):>14}"
                     f"{_range(sc.damkohler_min, sc.damkohler_max):>12}"
                     f"{sc.diffusion_time:>11.4g}{sc.diffusion_number:>12.4g}  {method}")
    for s in config.species:
        rho, k_cells = cell_uptake_rate(config, s.name)
        if k_cells > 0:
            D = min(s.diffusivities())
            lines.append(f"  {s.name}: cells at ρ = {rho:.4g} per µm^{d.dim} clear Σu = {k_cells / rho:.4g} "
                         f"µm^{d.dim}/min each: k_eff = ρ·u = {k_cells:.4g} 1/min, ℓ = √(D/k_eff) = "
                         f"{decay_length(D, k_cells):.4g} µm (continuum limit)")
    n_species = len(config.species)
    per_rank = math.ceil(d.n_cells / ranks)
    mem = sum(memory_per_cell(d.dim, planned_method(config, s, procs)) for s in config.species)
    lines.append(f"parallel: {ranks} rank(s) as {'×'.join(map(str, procs))}, ~{per_rank} cells and "
                 f"{per_rank * n_species} unknowns per rank")
    lines.append(f"memory: ~{mem * d.n_cells / 2**20:.1f} MiB in total, ~{mem * per_rank / 2**20:.1f} MiB per rank "
                 f"(fields, matrices and multigrid; ~{mem:.0f} bytes per cell)")
    return lines
