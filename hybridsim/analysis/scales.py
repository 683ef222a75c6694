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
from ..fields.solvers import diffusion_number


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
    import math as _math

    from ..agents import placement

    agents = config.agents
    if agents is None:
        return 0.0, 0.0
    rates = [u.rate for u in agents.uptake if u.field == field]
    if not rates:
        return 0.0, 0.0
    n = sum(placement.count(p, config.domain.size) for p in agents.placements)
    rho = n / _math.prod(config.domain.size)
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
