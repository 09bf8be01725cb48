# One-command set-up: `make demo` serves the demo study, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: venv browser axe octave r nginx lint test production-check demo bench fixtures reproduce clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

browser:
	@.ci/ensure-browser

# axe-core, the accessibility checker the browser tests run in Chromium, from the npm registry.
AXE_VERSION := 4.14.1
axe:
	@test -f $(VENV)/axe/node_modules/axe-core/axe.min.js && grep -q '"version": "$(AXE_VERSION)"' $(VENV)/axe/node_modules/axe-core/package.json \
	  || npm install --silent --no-save --no-package-lock --prefix $(VENV)/axe axe-core@$(AXE_VERSION)

octave:
	@.ci/ensure-octave

r:
	@.ci/ensure-r

nginx:
	@.ci/ensure-nginx

lint: venv
	$(BIN)/ruff check .

# The whole suite on the embedded SQLite database, then on PostgreSQL when TEST_POSTGRES_URL is set
# or a local server answers on 127.0.0.1:5432 (CI has one), then the production check. The
# PostgreSQL pass leaves out the browser tests (-m "not browser"): they test the pages, which the
# SQLite pass already ran.
test: venv browser axe octave r nginx lint
	$(BIN)/python -m pytest -m "not production"
	@if [ -n "$$TEST_POSTGRES_URL" ] || pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  echo "== the suite again on PostgreSQL =="; \
	  DATABASE_URL=$${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test} $(BIN)/python -m pytest -m "not browser and not production"; \
	else echo "NOTICE: no PostgreSQL on 127.0.0.1:5432; the PostgreSQL run is skipped."; fi
	@echo "== the production check =="
	$(BIN)/python -m pytest -m production tests/e2e/test_production_stack.py

# The production stack started on this machine (about a minute): nginx with the configuration that
# `manage.py deploy_config` writes, over HTTPS with a self-signed certificate, in front of gunicorn
# (deploy/gunicorn.conf.py), a fresh PostgreSQL database and Redis. Through nginx it runs the
# blinding crawl, a participant voting a whole list in Chromium, kill -9 of gunicorn under load and
# a load run that fetches every image. Needs PostgreSQL and Redis on 127.0.0.1 (skipped otherwise);
# as root it installs nginx and Chromium from Debian's packages.
production-check: venv browser nginx
	$(BIN)/python -m pytest -m production tests/e2e/test_production_stack.py

# HOST and PORT: where the demo is served (the printed links follow), e.g. make demo HOST=0.0.0.0 PORT=8765.
demo: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo --base-url http://$(HOST):$(PORT)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

bench: venv
	$(BIN)/python bench/train_throughput.py
	$(BIN)/python bench/inference.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/plates.py
	$(BIN)/python bench/metric_agreement.py
	$(BIN)/python bench/load.py --database sqlite
	$(BIN)/python bench/load.py --database postgresql

LFW ?= ../shared/data/lfw-deepfunneled
CC  := $(BIN)/python -m colorcore

# The demo's models and colorizations in fixtures/: small CPU variants (width 0.25, 128 px),
# about 6 minutes per model on a 2-core CPU. `make reproduce` trains the paper's full-size networks.
fixtures: venv
	$(CC) train --data $(LFW) --out runs/ce-w025 --loss ce --width 0.25 --image-size 128 --batch-size 16 --lr 3e-4 --epochs 4
	$(CC) train --data $(LFW) --out runs/l2-w025 --loss l2 --width 0.25 --image-size 128 --batch-size 16 --lr 3e-4 --epochs 4
	$(CC) export --model runs/ce-w025/last.pt --output fixtures/models/cross-entropy-w025.pt
	$(CC) export --model runs/l2-w025/last.pt --output fixtures/models/l2-w025.pt
	$(CC) colorize --model fixtures/models/cross-entropy-w025.pt --input fixtures/lfw-test-sample --output fixtures/demo/cross-entropy
	$(CC) colorize --model fixtures/models/l2-w025.pt --input fixtures/lfw-test-sample --output fixtures/demo/l2

# The seed study end to end from raw LFW: the full-size eccv16 networks (cross-entropy and L2),
# their test-split metrics, colorizations and a study. It first times a few steps and says how long
# the run would take here; beyond an hour it stops unless YES=1 (hours on a CPU without AMX or a GPU).
# The seed's settings are 2 passes at learning rate 3e-5; `make reproduce LR=3e-4 MAX_STEPS=500` is
# the shorter run whose figures are in README.md (MAX_STEPS caps the steps of batch 8).
# Zhang et al.'s official weights (`python -m colorcore fetch-weights zhang2016`): when present, their
# model is colorized, pictured and compared too.
ZHANG_WEIGHTS ?= $(or $(COLORCORE_WEIGHTS),$(HOME)/.cache/colorcore)/colorization_release_v2-9b330a0b.pth
EPOCHS    ?= 2
LR        ?= 3e-5
MAX_STEPS ?=
TRAIN      = $(CC) train --data $(LFW) --epochs $(EPOCHS) --lr $(LR) --resume $(if $(MAX_STEPS),--max-steps $(MAX_STEPS))
reproduce: venv
	$(CC) estimate --data $(LFW) --epochs $(EPOCHS) --models 2 $(if $(MAX_STEPS),--max-steps $(MAX_STEPS)) $(if $(YES),--yes)
	$(TRAIN) --out runs/ce --loss ce
	$(TRAIN) --out runs/l2 --loss l2
	$(CC) evaluate --model runs/ce/last.pt --data $(LFW) --temperature 0.38 > runs/eval-ce-t038.json
	$(CC) evaluate --model runs/ce/last.pt --data $(LFW) --temperature 0.6 > runs/eval-ce-t060.json
	$(CC) evaluate --model runs/l2/last.pt --data $(LFW) > runs/eval-l2.json
	$(CC) colorize --model runs/ce/last.pt --input fixtures/lfw-test-sample --output runs/colorized/cross-entropy
	$(CC) colorize --model runs/l2/last.pt --input fixtures/lfw-test-sample --output runs/colorized/l2
	if [ -f "$(ZHANG_WEIGHTS)" ]; then \
	  $(CC) colorize --model zhang2016 --input fixtures/lfw-test-sample --output runs/colorized/zhang2016; fi
	$(CC) montage --column "ground truth=fixtures/lfw-test-sample" --column "cross-entropy=runs/colorized/cross-entropy" \
	    --column "L2=runs/colorized/l2" $(if $(wildcard $(ZHANG_WEIGHTS)),--column "Zhang et al.=runs/colorized/zhang2016") \
	    --rows 6 --output runs/comparison.png
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py generate_pairs --study reproduction --replace --system cross_entropy=runs/colorized/cross-entropy \
	    --system l2=runs/colorized/l2 $(if $(wildcard $(ZHANG_WEIGHTS)),--system zhang2016=runs/colorized/zhang2016) \
	    --participants 6 --trials 30 --seed 1 --catch-rate 0.1 --ground-truth fixtures/lfw-test-sample
	@echo "Votes are cast by people: open http://127.0.0.1:8000/study/reproduction/ (make demo serves the site), then"
	@echo "  $(BIN)/python manage.py report --study reproduction"

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
