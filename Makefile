# hybridsim: `make run` runs the default example on 2 MPI ranks, `make test` runs the
# whole test suite. Both set up .venv first if it is missing (scripts/setup.sh).
VENV   ?= .venv
PY     := $(VENV)/bin/python
NP     ?= 2
MPIRUN ?= mpirun
EXAMPLE ?= examples/cytokine.toml
OUT    ?= output/cytokine

# OpenMPI refuses to run as root without these, and on small machines refuses more
# ranks than cores; both are harmless elsewhere.
ifeq ($(shell id -u),0)
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
endif
export OMPI_MCA_rmaps_base_oversubscribe := 1

.PHONY: setup run test lint bench clean

setup: $(VENV)/.hybridsim-setup

$(VENV)/.hybridsim-setup: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh

run: setup
	$(MPIRUN) -n $(NP) $(VENV)/bin/hybridsim run $(EXAMPLE) -o $(OUT)
	$(VENV)/bin/hybridsim plot $(OUT)

lint: setup
	@if [ -x $(VENV)/bin/ruff ]; then $(VENV)/bin/ruff check hybridsim tests scripts; \
	else echo "ruff not installed: lint skipped"; fi

test: lint
	$(PY) -m pytest

bench: setup
	$(PY) scripts/bench_diffusion.py

clean:
	rm -rf output .pytest_cache
