# Targets named in the README. Everything runs from the project's own virtualenv (.venv).
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: setup lock format test unit lint typecheck pytest chaos chaos-long infra-up infra-down infra-status bench clean

setup:            ## install system packages, the virtualenv and the Kafka jars
	bash scripts/setup.sh

lock:             ## recompile requirements/*.txt from pyproject.toml (after changing a dependency)
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --no-header --quiet \
	  -o requirements/prod.txt
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --extra dev --extra report --generate-hashes \
	  --no-header --quiet -o requirements/dev.txt

test: lint typecheck pytest   ## the README's test command: lint, mypy strict, all tests

lint:             ## ruff's rules and ruff format, checked (make format applies the formatting)
	$(BIN)/ruff check shared services hotline tests bench
	$(BIN)/ruff format --check shared services hotline tests bench

format:
	$(BIN)/ruff format shared services hotline tests bench

typecheck:
	$(BIN)/mypy

pytest:           ## every test: unit and integration on two processes (the SLA monitor's failover tests alone), the whole-system tiers, then the short fault-injection run
	$(BIN)/pytest -m unit -n 2
	$(BIN)/pytest -m integration -n 2 --ignore=tests/integration/sla_monitor
	$(BIN)/pytest -m integration tests/integration/sla_monitor
	$(BIN)/pytest -m "e2e or browser"
	$(BIN)/pytest -m chaos

unit:
	$(BIN)/pytest -m unit

chaos:            ## the short fault-injection run alone (20 faults, tests/chaos; also the last step of make test)
	$(BIN)/pytest -m chaos

chaos-long:       ## the long fault-injection run, on demand (100 faults; its summary in docs/operations/chaos.md)
	$(BIN)/hotline chaos --faults 100 --calls 80 --settle 300

infra-up:
	$(BIN)/hotline infra up

infra-down:
	$(BIN)/hotline infra down

infra-status:
	$(BIN)/hotline infra status

bench:            ## every benchmark scenario in one run (bench/README.md)
	$(BIN)/hotline bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
