"""Parallel HDF5 output with XDMF for ParaView, checkpoints that restart on any
number of ranks, agent input files and plots; reads the simulation, never changes it."""
