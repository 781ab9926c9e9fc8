# Vigia — one-command run and test on a plain Debian/Ubuntu machine (no containers needed).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export VIGIA_ENV ?= development

.PHONY: help bootstrap run test bench lint migrate demo clean settings-table up down logs certs \
	console console-dev console-api console-tools

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

bootstrap:  ## start/install PostgreSQL, Redis, RabbitMQ; create .venv; Chromium for the console's test
	@deploy/local/bootstrap.sh
	@$(MAKE) --no-print-directory console-tools

# The console's browser test drives Debian's Chromium (Playwright downloads no browser). Node comes
# with the machine: Debian's nodejs is too old for Vite 8, so it is checked, not installed.
console-tools:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "[bootstrap] installing chromium" >&2; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || { \
	      DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; \
	  else echo "[bootstrap] missing: chromium (sudo apt-get install -y chromium): the console's browser test will fail" >&2; fi; }
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)' 2>/dev/null \
	  || echo "[bootstrap] the console needs Node >= 20.19 with npm (found: $$(node --version 2>/dev/null || echo none)); its tests skip without Node" >&2

migrate: bootstrap  ## apply database migrations and declare the broker topology
	@$(PY) -m vigia.control migrate --no-input -v 0
	@$(PY) -m vigia.control declare_topology

demo: migrate  ## create the demo organization and admin, print the credentials
	@mkdir -p var && [ -s var/demo-password ] || $(PY) -c 'import secrets; print("demo-" + secrets.token_urlsafe(12))' > var/demo-password
	@VIGIA_DEMO_PASSWORD="$${VIGIA_DEMO_PASSWORD:-$$(cat var/demo-password)}" $(PY) -m vigia.control bootstrap_demo

run: demo  ## build the console, run every service under one supervisor (Ctrl-C stops all)
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory console; \
	  else echo "[run] npm not found: the console is not built (http://localhost:8000/ says how)" >&2; fi
	@echo "Vigia: console http://localhost:8000/, API docs http://localhost:8000/api/docs, live feed ws://localhost:8003/api/v1/ws  (Ctrl-C to stop)"
	@$(VENV)/bin/honcho -f deploy/local/Procfile -d . start

test: bootstrap  ## run every test of every service and tests/
	@$(VENV)/bin/pytest

# The operator console (services/console): built into its dist/, which control serves at /.
CONSOLE := services/console
CONSOLE_SOURCES := $(shell find $(CONSOLE)/src $(CONSOLE)/public -type f 2>/dev/null) \
	$(addprefix $(CONSOLE)/,index.html package.json package-lock.json vite.config.ts tsconfig.json)

console: $(CONSOLE)/dist/index.html  ## build the operator console (npm ci + vite build; skipped when nothing changed)

$(CONSOLE)/node_modules/.package-lock.json: $(CONSOLE)/package-lock.json
	@cd $(CONSOLE) && npm ci --no-audit --no-fund --loglevel=error

$(CONSOLE)/dist/index.html: $(CONSOLE)/node_modules/.package-lock.json $(CONSOLE_SOURCES)
	@cd $(CONSOLE) && npm run --silent build

console-dev: $(CONSOLE)/node_modules/.package-lock.json  ## run the console in Vite (http://127.0.0.1:5173) with the API of make run proxied
	@cd $(CONSOLE) && npm run dev

console-api: $(CONSOLE)/node_modules/.package-lock.json  ## regenerate the console's API types from control's OpenAPI
	@$(CONSOLE)/scripts/generate-api.sh

bench: bootstrap  ## run the benchmarks in tests/bench (one JSON line each)
	@set -e; for b in tests/bench/bench_*.py; do echo "# $$b" >&2; $(PY) $$b; done

.PHONY: train-plates
train-plates: bootstrap  ## retrain the plate-text recogniser (seeded, CPU): plates/weights/crnn.pt + crnn.json
	@$(PY) -m vigia.vision.plates.training.train $(ARGS)

.PHONY: models
models: bootstrap  ## download the pinned YOLO weights (MODEL=yolov8n|yolo11n|yolo11s) to var/models, checksum verified
	@$(PY) -m vigia.vision.models_fetch $(or $(MODEL),yolov8n) --dest var/models

# Every service's part of the vigia namespace package: mypy checks them all, each its own base.
SERVICE_DIRS := $(patsubst %/vigia,%,$(wildcard services/*/vigia))
empty :=
space := $(empty) $(empty)

lint: bootstrap  ## ruff and mypy over every service and tests/
	@$(VENV)/bin/ruff check services tests
	@MYPYPATH=$(subst $(space),:,$(SERVICE_DIRS)) $(VENV)/bin/mypy $(addsuffix /vigia,$(SERVICE_DIRS))

settings-table:  ## regenerate the README's settings table from the settings models
	@$(PY) -m vigia.common.settings --write README.md

COMPOSE ?= docker compose

certs:  ## self-signed development TLS pair for HAProxy (haproxy/certs/vigia.pem)
	@deploy/certs/make-dev-cert.sh haproxy/certs

up: certs  ## build and start the whole platform with docker compose (.env from .env.example)
	@[ -f .env ] || cp .env.example .env
	$(COMPOSE) up -d --build

down:  ## stop the compose platform (volumes are kept; `docker compose down -v` drops them)
	$(COMPOSE) down

logs:  ## follow the logs of the compose platform (SERVICE=name for one service)
	$(COMPOSE) logs -f --tail=200 $(SERVICE)

clean:  ## remove the virtualenv and local object store
	rm -rf $(VENV) var
