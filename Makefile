# Vigia — one-command run and test on a plain Debian/Ubuntu machine (no containers needed).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export VIGIA_ENV ?= development

.PHONY: help bootstrap run test bench lint migrate demo clean settings-table up down logs certs

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

bootstrap:  ## start/install PostgreSQL, Redis, RabbitMQ; create .venv
	@deploy/local/bootstrap.sh

migrate: bootstrap  ## apply database migrations and declare the broker topology
	@$(PY) -m vigia.control migrate --no-input -v 0
	@$(PY) -m vigia.control declare_topology

demo: migrate  ## create the demo organization and admin, print the credentials
	@mkdir -p var && [ -s var/demo-password ] || $(PY) -c 'import secrets; print("demo-" + secrets.token_urlsafe(12))' > var/demo-password
	@VIGIA_DEMO_PASSWORD="$${VIGIA_DEMO_PASSWORD:-$$(cat var/demo-password)}" $(PY) -m vigia.control bootstrap_demo

run: demo  ## run every service under one supervisor (Ctrl-C stops all)
	@echo "Vigia: API docs http://localhost:8000/api/docs, live feed ws://localhost:8003/api/v1/ws  (Ctrl-C to stop)"
	@$(VENV)/bin/honcho -f deploy/local/Procfile -d . start

test: bootstrap  ## run every test of every service and tests/
	@$(VENV)/bin/pytest

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
