# zonesolve: `make demo` plans the shipped sample, `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench bench-large clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/zonesolve lint manifests/
	$(BIN)/zonesolve update -r --fleet manifests/demo-fleet.toml

test: $(STAMP)
	$(BIN)/ruff check resolver grammar tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check resolver grammar tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pytest bench -q --benchmark-enable --benchmark-only --benchmark-autosave -m "not large"

bench-large: $(STAMP)
	$(BIN)/pytest bench -q --benchmark-enable --benchmark-only --benchmark-autosave -m large

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .benchmarks build *.egg-info
