# One command sets up and runs the main job (`make demo`), one sets up and runs the tests (`make test`).
# Each creates .venv if missing. torch is installed first as torch==2.13.0 (the local CPU build).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.aufx-installed
OUT ?= demo_out

.PHONY: venv demo test test-deps test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,real]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/aufx demo --out $(OUT)

# The Debian packages the browser and postgres tests need (chromium, chromium-driver, postgresql):
# installed where this machine allows it (root, or sudo without a password), else a stop within
# seconds that names the command to run. Runs before the set-up, so that stop comes first.
test-deps:
	bash scripts/provision_test_deps.sh

# The README's test command: every test, slow, browser and postgres ones included (.ci/run runs this).
test: test-deps
	$(MAKE) --no-print-directory venv
	$(BIN)/python -m pytest -m "" -q

# Fast loop for development: skips tests marked slow, browser or postgres (needs no Debian packages).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check aufx study_server analysis baselines tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
