"""Everything that knows about MPI and PETSc's domain decomposition."""
