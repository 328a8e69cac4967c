# Two commands on a fresh machine:  `make run`  and  `make test`  (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export DEBUG ?= true

.PHONY: run test install install-test lint demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt

## Install, migrate the SQLite database and serve on http://127.0.0.1:8000
run: install
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

## Install test dependencies and run the whole suite (SQLite; TEST_DATABASE_URL for PostgreSQL)
test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Install, migrate, seed demo data, create admin/admin-pass-1234 and serve
demo: install
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed
	ADMIN_PASSWORD=$${ADMIN_PASSWORD:-Slipper-Admin-2026} $(BIN)/flask --app wsgi create-admin --username admin
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
