# zonesolve: `make demo` plans the shipped sample (and asks why of one package), `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench bench-large bench-site fuzz clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The demo host again, as pkg(5) and zoneadm keep it on disk (written by the
# fixture script, not committed: out/ is ignored by git).
DEMO_HOST := out/demo-host

demo: $(STAMP)
	$(BIN)/zonesolve lint manifests/
	$(BIN)/zonesolve update -r --fleet manifests/demo-fleet.toml
	$(BIN)/python tests/fixtures/make_image_roots.py $(DEMO_HOST)
	$(BIN)/zonesolve update -r --root $(DEMO_HOST)/host
	$(BIN)/zonesolve why web/server/haproxy --image global --fleet manifests/demo-fleet.toml

test: $(STAMP)
	$(BIN)/ruff check resolver grammar tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check resolver grammar tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

#: The long fuzz profile (tests/fuzz.py): mutated inputs run in-process, one worker per CPU.
FUZZ_CASES ?= 100000
FUZZ_SEED ?= 0
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --count $(FUZZ_CASES) --seed $(FUZZ_SEED)

bench: $(STAMP)
	$(BIN)/pytest bench -q --benchmark-enable --benchmark-only --benchmark-autosave -m "not large"

bench-large: $(STAMP)
	$(BIN)/pytest bench -q --benchmark-enable --benchmark-only --benchmark-autosave -m large

bench-site: $(STAMP)
	$(BIN)/pytest bench/test_site.py -q -s --benchmark-enable --benchmark-autosave -m site

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .benchmarks build *.egg-info $(DEMO_HOST)
