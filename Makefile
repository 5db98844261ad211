# Netral task runner. Quick start: `make run` (set up + serve on SQLite), `make test` (whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: env run test test-sqlite test-postgresql lint lint-contract faults migrate openapi bench clean

$(BIN)/netral: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

# Local secrets for the embedded default, generated once and never committed (.gitignore); a key added in a
# later version is appended to an existing .env.
env:
	@$(PYTHON) deploy/ensure-env.py

run: $(BIN)/netral env
	$(BIN)/netral db upgrade
	$(BIN)/netral demo
	$(BIN)/netral serve --host $(HOST) --port $(PORT)

migrate: $(BIN)/netral env
	$(BIN)/netral db upgrade

# Both backends, each over every core (pytest-xdist); each test on its own database.
PYTEST := $(BIN)/pytest -n auto

test: $(BIN)/netral
	bash deploy/ensure-postgres.sh
	NETRAL_TEST_BACKEND=sqlite $(PYTEST)
	NETRAL_TEST_BACKEND=postgresql $(PYTEST)

test-sqlite: $(BIN)/netral
	NETRAL_TEST_BACKEND=sqlite $(PYTEST)

test-postgresql: $(BIN)/netral
	bash deploy/ensure-postgres.sh
	NETRAL_TEST_BACKEND=postgresql $(PYTEST)

lint: $(BIN)/netral
	$(BIN)/ruff check app tests migrations bench examples
	$(BIN)/ruff format --check app tests migrations bench examples
	$(BIN)/mypy app
	$(BIN)/lint-imports
	$(MAKE) lint-contract

# Spectral with the OWASP API ruleset over the committed contract (npm packages pinned in openapi/package.json
# and its lock file); any error or warning fails. Rules switched off say why in openapi/.spectral.yaml.
lint-contract:
	cd openapi && npm ci --no-audit --no-fund --silent
	cd openapi && ./node_modules/.bin/spectral lint openapi.json -r .spectral.yaml --fail-severity warn

openapi: $(BIN)/netral
	$(BIN)/python -m app.openapi_export > openapi/openapi.json

# The fault tests in full (issue #11): more clients, outages and kill -9s, all under load. Needs PostgreSQL.
faults: $(BIN)/netral
	bash deploy/ensure-postgres.sh
	NETRAL_FAULT_SCALE=5 NETRAL_TEST_BACKEND=postgresql $(BIN)/pytest -p no:cacheprovider tests/test_faults.py

# Benchmarks: numbers for the README, never part of `make test`. Needs the machine's PostgreSQL.
bench: $(BIN)/netral
	bash deploy/ensure-postgres.sh
	$(BIN)/python bench/request_cost.py
	$(BIN)/python bench/growth.py
	$(BIN)/python bench/audit_append.py
	$(BIN)/python bench/audit_verify.py

clean:
	rm -rf $(VENV) var .pytest_cache
