# The two commands a newcomer needs: `make demo` and `make test`. Everything else is what they use.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup system-packages services stop-services demo test lint chaos

setup: system-packages $(VENV)/.installed

system-packages:
	@deploy/local/system-packages.sh

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

services: setup
	@deploy/local/services.sh start

stop-services:
	@deploy/local/services.sh stop

# The demo's API and worker log in as rekap_app, with the service's privileges only; migrations
# as the owner of the tables (deploy/local/lib.sh).
demo: services
	@. deploy/local/lib.sh && service_url="$$(service_database_url)" && \
		REKAP_DATABASE_OWNER_URL="$$OWNER_DATABASE_URL" REKAP_DATABASE_URL="$$service_url" $(BIN)/rekap demo

lint: setup
	$(BIN)/ruff check service ocr tests
	$(BIN)/ruff format --check service ocr tests
	$(BIN)/mypy

# Three processes (tests/conftest.py keeps their Redis keys apart; the slowest tests listed, to keep
# the suite under 7 minutes), then the tests marked serial:
# schemathesis fuzzes only a few operations inside a pytest-xdist process.
test: services lint
	$(BIN)/pytest -n 3 --dist loadscope -m "not serial" --durations=12
	$(BIN)/pytest -m serial

# Fault scenarios against a PostgreSQL, Redis and photo store of its own (tests/chaos); JSON summary.
# Also part of `make test` (tests/chaos/test_chaos.py).
chaos: setup
	$(BIN)/python -m tests.chaos.run
