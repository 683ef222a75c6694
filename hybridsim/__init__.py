"""hybridsim: a distributed hybrid multiscale tissue simulator.

Fields (morphogens, cytokines, calcium) are solved implicitly with PETSc on a
structured grid split across MPI ranks; cell agents carry intracellular networks
simulated exactly (SSA), move, divide and die; the tissue can contract under an
active stress. Results go to parallel HDF5 with XDMF descriptions that ParaView
opens. The layers and who may import whom: docs/architecture.md.
"""

__version__ = "0.1.0"
