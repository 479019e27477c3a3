# debusine: `make run` starts the whole system, `make test` runs the tests.

PYTHON ?= python3
VENV ?= .venv
INI ?= development.ini
TOKEN_FILE ?= var/admin-token
# pytest-xdist workers; the default uses every core.
TEST_WORKERS ?= auto

BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-stamp

.PHONY: help install run migrate test lint format clean

help:
	@echo "make run    set up and start the server on http://127.0.0.1:6543/"
	@echo "make test   set up and run the whole test suite"
	@echo "make lint   ruff and mypy"
	@echo "make clean  remove the virtualenv and runtime data (var/)"

$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade 'pip>=24' 'setuptools>=69,<81' wheel
	$(BIN)/pip install --quiet --constraint constraints.txt --editable '.[test,lint]'
	touch $@

install: $(STAMP)

migrate: install
	$(BIN)/debusine-admin --config $(INI) migrate

run: migrate
	$(BIN)/debusine-admin --config $(INI) bootstrap --token-file $(TOKEN_FILE)
	@echo "Admin API token in $(TOKEN_FILE); try:"
	@echo "  curl -H \"Token: \$$(cat $(TOKEN_FILE))\" http://127.0.0.1:6543/api/1.0/whoami/"
	$(BIN)/debusine-server $(INI)

test: install
	$(BIN)/pytest -n $(TEST_WORKERS) tests

lint: install
	$(BIN)/ruff check debusine worker signer tests migrations bench
	$(BIN)/ruff format --check debusine worker signer tests migrations bench
	$(BIN)/mypy debusine worker signer

format: install
	$(BIN)/ruff format debusine worker signer tests migrations bench
	$(BIN)/ruff check --fix debusine worker signer tests migrations bench

clean:
	rm -rf $(VENV) var build *.egg-info
