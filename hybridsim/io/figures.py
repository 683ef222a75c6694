"""What every plot of ``hybridsim plot`` shares: matplotlib with the file-only Agg
backend, output files opened with one-line errors, and figures saved as PNG."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError


def pyplot():
    """matplotlib's pyplot with the file-only Agg backend (an InputError if matplotlib is missing)."""
    try:
        import matplotlib
    except ImportError:
        raise InputError(
            "hybridsim plot needs matplotlib: `pip install matplotlib` (or Debian's python3-matplotlib)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def open_output(path: Path):
    """An output HDF5 file, read-only (an InputError if it cannot be read)."""
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{str(path)!r} cannot be read as HDF5: {exc}") from None


def save_figure(fig, path: Path, plt) -> Path:
    """Write ``fig`` to ``path`` (PNG, 100 dpi) and close it."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
