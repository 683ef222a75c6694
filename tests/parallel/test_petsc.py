"""The PETSc API the code uses exists in petsc4py 3.18 and in current releases."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_petsc4py_name_removed_in_newer_releases_is_used():
    # DMDA.createMatrix is gone in petsc4py ≥ 3.2x, setDMActive changed signature and
    # getVecArray warns under numpy 2: only the compatibility module may touch them
    removed = re.compile(r"\.(createMatrix|getVecArray|setDMActive)\(")
    offenders = [str(p) for p in (ROOT / "hybridsim").rglob("*.py")
                 if p.name != "petsc.py" and removed.search(p.read_text())]
    assert offenders == []
