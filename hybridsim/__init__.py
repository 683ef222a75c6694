"""hybridsim: a distributed hybrid multiscale tissue simulator.

Fields (morphogens, cytokines, calcium) are solved implicitly with PETSc on a
structured grid split across MPI ranks; results are written to parallel HDF5
with XDMF descriptions that ParaView opens.
"""

__version__ = "0.1.0"
