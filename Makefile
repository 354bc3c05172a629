# crossdock: `make demo` runs it, `make test` checks it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench venv services clean

$(STAMP): pyproject.toml
	./scripts/ensure-services.sh --install-only
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,server]'
	touch $(STAMP)

venv: $(STAMP)

services:
	./scripts/ensure-services.sh

test: venv services
	$(BIN)/ruff check .
	$(BIN)/mypy
	CROSSDOCK_TEST_REQUIRE_SERVICES=1 $(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

demo: venv
	./scripts/ensure-services.sh --install-only
	$(BIN)/python scripts/demo.py

bench: venv services
	command -v wrk >/dev/null || apt-get install -y -qq wrk
	$(BIN)/python bench/sync_throughput.py
	$(BIN)/python bench/large_layer.py
	$(BIN)/python bench/webhook_intake.py
	$(BIN)/python bench/replication_latency.py
	$(BIN)/python bench/console_pages.py
	$(BIN)/python bench/store_calls.py
	$(BIN)/python bench/registry_requests.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
