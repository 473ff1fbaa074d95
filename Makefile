# One command sets up and runs the main job (`make demo`), one sets up and runs the tests (`make test`).
# Each creates .venv if missing. torch is installed first as torch==2.13.0 (the local CPU build).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.aufx-installed
OUT ?= demo_out

.PHONY: venv demo test test-fast test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,real]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/aufx demo --out $(OUT)

# The README's test command: every test, slow, browser and postgres ones included (CI runs this).
test: $(STAMP)
	$(BIN)/python -m pytest -m "" -q

# Fast loop for development: skips tests marked slow, browser or postgres.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check aufx study_server analysis baselines tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
