# convoc — every command a developer or CI needs. `make help` lists them.
# Only python3 (3.11+) and make are needed: uv is bootstrapped into .tools/, the lock into .venv/.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin

export CONVOC_HOME ?= $(CURDIR)/var
export AIRFLOW_HOME ?= $(CONVOC_HOME)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
# A country of 6.5 million in batches of 5,000 is 1,300 mapped render tasks (Airflow maps 1,024 by default).
export AIRFLOW__CORE__MAX_MAP_LENGTH := 4096
export AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS := 0o700
export AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS := 0o600

RESIDENTS ?= 20000
SEED ?= 42
START ?= 2021-01-29
DAYS ?= 7
DEFECTS ?= 0.002
UPTAKE ?= 0.8
SPOILAGE ?= 0.002
RETURNS ?= 0.01
MAIL_PORT ?= 8025
BOUNCES ?= 0.02

.PHONY: help install lock demo test check format bench docs clean airflow-up airflow-down

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install -q "uv==$(UV_VERSION)"

$(VENV)/.synced: requirements.lock pyproject.toml | $(UV)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(VENV)
	VIRTUAL_ENV=$(VENV) $(UV) pip sync -q --compile-bytecode requirements.lock
	VIRTUAL_ENV=$(VENV) $(UV) pip install -q --no-deps --compile-bytecode -e .
	touch $@

install: $(VENV)/.synced  ## create .venv from the lock (uv pip sync)

lock: | $(UV)  ## re-resolve requirements.in into requirements.lock
	$(UV) pip compile -q requirements.in -o requirements.lock --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28

demo: install  ## generate $(RESIDENTS) residents over $(DAYS) days and run every DAG on them
	@if [ -d "$(CONVOC_HOME)" ] && [ ! -f "$(CONVOC_HOME)/.convoc-demo" ] \
		&& [ -n "$$(ls -A "$(CONVOC_HOME)" | grep -v '^airflow$$')" ]; then \
		echo "make demo: $(CONVOC_HOME) holds data make demo did not write; set CONVOC_HOME elsewhere"; exit 1; fi
	@# Each demo starts from fresh data (Airflow's metadata is kept).
	@rm -rf "$(CONVOC_HOME)"/{landing,warehouse,work,reports,logs,print,outbox,mail}
	@umask 077 && mkdir -p "$(CONVOC_HOME)/logs" && touch "$(CONVOC_HOME)/.convoc-demo"
	$(BIN)/convoc-dev generate --residents $(RESIDENTS) --seed $(SEED) --start-date $(START) --days $(DAYS) \
		--defects $(DEFECTS) --out "$(CONVOC_HOME)/landing"
	@$(BIN)/airflow db migrate > "$(CONVOC_HOME)/logs/airflow-db-migrate.log" 2>&1
	@$(BIN)/airflow pools set warehouse 1 "one DuckDB writer at a time" > /dev/null
	@$(BIN)/convoc key init "$(CONVOC_HOME)/secrets/signing.key"
	@# Centres' capacity scaled to the synthetic population (the country had 634,730 residents). The e-mail
	@# invitations go to a local SMTP server (convoc-dev mail-sink, var/mail/inbox/*.eml), stopped by its PID.
	@umask 077; export CONVOC_SIGNING_KEY_FILE="$(CONVOC_HOME)/secrets/signing.key" \
		CONVOC_CAPACITY_SCALE=$$(python3 -c "print($(RESIDENTS) / 634730)") \
		AIRFLOW_CONN_CONVOC_SMTP='{"conn_type": "smtp", "host": "127.0.0.1", "port": $(MAIL_PORT), "extra": {"disable_ssl": true, "disable_tls": true, "from_email": "invitations@convoc.example.lu"}}'; \
	$(BIN)/convoc-dev mail-sink --port $(MAIL_PORT) --pid-file "$(CONVOC_HOME)/mail/sink.pid" \
		--landing "$(CONVOC_HOME)/landing" --bounces $(BOUNCES) \
		> "$(CONVOC_HOME)/logs/mail-sink.log" 2>&1 & \
	sink=$$!; trap 'kill $$sink 2>/dev/null; wait $$sink 2>/dev/null' EXIT; \
	for i in $$(seq 0 $$(($(DAYS) - 1))); do \
		day=$$(date -u -d "$(START) + $$i day" +%F); \
		for dag in register_ingest invitation_waves letters_render notify_digital print_handoff dispatch_stats; do \
			log="$(CONVOC_HOME)/logs/$${dag}_$$day.log"; \
			echo "airflow dags test $$dag $$day  (log: $$log)"; \
			$(BIN)/airflow dags test $$dag "$$day" > "$$log" 2>&1 || { tail -n 40 "$$log"; exit 1; }; \
		done; \
		$(BIN)/convoc-dev print-shop simulate --spoilage $(SPOILAGE) --returns $(RETURNS) --seed $(SEED) || exit 1; \
		$(BIN)/convoc-dev simulate-bookings --day "$$day" --uptake $(UPTAKE) --seed $(SEED); \
	done
	@$(BIN)/convoc status
	@echo
	@echo "The campaign in the Airflow UI (the Campaigns page, with this demo's runs and figures):"
	@echo "  make airflow-up    # then open http://127.0.0.1:$${AIRFLOW__API__PORT:-8080}/plugin/campaigns"
	@echo "                     # and log in as admin with the password make airflow-up prints"
	@echo "  make airflow-down  # stops it"

test: install check  ## lint, type-check and run the whole test suite
	$(BIN)/python -m pytest -q

check: install  ## ruff (with Airflow AIR rules), ruff format --check, mypy, the import contracts (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## run the benchmarks (see bench/RESULTS.md)
	$(BIN)/python bench/bench_generate.py
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_waves.py
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_national.py

docs: install  ## render the sample letters and the report preview shown in docs/letters.md
	$(BIN)/python -m convoc_dev.samples.letters docs/letters
	$(BIN)/python -m convoc_dev.samples.report docs/report

airflow-up: install  ## start Airflow here (api-server, scheduler, dag-processor, triggerer; LocalExecutor)
	@$(BIN)/python -m convoc_dev.airflow_local up

airflow-down:  ## stop the Airflow processes airflow-up started (by their pid files), nothing else
	@$(BIN)/python -m convoc_dev.airflow_local down

.PHONY: sql
sql: install  ## SQL shell (read-only) on the analysts' published copy of the marts
	@$(BIN)/python -m convoc.stats.shell

clean:  ## remove generated data (var/); keeps .venv
	rm -rf "$(CONVOC_HOME)"
