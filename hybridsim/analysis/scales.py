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


def species_scales(config: Config, species: Species) -> SpeciesScales:
    """Scales of ``species``; L is the largest extent of the domain. With
    regions or layers the extreme values give a range."""
    L = max(config.domain.size)
    Ds = species.D.all_values()
    uptake = species.uptake.vmax / species.uptake.km if species.uptake else 0.0
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
