"""Run ``hybridsim`` with files limited to LIMIT bytes, as on a full disk.

Usage: limited_run.py LIMIT hybridsim-arguments…  The limit (RLIMIT_FSIZE) is set
after MPI has started, so MPI's own shared-memory files are not affected;
writes beyond it fail with EFBIG (Python ignores SIGXFSZ).
"""

import resource
import sys

from mpi4py import MPI  # noqa: F401  (initialise MPI first)

limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

from hybridsim.commands import main  # noqa: E402

sys.exit(main(sys.argv[2:]))
