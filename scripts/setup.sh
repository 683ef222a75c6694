#!/usr/bin/env bash
# Set up hybridsim in .venv (idempotent; safe to run again).
#
# 1. Find a Python on which mpi4py, petsc4py, parallel h5py, numba, numpy and scipy import:
#    $HYBRIDSIM_PYTHON if set, else the python3 on PATH (cluster module, conda-forge,
#    Spack), else /usr/bin/python3. If none has the stack and apt-get is available,
#    install Debian's packages (PETSc 3.18, OpenMPI, parallel HDF5).
# 2. Create .venv from that Python with --system-site-packages, so the MPI-enabled
#    builds stay visible, and make Debian's petsc4py importable without PETSC_DIR.
# 3. Install hybridsim editable, without letting pip replace the MPI stack, plus
#    the test tools: pytest, ruff, python-libsbml, and what reads the XDMF output as
#    ParaView does — the vtk wheel (pip) and, where apt-get can, Debian's ParaView
#    (pvbatch, its XDMF3 reader) with Xvfb for its off-screen pictures. These are
#    optional: without them the tests that need them say so and are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
APT_PACKAGES="python3-petsc4py python3-mpi4py python3-h5py-mpi python3-numba python3-numpy \
  python3-scipy python3-matplotlib python3-pytest python3-venv python3-pip openmpi-bin"
DEBIAN_PETSC_GLOB="/usr/lib/petscdir/petsc*/*-real/lib/python3/dist-packages"

log() { echo "setup: $*"; }

# Prints what is missing from the stack for interpreter $1 (nothing if complete).
missing_stack() {
  local extra=""
  for d in $DEBIAN_PETSC_GLOB; do [ -d "$d" ] && extra="$d"; done
  HYBRIDSIM_EXTRA_PATH="$extra" H5PY_ALWAYS_USE_MPI=1 "$1" - <<'PY' 2>/dev/null || echo "python"
import importlib, os, sys
extra = os.environ.get("HYBRIDSIM_EXTRA_PATH")
if extra:
    sys.path.append(extra)
missing = []
for mod in ("numpy", "scipy", "numba", "mpi4py", "petsc4py", "h5py"):
    try:
        importlib.import_module(mod)
    except Exception:
        missing.append(mod)
if "h5py" not in missing:
    import h5py
    if not h5py.get_config().mpi:
        missing.append("h5py(with MPI)")
if sys.version_info < (3, 11):
    missing.append("python>=3.11")
print(" ".join(missing))
PY
}

pick_python() {
  local candidates=()
  [ -n "${HYBRIDSIM_PYTHON:-}" ] && candidates+=("$HYBRIDSIM_PYTHON")
  command -v python3 >/dev/null 2>&1 && candidates+=("$(command -v python3)")
  [ -x /usr/bin/python3 ] && candidates+=(/usr/bin/python3)
  for py in "${candidates[@]}"; do
    if [ -z "$(missing_stack "$py")" ]; then echo "$py"; return 0; fi
  done
  return 1
}

if [ -x "$VENV/bin/python" ] && [ -z "$(missing_stack "$VENV/bin/python")" ] \
   && [ -f "$VENV/.hybridsim-setup" ] && [ "$VENV/.hybridsim-setup" -nt pyproject.toml ] \
   && [ "$VENV/.hybridsim-setup" -nt scripts/setup.sh ]; then
  log "$VENV is up to date"
  exit 0
fi

if ! PY=$(pick_python); then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    log "installing Debian's MPI/PETSc/HDF5 stack with apt-get (a few minutes)"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $APT_PACKAGES >/dev/null
    PY=/usr/bin/python3
    if [ -n "$(missing_stack "$PY")" ]; then
      echo "setup: error: after apt-get, $PY still lacks: $(missing_stack "$PY")" >&2
      exit 1
    fi
  else
    echo "setup: error: no Python here imports mpi4py, petsc4py, parallel h5py, numba and numpy," >&2
    echo "setup: and apt-get is not available. Load your cluster's PETSc/MPI/HDF5 modules or" >&2
    echo "setup: activate a conda/Spack environment that has them, then run this again" >&2
    echo "setup: (set HYBRIDSIM_PYTHON=/path/to/python to choose the interpreter; see README)." >&2
    exit 1
  fi
fi
log "using $PY ($("$PY" --version 2>&1))"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv --system-site-packages "$VENV"
fi
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# Debian's petsc4py sits outside sys.path unless PETSC_DIR is set: point a .pth file at it.
if ! "$VENV/bin/python" -c 'import petsc4py' 2>/dev/null; then
  for d in $DEBIAN_PETSC_GLOB; do [ -d "$d" ] && echo "$d" > "$SITE/hybridsim-petsc4py.pth"; done
fi
"$VENV/bin/python" -c 'import petsc4py' || { echo "setup: error: petsc4py does not import in $VENV" >&2; exit 1; }

# --no-deps: pip must not swap the MPI builds of mpi4py/h5py for serial wheels.
"$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | grep -v "^\[notice\]" || true
"$VENV/bin/python" -c 'import pytest' 2>/dev/null || "$VENV/bin/python" -m pip install -q "pytest>=7.2"
"$VENV/bin/python" -c 'import libsbml' 2>/dev/null || "$VENV/bin/python" -m pip install -q "python-libsbml>=5.19" \
  || log "python-libsbml not installed (no PyPI?); SBML networks unavailable"
"$VENV/bin/python" -m pip install -q "ruff==0.8.6" 2>/dev/null || log "ruff not installed (no PyPI?); linting skipped"
# The vtk wheel's only dependency (matplotlib) is already there: --no-deps keeps pip off the stack.
"$VENV/bin/python" -c 'import vtkmodules.vtkIOXdmf2' 2>/dev/null \
  || "$VENV/bin/python" -m pip install -q --no-deps "vtk>=9.2" 2>/dev/null \
  || log "vtk not installed (no PyPI?); the XDMF reader tests need ParaView instead"
# Mesa's EGL lets the vtk wheel draw without a display; Xvfb gives pvbatch (and VTK, where EGL fails) one.
if ! command -v pvbatch >/dev/null 2>&1 || ! command -v Xvfb >/dev/null 2>&1 \
   || ! ldconfig -p 2>/dev/null | grep -q libEGL_mesa; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
    log "installing Debian's ParaView and Xvfb for the tests of the ParaView output (about a minute)"
    # shellcheck disable=SC2086
    { $SUDO apt-get install -y -qq --no-install-recommends paraview python3-paraview xvfb libegl1 libegl-mesa0 libgl1-mesa-dri >/dev/null 2>&1 \
      || { $SUDO apt-get update -qq >/dev/null 2>&1 \
           && $SUDO apt-get install -y -qq --no-install-recommends paraview python3-paraview xvfb libegl1 libegl-mesa0 libgl1-mesa-dri >/dev/null 2>&1; }; } \
      || log "ParaView not installed (no apt rights?); its tests will be skipped"
  fi
fi
"$VENV/bin/python" -c 'import hybridsim, petsc4py, mpi4py, h5py, numba; print("setup: stack ok: petsc4py", petsc4py.__version__, "mpi4py", mpi4py.__version__, "h5py", h5py.__version__, "numba", numba.__version__)'
touch "$VENV/.hybridsim-setup"
