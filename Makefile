# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

NODE_DIR   := tests/interop/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed

.PHONY: run setup node-deps browser test test-nightly lint bench bench-scale clean

## Set everything up, make a demo ledger in $(DEMO_DIR) (once: SQLite, the embedded default),
# print the URL of a passport page to open, and serve it (bpl serve; Ctrl-C stops it).
DEMO_DIR ?= data/demo
HOST     ?= 127.0.0.1
PORT     ?= 8000
# The demo passport with the longest chain: a page with the most to show.
DEMO_PASSPORT := import collections, json, sys; from ledger.facade import Ledger; \
  ledger = Ledger.open(sys.argv[1], writable=False); \
  chains = collections.Counter(json.loads(leaf)["credentialSubject"]["id"] \
    for leaf in ledger.log.leaves(0, ledger.log.size())); \
  print(max((c for c in chains if c.startswith("urn:bpl:passport:")), key=chains.__getitem__))

run: $(STAMP)
	@[ -f $(DEMO_DIR)/log.json ] || $(BIN)/bpl demo --data-dir $(DEMO_DIR) --batteries 60 > /dev/null
	@echo "Open http://$(HOST):$(PORT)/passports/$$($(BIN)/python -c '$(DEMO_PASSPORT)' $(DEMO_DIR))"
	$(BIN)/bpl serve --data-dir $(DEMO_DIR) --host $(HOST) --port $(PORT)

setup: $(STAMP)

# The C accelerator of signing/jcs.py is built by the install: rebuild when it changes.
# Upgrading the venv's pip costs 2 s and saves more: the install that follows takes 18-24 s
# with the current pip, 29-34 s with the pip of Python 3.11's venv (measured). --no-compile:
# no bytecode for the 2,800 files of every package installed (most never imported), 9-11 s
# instead of 15 s; Python compiles the modules a run imports, once, in about a second.
$(STAMP): pyproject.toml signing/_jcs_speedups.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e ".[dev]"
	touch $(STAMP)

## Debian's Chromium for the browser tests (tests/passport/browser): Playwright drives it by
# its path; a browser Playwright would download is never used (the network here has none).
BROWSER := /usr/bin/chromium
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser: $(BROWSER)

$(BROWSER):
	$(SUDO) apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
	  || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium fonts-dejavu-core)

## The JavaScript Data Integrity libraries that tests/interop cross-checks against (npm).
node-deps: $(NODE_STAMP)

$(NODE_STAMP): $(NODE_DIR)/package-lock.json $(NODE_DIR)/package.json
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund
	touch $(NODE_STAMP)

## Lint, type-check and run the whole test suite.
# Bytecode is written during the tests even where the environment says not to
# (PYTHONDONTWRITEBYTECODE=1 here): the README's sessions run bpl as a process dozens of
# times, and each recompiled every module it imports (the dismantler session took 113 s
# instead of 44 s, measured on a loaded machine).
# mypy (one core, 12 s) runs beside pytest, whose two workers leave a core idle now and
# then (waiting on PostgreSQL, on processes they start, on the browser); its report
# follows pytest's, and either failing fails the target.
test: $(STAMP) $(NODE_STAMP) $(BROWSER)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	@$(BIN)/mypy > $(VENV)/mypy.log 2>&1 & typing=$$!; \
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest; tests=$$?; \
	wait $$typing; typed=$$?; echo "mypy:"; cat $(VENV)/mypy.log; \
	[ $$tests -eq 0 ] && [ $$typed -eq 0 ]

## The same, with ten times the examples of every property test (tests/hypothesis_profiles.py).
test-nightly: $(STAMP) $(NODE_STAMP) $(BROWSER)
	BPL_HYPOTHESIS_PROFILE=nightly $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## Benchmarks print figures; they never pass or fail.
bench: $(STAMP)
	$(BIN)/python bench/bench_jcs.py
	$(BIN)/python bench/bench_signing.py
	$(BIN)/python bench/bench_log.py
	$(BIN)/python bench/bench_ledger.py

## A full audit of a 1,000,000-record ledger (builds it first: about 10 minutes).
bench-scale: $(STAMP)
	$(BIN)/python bench/bench_audit_scale.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
