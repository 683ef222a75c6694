"""Phenotype rules evaluated on arrays of cells (numpy; the rules are config:
:mod:`hybridsim.config.rules`).

PhysiCell's response (``Hypothesis_Rule::evaluate`` in ``core/PhysiCell_rules.cpp``):
with the base value ``b₀`` per cell, ``U = S_up / (1 + S_up)`` and ``D = S_down / (1 +
S_down)``, ``S = Σ (s/h)ⁿ`` over the increasing (decreasing) rules,
``b = b₀ + (b_max − b₀)·U`` and then ``b + (b_min − b)·D``.
"""

from __future__ import annotations

import numpy as np


def hill_sum(signals, rules) -> np.ndarray:
    """``S / (1 + S)`` with ``S = Σ (s/h)ⁿ`` over ``rules`` and their ``signals``."""
    total = 0.0
    for s, r in zip(signals, rules):
        total = total + np.power(np.maximum(np.asarray(s, dtype=float), 0.0) / r.half_max, r.hill)
    return total / (1.0 + total)


def respond(base, rules, signals) -> np.ndarray:
    """The behaviour's value per cell under ``rules`` (each with its signal's values in
    ``signals``, in the same order), from the base values ``base``."""
    value = np.asarray(base, dtype=float)
    up = [(s, r) for s, r in zip(signals, rules) if r.up]
    down = [(s, r) for s, r in zip(signals, rules) if not r.up]
    if up:
        value = value + (up[0][1].saturation - value) * hill_sum(*zip(*up))
    if down:
        value = value + (down[0][1].saturation - value) * hill_sum(*zip(*down))
    return value
