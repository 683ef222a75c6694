"""Run under mpirun by test_assembly.py: the stiffness matrix hybridsim assembles row
by row against the textbook element-by-element assembly (every element's λK_λ + μK_μ
added into a DMDA matrix by PETSc), after the same boundary rows; prints one line
``dim max-difference norm`` per case on rank 0."""

import sys

from hybridsim.parallel.petsc import init

init([])

from petsc4py import PETSc  # noqa: E402

from hybridsim.config import parse_config  # noqa: E402
from hybridsim.mechanics.elasticity import Elasticity  # noqa: E402
from hybridsim.parallel.grid import Grid  # noqa: E402
from hybridsim.parallel.petsc import create_matrix  # noqa: E402

CASES = ["""
[domain]
size = [30.0, 22.0]
cells = [15, 11]
[time]
dt = 1.0
t_end = 1.0
[species.ca]
D = 1.0
[mechanics]
model = "plane_stress"
E = { value = 1000.0, layers = { axis = "x", thickness = [10.0, 20.0], values = [300.0, 1500.0] } }
nu = 0.3
boundary = { x_min = "clamped" }
""", """
[domain]
size = [14.0, 10.0, 18.0]
cells = [7, 5, 9]
[time]
dt = 1.0
t_end = 1.0
[species.ca]
D = 1.0
[mechanics]
model = "solid"
E = { value = 1000.0, regions = [{ center = [7.0, 5.0, 9.0], radius = 4.0, value = 3000.0 }] }
nu = 0.25
integration = "selective"
boundary = { x_min = "clamped", y_max = "roller" }
"""]

for text in CASES:
    cfg = parse_config(text)
    grid = Grid(cfg.domain)
    mech = Elasticity(grid, cfg.mechanics)
    el = mech.element
    K_lambda = el.K_lambda_reduced if cfg.mechanics.integration == "selective" else el.K_lambda
    reference = create_matrix(mech.da)
    element = mech.lam[:, None, None] * K_lambda + mech.mu[:, None, None] * el.K_mu
    dofs = mech._element_dofs
    reference.setValuesLocalRCV(dofs, dofs, element.reshape(len(element), -1), addv=PETSc.InsertMode.ADD_VALUES)
    reference.assemble()
    reference.zeroRowsColumns(mech.fixed, 1.0)
    difference = mech.A.copy()
    difference.axpy(-1.0, reference, structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
    big = reference.norm(PETSc.NormType.INFINITY)
    gap = difference.norm(PETSc.NormType.INFINITY)
    symmetric = mech.A.isSymmetric(1e-12 * big)  # collective
    if PETSc.COMM_WORLD.rank == 0:
        print(grid.dim, gap, big, mech.A.getBlockSize(), symmetric)
    sys.stdout.flush()
