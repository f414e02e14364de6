# Expohall: `make run` serves the demo event, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest e2e migrate demo bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Expohall needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@ $(VENV)/.installed

run: export EXPOHALL_DEV = 1
run: export EXPOHALL_BASE_URL = http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(BIN)/expohall migrate
	$(BIN)/expohall demo --if-empty
	@echo "Expohall is starting on http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	$(BIN)/expohall serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/pytest $(ARGS)

migrate: export EXPOHALL_DEV = 1
migrate: $(VENV)/.installed
	$(BIN)/expohall migrate

demo: export EXPOHALL_DEV = 1
demo: $(VENV)/.installed
	$(BIN)/expohall demo --reset

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
