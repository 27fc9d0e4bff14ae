# Every target sets up .venv on first use, so `make repro` / `make test` work on a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
# Tests never write inside the repo; MPLBACKEND avoids needing a display.
export MPLBACKEND := Agg

.PHONY: setup lock repro repro-reference test test-fast lint bench clean

setup: $(STAMP)

# The locked environment: every package pinned with its sha256 (requirements.lock), then
# colorbench itself, editable, with the locked build backend. Refresh the lock: `make lock`.
$(STAMP): requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Re-resolve pyproject's ranges (newest versions pip finds here) into requirements.lock.
lock: $(STAMP)
	$(PY) tools/lock.py

# `profile check` first: a setting some stage would refuse fails now, not hours in.
repro: $(STAMP)
	colorbench profile check
	dvc repro
	@echo "Report: reports/README.md"

# The same in reference mode: CPU-independent kernels, fixed threads (README: Reproducibility).
repro-reference: $(STAMP)
	colorbench profile check
	colorbench reference -- dvc repro
	@echo "Report: reports/README.md"

# 2 workers fed a few tests at a time (each test its own unit), costliest first
# (tests/conftest.py: cost marks), so the long end-to-end runs start at once on both.
XDIST := -n 2 --dist loadgroup

test: $(STAMP)
	$(PY) -m pytest -q $(XDIST) tests

test-fast: $(STAMP)
	$(PY) -m pytest -q $(XDIST) -m "not slow" tests

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV)
