# Two commands on a fresh machine with Python 3.11+:
#   make run    set up what running needs, then run the service on the embedded default
#               (SQLite, local folders) and an example job
#   make test   set up the test tools too, then run the whole test suite (lint, types, tests)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

.PHONY: run test lint setup clean

# A job's network needs slirp4netns: installed where root has apt; without it, only jobs
# whose configuration asks for network are refused.
SYSTEM_PACKAGES = command -v slirp4netns >/dev/null 2>&1 \
	|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	     && apt-get update -qq && apt-get install -y -qq slirp4netns iproute2 >/dev/null; } \
	|| echo "slirp4netns is not installed: jobs with network are refused (apt-get install slirp4netns)"

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# What running needs: jobmanager and its dependencies, no test tools.
$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	@$(SYSTEM_PACKAGES)
	touch $(RUN_STAMP)

# The test tools too (the `dev` extra); it holds everything running needs.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@$(SYSTEM_PACKAGES)
	touch $(STAMP) $(RUN_STAMP)

setup: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/jobmanager serve --example

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

test: lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# The data (the home: ~/.local/share/jobmanager or $JOBMANAGER_HOME) is never removed here.
clean:
	rm -rf $(VENV)
