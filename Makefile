# Two commands for a new machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
PIP_INSTALL := $(PIP) install --quiet --only-binary=:all: --require-hashes --no-deps

.PHONY: run test bench lint format lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: requirements.lock pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -r requirements.lock
	$(PIP) install --quiet --no-deps --no-build-isolation --editable .
	touch $@

$(VENV)/.dev-deps: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -r requirements-dev.lock
	$(PIP) install --quiet --no-deps --no-build-isolation --editable .
	touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/hisaab up

test: $(VENV)/.dev-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# Flags: BENCH_ARGS for the usage benchmark (--events 10M), BILLING_ARGS for the billing run
# (--n 10k,100k --million --workers 2 --tenants 4).
bench: $(VENV)/.dev-deps
	BENCH_BILLING_ARGS='$(BILLING_ARGS)' $(BIN)/python -m bench $(BENCH_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

format: $(VENV)/.dev-deps
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# Re-pin after changing dependencies in pyproject.toml (needs uv: pip install uv).
# docopt is left out: only num2words's command-line script uses it, and it ships no wheel.
lock:
	uv pip compile pyproject.toml requirements/build.in --universal --python-version 3.11 --generate-hashes --no-emit-package docopt -o requirements.lock
	uv pip compile pyproject.toml requirements/build.in --extra dev --universal --python-version 3.11 --generate-hashes --no-emit-package docopt -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest-pg
