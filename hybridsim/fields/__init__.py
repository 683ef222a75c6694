"""Chemical fields on the grid and the PETSc solvers that advance them."""
