# poolstream — every command a user needs. `make help` lists them.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help venv web run stop test test-unit test-integration test-e2e chaos fuzz money soak lint bench migrate simulate stratum up down clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "poolstream needs $(PYTHON) on PATH (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install poolstream with its pinned dependencies

web: ## rebuild the web dashboard web/dist from web/src (needs Node.js + npm; web/dist is committed)
	cd web && npm ci --no-audit --no-fund && npm run build

run: $(STAMP) ## start everything: embedded broker, chDB, agents, API :8080, scheduler, Stratum
	$(BIN)/poolstream run $(ARGS)

stop: $(STAMP) ## stop the embedded broker `make run` leaves running (what it still holds is dropped)
	$(BIN)/poolstream broker --stop

test: $(STAMP) ## run unit, integration, end-to-end and browser tests, a test file per core
	$(BIN)/python -m pytest -q -n 2 --dist loadfile $(ARGS)

test-unit: $(STAMP) ## unit tests only (no broker, no ClickHouse)
	$(BIN)/python -m pytest -q tests/unit $(ARGS)

test-integration: $(STAMP) ## integration tests (embedded broker + chDB)
	$(BIN)/python -m pytest -q tests/integration $(ARGS)

test-e2e: $(STAMP) ## end-to-end tests (poolstream run as a subprocess)
	$(BIN)/python -m pytest -q tests/e2e $(ARGS)

chaos: $(STAMP) ## kill -9 poolstream >= 10 times while >= 10M shares stream; prints lost / doubled (not in make test)
	$(BIN)/python -m pytest -q -s -m slow tests/e2e/test_chaos.py $(ARGS)

money: $(STAMP) ## the long money-path e2e: simulated blocks -> credits -> balances before any payout (not in make test)
	$(BIN)/python -m pytest -q -m slow tests/e2e/test_money_path.py $(ARGS)

soak: $(STAMP) ## 30 min at 100k shares/s on the embedded default: broker memory flat, every share once (ARGS="--minutes 5")
	$(BIN)/python -m bench.soak $(ARGS)

fuzz: $(STAMP) ## FUZZ_MESSAGES (default 1M) hostile messages on shares/blocks/telemetry; prints dead letters by reason (not in make test)
	$(BIN)/python -m pytest -q -s -m slow tests/integration/test_fuzz_topics.py $(ARGS)

lint: $(STAMP) ## ruff and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/mypy --strict schemas bus kernels sinks sources streams api jobs notify poolstream

bench: $(STAMP) ## measure throughput and latency; prints figures for the README
	$(BIN)/python -m bench $(ARGS)

migrate: $(STAMP) ## apply ClickHouse migrations to CLICKHOUSE_DSN (default chdb://./data/clickhouse)
	$(BIN)/poolstream migrate $(ARGS)

simulate: $(STAMP) ## simulate a fleet against a running system (ARGS="--miners 50 --workers 4 --duration 600")
	$(BIN)/poolstream simulate $(ARGS)

stratum: $(STAMP) ## run only the Stratum gateway (needs KAFKA_BOOTSTRAP)
	$(BIN)/poolstream stratum $(ARGS)

up: ## start Apache Kafka + ClickHouse + Prometheus + Grafana with docker compose (needs Docker)
	docker compose -f infra/docker-compose.yml up -d

down: ## stop the compose stack
	docker compose -f infra/docker-compose.yml down

clean: ## remove .venv, data and caches
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
