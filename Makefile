# Every target sets up .venv on first use, so `make repro` / `make test` work on a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
# Tests never write inside the repo; MPLBACKEND avoids needing a display.
export MPLBACKEND := Agg

.PHONY: setup repro test test-fast lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

repro: $(STAMP)
	dvc repro
	@echo "Report: reports/README.md"

test: $(STAMP)
	$(PY) -m pytest -q -n 2 tests

test-fast: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow" tests

lint: $(STAMP)
	$(VENV)/bin/ruff check src stages tests benchmarks
	$(VENV)/bin/ruff format --check src stages tests benchmarks

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV)
