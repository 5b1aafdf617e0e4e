# Two commands on a fresh machine with Python 3.11+:
#   make run    set up, then run the service on the embedded default (SQLite, local folders)
#   make test   set up, then run the whole test suite (lint, types, tests)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# A job's network needs slirp4netns: installed here where root has apt; without it,
	@# only jobs whose configuration asks for network are refused.
	@command -v slirp4netns >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && apt-get install -y -qq slirp4netns iproute2 >/dev/null; } \
	  || echo "slirp4netns is not installed: jobs with network are refused (apt-get install slirp4netns)"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/jobmanager serve --example

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

test: lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

clean:
	rm -rf $(VENV) .jobmanager
