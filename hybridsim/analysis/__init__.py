"""Tools from multiscale theory that work on the user's own model (docs/analysis.md).

    from hybridsim.analysis import RateEquations, ReducedModel, detect_fast
    from hybridsim.analysis import structural, practical, Experiment
    from hybridsim.analysis import effective_diffusion, across_cells, autocorrelation, averaging
    from hybridsim.analysis import network_lens, continuum_report

Names are imported on first use, so importing the package loads neither scipy nor PETSc.
"""

from __future__ import annotations

_WHERE = {
    "RateEquations": "rre",
    "ReducedModel": "qssa", "detect_fast": "qssa",
    "Experiment": "identifiability", "structural": "identifiability", "practical": "identifiability",
    "sensitivity_matrix": "identifiability", "forward_sensitivities": "identifiability",
    "effective_diffusion": "homogenization", "read_structure": "homogenization",
    "across_cells": "noise", "autocorrelation": "noise", "averaging": "noise", "read_counts": "noise",
    "network_lens": "lens", "network_method": "lens", "field_lens": "lens", "continuum_report": "lens",
    "recommend": "lens",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
