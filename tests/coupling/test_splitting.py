"""Order of the operator splitting between cells and fields.

A field decays (rate γ, Crank–Nicolson) and induces a species X in N cells at rate
k·c, which they degrade at rate s. The mean of X is then exactly
``k/(s−γ)·(e^{−γT} − e^{−sT})``. Cells see the field frozen over each coupling step:
at its start with Lie splitting (error O(Δt)), at its middle with Strang splitting
(O(Δt²)). The SSA within a step is exact for the frozen field, so the measured
error is the splitting error plus the sampling error of the mean over N cells,
which sets the tolerance of the fitted order. The same holds when the field's decay
is the cells' own uptake (N cells clearing u each in a cell of volume V: γ = N·u/V),
which Crank–Nicolson weights like the rest of the operator.
"""

import math

import numpy as np
import pytest

from hybridsim.config import parse_config

TEXT = """
seed = 1
[domain]
size = [1.0]
cells = [1]
[time]
dt = {dt}
t_end = 8.0
scheme = "crank_nicolson"
splitting = "{splitting}"
[species.signal]
D = 1.0
decay = 0.4
initial = 1.0
[network]
species = {{ X = 0 }}
reactions = [
  {{ name = "induction", products = {{ X = 1 }}, rate = {{ k = 100.0, field = "signal" }} }},
  {{ name = "degradation", reactants = {{ X = 1 }}, rate = 0.1 }},
]
[agents]
initial = {{ count = 80000 }}
{uptake}"""
GAMMA, K, S, T = 0.4, 100.0, 0.1, 8.0


def _relative_error(splitting, dt, by_cells=False):
    from mpi4py import MPI

    from hybridsim.simulation import Simulation

    text = TEXT.format(dt=dt, splitting=splitting, uptake="")
    if by_cells:  # the same decay γ, as uptake by the 80000 cells of the 1 µm domain
        uptake = f'uptake = [{{ field = "signal", rate = {GAMMA / 80000} }}]\n'
        text = TEXT.format(dt=dt, splitting=splitting, uptake=uptake)
        text = text.replace("decay = 0.4", "decay = 0.0")
    sim = Simulation(parse_config(text), MPI.COMM_WORLD)
    sim.run()
    x = sim.population.store.counts[:, 0].astype(float)
    sim.destroy()
    exact = K / (S - GAMMA) * (math.exp(-GAMMA * T) - math.exp(-S * T))
    return (x.mean() - exact) / exact, x.std() / math.sqrt(x.size) / exact


@pytest.mark.parametrize("splitting, order, by_cells", [("lie", 1.0, False), ("strang", 2.0, False),
                                                       ("strang", 2.0, True)])
def test_splitting_error_converges_at_the_stated_order(splitting, order, by_cells):
    steps = np.array([2.0, 1.0, 0.5])
    errors, ses = zip(*(_relative_error(splitting, dt, by_cells) for dt in steps))
    errors, ses = np.abs(errors), np.array(ses)
    assert np.all(errors > 3 * ses)  # the splitting error is resolved above the sampling noise
    # weighted least squares of log|error| against log Δt; σ(log|e|) = se/|e|
    w = (errors / ses) ** 2
    x, y = np.log(steps), np.log(errors)
    xm, ym = (w * x).sum() / w.sum(), (w * y).sum() / w.sum()
    slope = (w * (x - xm) * (y - ym)).sum() / (w * (x - xm) ** 2).sum()
    slope_se = 1 / math.sqrt((w * (x - xm) ** 2).sum())
    assert abs(slope - order) < max(0.15, 4 * slope_se), (slope, slope_se, errors)
