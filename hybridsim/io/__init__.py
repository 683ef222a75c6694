"""Parallel HDF5 output (and, later, checkpoints) that ParaView and h5py read."""
