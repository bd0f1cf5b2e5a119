# The two commands of the README: `make up` (run the system) and `make test` (run the tests).
# Both install what they need into .venv first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := -e shared -e services/intake -e services/workflow -e services/notify -e services/stats
SERVICES := intake workflow notify stats
# The local stand-in for the national identity (oidc-provider on Node.js), pinned by its lock.
OIDC := deploy/local/oidc

.PHONY: install up down status test test-unit test-contract lint format bench chaos asyncapi replay-parked clean check-deploy

$(BIN)/.installed: requirements.lock shared/pyproject.toml $(wildcard services/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps $(PACKAGES)
	touch $@

$(OIDC)/node_modules/.package-lock.json: $(OIDC)/package-lock.json
	npm ci --prefix $(OIDC) --no-audit --no-fund --loglevel=error

install: $(BIN)/.installed $(OIDC)/node_modules/.package-lock.json

## Run the whole system on this machine (PostgreSQL and RabbitMQ must be running).
up: install
	$(BIN)/python deploy/local/stack.py up

down:
	$(BIN)/python deploy/local/stack.py down

status:
	$(BIN)/python deploy/local/stack.py status

## Every test: unit, integration (real PostgreSQL, RabbitMQ, object store) and end-to-end.
## Two workers: most tests wait on the processes and servers they start, so one worker
## leaves the cores idle half the time. The end-to-end, contract and fault tests each run
## on one worker, in order, as they share a stack (conftest.py's xdist groups).
test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-unit: install
	$(BIN)/python -m pytest -m "not integration and not e2e"

## schemathesis against each service's OpenAPI on the running services (part of `make test`).
test-contract: install
	$(BIN)/python -m pytest tests/contract -s

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/src services/*/src shared/tests services/*/tests tests conftest.py deploy/local
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Benchmarks: long, not part of `make test`.
bench: install
	$(BIN)/python -m pytest tests/perf -s -p no:randomly

## Every fault test of tests/chaos (make test runs the short subset), each printing its
## ledger. The broker, database and store it stops are its own. CHAOS_SEED=n replays.
chaos: install
	CHAOS_FULL=1 CHAOS_BROKER_DOWN_SECONDS=60 $(BIN)/python -m pytest tests/chaos -m chaos -s -p no:randomly

## Regenerate the published AsyncAPI document from the event models.
asyncapi: install
	$(BIN)/python -m shared.contracts.asyncapi > docs/asyncapi.json

## Move a service's parked messages back into its queue: make replay-parked SERVICE=stats
replay-parked: install
	@test -n "$(SERVICE)" || (echo "usage: make replay-parked SERVICE=intake|workflow|notify|stats" && exit 2)
	$(BIN)/python -m $(SERVICE) replay-parked

clean: down
	rm -rf $(VENV) .local $(OIDC)/node_modules

## Validate docker-compose.yml and the Prometheus configuration (needs docker-compose, promtool).
check-deploy:
	docker-compose -f docker-compose.yml config -q
	promtool check config deploy/prometheus/prometheus.yml
	$(BIN)/python -c "import json, sys; [json.load(open(f)) for f in ('deploy/grafana/dashboards/operations.json', 'deploy/grafana/dashboards/business.json')]"
