# One-command set-up: `make demo` serves the demo study, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: venv browser lint test test-sqlite test-postgres demo bench clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

browser:
	@.ci/ensure-browser

lint: venv
	$(BIN)/ruff check .

# The whole suite on the embedded SQLite database, then on PostgreSQL when DATABASE_URL is set
# or a local server answers (CI has one on 127.0.0.1:5432).
test: venv browser lint
	$(BIN)/python -m pytest
	@if [ -n "$$TEST_POSTGRES_URL" ] || pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  echo "== the suite again on PostgreSQL =="; \
	  DATABASE_URL=$${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test} $(BIN)/python -m pytest -m "not browser"; \
	else echo "NOTICE: no PostgreSQL on 127.0.0.1:5432; the PostgreSQL run is skipped."; fi

demo: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
