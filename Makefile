# debusine: `make run` starts the whole system, `make test` runs the tests.

PYTHON ?= python3
VENV ?= .venv
INI ?= development.ini
TOKEN_FILE ?= var/admin-token
# The local worker that `make run` starts beside the server.
WORKER_NAME ?= local-worker
WORKER_CONFIG ?= var/worker/config.ini
WORKER_LOG ?= var/worker/worker.log
# The `debusine` client's configuration for the admin (make client-config).
CLIENT_CONFIG ?= var/client-config.ini
API_URL ?= http://127.0.0.1:6543/api
# The Debian tools the local worker's tasks run (make debian-tools).
DEBIAN_TOOLS ?= mmdebstrap uidmap zstd sbuild lintian autopkgtest piuparts \
  blhc devscripts dpkg-dev
# pytest-xdist workers; the default uses every core.
TEST_WORKERS ?= auto

BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-stamp

.PHONY: help install run run-worker worker-config client-config check-subids \
  debian-tools migrate test lint format clean

help:
	@echo "make run    set up and start the server on http://127.0.0.1:6543/"
	@echo "            and a local worker in the background (log: $(WORKER_LOG))"
	@echo "make run-worker  run the local worker in the foreground"
	@echo "make client-config  write $(CLIENT_CONFIG) for the debusine client"
	@echo "make debian-tools   (as root) install the Debian tools the worker runs"
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
	@$(MAKE) --no-print-directory check-subids
	@$(MAKE) --no-print-directory worker-config || \
	  echo "warning: no local worker (see above); the server runs without one"
	@$(MAKE) --no-print-directory client-config
	@echo "Admin API token in $(TOKEN_FILE); try:"
	@echo "  curl -H \"Token: \$$(cat $(TOKEN_FILE))\" http://127.0.0.1:6543/api/1.0/whoami/"
	@echo "or, in another shell, the debusine client as admin:"
	@echo "  export PATH=$(abspath $(BIN)):\$$PATH DEBUSINE_CLIENT_CONFIG=$(abspath $(CLIENT_CONFIG))"
	@if [ -f $(WORKER_CONFIG) ]; then \
	  echo "Local worker $(WORKER_NAME) in the background, log in $(WORKER_LOG)"; \
	  $(BIN)/debusine-worker --config $(WORKER_CONFIG) >>$(WORKER_LOG) 2>&1 & \
	  worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	  trap 'exit 130' INT TERM; \
	  $(BIN)/debusine-server $(INI); \
	else \
	  $(BIN)/debusine-server $(INI); \
	fi

# The local worker's configuration: written once (its token is shown only
# when the worker is created), with the server's bus public key.
# sbuild, autopkgtest and the unshare executor need subordinate ids for the
# user the worker runs as; say how to add them rather than edit /etc here.
# (The worker maps its own block explicitly, wherever its line is: see
# worker/executors/namespaces.py.)
check-subids:
	@user=$$(id -un); for file in /etc/subuid /etc/subgid; do \
	  line=$$(grep -m 1 "^$$user:" $$file 2>/dev/null) || line=; \
	  if [ -z "$$line" ]; then \
	    add="echo $$user:200000:65536 >> $$file"; \
	    echo "warning: no $$user entry in $$file: the local worker cannot run sbuild," \
	      "autopkgtest or unshare tasks; as root: $$add" >&2; \
	  fi; \
	done; command -v newuidmap >/dev/null || \
	  echo "warning: no newuidmap: as root, apt-get install uidmap (or make debian-tools)" >&2; \
	true

# What the worker's tasks run; it reports them when it starts, so install
# them before `make run`.
debian-tools:
	apt-get update -qq
	apt-get install --no-install-recommends $(DEBIAN_TOOLS)

worker-config: migrate
	@if [ ! -f $(WORKER_CONFIG) ]; then \
	  set -e; mkdir -p $(dir $(WORKER_CONFIG)); \
	  key=$$($(BIN)/debusine-admin --config $(INI) bus-keys); \
	  key=$$(printf '%s\n' "$$key" | tail -n 1); \
	  token=$$($(BIN)/debusine-admin --config $(INI) create-worker $(WORKER_NAME)) || { \
	    echo "cannot create the worker $(WORKER_NAME); if it exists, write $(WORKER_CONFIG) by hand (see README.md, Workers)" >&2; exit 1; }; \
	  token=$$(printf '%s\n' "$$token" | tail -n 1); \
	  umask 077; \
	  printf '[General]\nbus-endpoint = tcp://127.0.0.1:5555\napi-url = $(API_URL)\ntoken = %s\nserver-public-key = %s\nwork-directory = work\n' \
	    "$$token" "$$key" > $(WORKER_CONFIG).tmp; \
	  mv $(WORKER_CONFIG).tmp $(WORKER_CONFIG); \
	  echo "Wrote $(WORKER_CONFIG) for the worker $(WORKER_NAME)"; \
	fi

# The admin's client configuration (rewritten each time: the token may change).
client-config:
	@test -s $(TOKEN_FILE) || { echo "no $(TOKEN_FILE): run make run first" >&2; exit 1; }
	@set -e; umask 077; mkdir -p $(dir $(CLIENT_CONFIG)); \
	printf '[General]\ndefault-server = local\n\n[server:local]\napi-url = %s\nscope = debusine\ntoken = %s\n' \
	  "$(API_URL)" "$$(cat $(TOKEN_FILE))" > $(CLIENT_CONFIG).tmp; \
	mv $(CLIENT_CONFIG).tmp $(CLIENT_CONFIG)

run-worker: worker-config
	$(BIN)/debusine-worker --config $(WORKER_CONFIG)

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
