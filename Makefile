# Quick start: `make run` (demo app) and `make test` (whole suite). See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed
# One pytest worker per core; test databases built from the models (tests/test_migrations.py
# replays the migrations once, into a database of its own).
PYTEST_FLAGS ?= -n auto --no-migrations --durations=20

.PHONY: run test install lint check migrate demo worker bench clean backup restore

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

demo: migrate
	$(PY) manage.py seed_demo

run: demo
	@PORT=$(PORT) PY=$(PY) bash scripts/run.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	DJANGO_ENV=production DJANGO_SECRET_KEY=ci-only-$$(date +%s)-a-long-random-looking-secret-value-1234567890 \
	  DJANGO_ALLOWED_HOSTS=releases.example.com $(PY) manage.py check --deploy --fail-level WARNING

test: install
	@bash scripts/ensure_chromium.sh
	$(MAKE) --no-print-directory lint check
	$(PY) -m pytest $(PYTEST_FLAGS)

# PostgreSQL (DATABASE_URL) backup and restore; see docs/operations.md.
backup: install
	@$(PY) manage.py backup_db

restore: install
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/releasemgr-<timestamp>.dump" >&2; exit 2; }
	$(PY) manage.py restore_db "$(FILE)"

bench: migrate
	$(PY) tests/bench/run.py

clean:
	rm -rf $(VENV) var
