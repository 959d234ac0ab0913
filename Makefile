# pioleader: two commands for users (`make run`, `make test`), a few for developers.
#
# Everything is installed on demand, so both commands work on a fresh Debian machine that has
# only python3 and make: a virtual environment in .venv, the Python dependencies from PyPI, and
# mosquitto from Debian's packages when it is not already installed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?= $(HOME)/.pioleader
PORT ?= 4999
WORKERS ?= 3
PYTEST_ARGS ?=

# apt-get needs root; use sudo only when we are not root already.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends

.PHONY: run test lint typecheck format deps test-deps ui-test-deps mosquitto clean

run: deps mosquitto
	$(BIN)/pioleader up --data-dir "$(DATA_DIR)" --port $(PORT) --workers $(WORKERS)

test: test-deps mosquitto
	$(BIN)/ruff check pioleader tests bench
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

lint: test-deps
	$(BIN)/ruff check pioleader tests bench
	$(BIN)/ruff format --check pioleader tests bench

typecheck: test-deps
	$(BIN)/mypy

format: test-deps
	$(BIN)/ruff format pioleader tests bench
	$(BIN)/ruff check --fix pioleader tests bench

deps: $(VENV)/.deps-installed
test-deps: $(VENV)/.test-deps-installed

# Debian ships venv support separately (python3-venv); install it only if creating a venv fails.
$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) >/dev/null 2>&1 || { \
	  echo "python3 -m venv failed; installing python3-venv from Debian's packages"; \
	  rm -rf $(VENV); \
	  $(SUDO) apt-get update -qq && $(APT_INSTALL) python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.deps-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.test-deps-installed: pyproject.toml $(VENV)/.deps-installed
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

# What the end-to-end UI test needs beyond test-deps (it skips, saying so, without them):
# Debian's Chromium (Playwright drives it; no browser download) and the official UI build
# from the pioreactor wheel on PyPI, cached in .cache/ui.
ui-test-deps: test-deps
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(APT_INSTALL) chromium; }
	$(BIN)/python -m tests.e2e.ui_build

mosquitto:
	@if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then :; else \
	  echo "mosquitto not found; installing it from Debian's packages"; \
	  $(SUDO) apt-get update -qq && $(APT_INSTALL) mosquitto; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
