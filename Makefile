# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# STAMP: what the server needs (`make run`, `make demo`); DEV: that and the dev tools
# (pytest, mypy, playwright, ...) for tests and lint.
STAMP := $(VENV)/.installed
DEV := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000
DATA ?= ./data

.PHONY: run test check lint fmt bench load demo clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $(STAMP)

$(DEV): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(DEV)

run: $(STAMP)
	$(BIN)/outagewatch serve --host $(HOST) --port $(PORT) --data $(DATA)

# The browser tests drive Debian's chromium; installs it when root, else they skip.
chromium:
	sh scripts/install-chromium.sh

test: $(DEV) chromium
	$(BIN)/python -m pytest

lint: $(DEV)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	@# mypy does not follow setuptools' editable import hook: it reads the three folders
	@# through links named as installed (outagewatch.app, .detector, .ingest).
	mkdir -p $(VENV)/typecheck/outagewatch
	for d in app detector ingest; do ln -sfn ../../../$$d $(VENV)/typecheck/outagewatch/$$d; done
	MYPYPATH=$(VENV)/typecheck $(BIN)/mypy -p outagewatch.ingest -p outagewatch.detector -p outagewatch.app

fmt: $(DEV)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint test

demo: $(STAMP)
	$(BIN)/outagewatch demo --host $(HOST) --port $(PORT)

# Figures for docs/benchmarks.md, each beside a floor or ceiling measured in the same
# run: in-process first (pipeline, replay, a million series), then HTTP under wrk
# (intake against the bare handler, reads under ingest, reads at a million series).
# About 25 minutes and 5 GB of memory on a 2-core machine.
bench: $(DEV)
	bash scripts/install-bench-tools.sh
	mkdir -p benchmarks/out
	$(BIN)/python -m benchmarks.pipeline_bench --json benchmarks/out/pipeline.json
	$(BIN)/python -m benchmarks.replay_bench --json benchmarks/out/replay.json
	$(BIN)/python -m benchmarks.million_series --json benchmarks/out/million.json
	$(BIN)/python -m benchmarks.http.run
	$(BIN)/python -m benchmarks.http.intake_ratio --rounds 3
	$(BIN)/python -m benchmarks.http.million_reads

# Locust against a server you started (see load_tests/README.md for its settings).
LOAD_SCENARIO ?= mixed
LOAD_USERS ?= 100
LOAD_TIME ?= 2m
LOAD_HOST ?= http://127.0.0.1:8765
load: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[load]'
	mkdir -p benchmarks/out
	LOAD_SCENARIO=$(LOAD_SCENARIO) $(BIN)/locust -f load_tests/locustfile.py --headless \
		-u $(LOAD_USERS) -r $(LOAD_USERS) -t $(LOAD_TIME) -H $(LOAD_HOST) \
		--csv benchmarks/out/load-$(LOAD_SCENARIO)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
