# Accueil — `make run` serves the demo clinic, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# xdist workers for the test suite; "auto" is one per core.
WORKERS ?= auto

.PHONY: run test lint format install migrate vendor messages screenshots bench-booking bench-records \
        bench-notifications bench-messaging bench-waitlist bench-emergency bench-http bench-load \
        bench-security bench-agenda bench-webhooks bench-api bench-sms bench-orders bench-onboarding \
        serve-prod clean

$(STAMP): pyproject.toml
	@bin/find-python > /dev/null
	@test -x $(PY) || $$(bin/find-python) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

# Links in e-mails and text messages (the demo's too) start with the address served here, unless
# ACCUEIL_BASE_URL names another (a public name, https behind a proxy).
run: migrate
	$(PY) manage.py collectstatic --noinput -v0
	export ACCUEIL_BASE_URL="$${ACCUEIL_BASE_URL:-http://$(HOST):$(PORT)}"; \
	  $(PY) manage.py seed_demo && HOST=$(HOST) PORT=$(PORT) bin/serve

# The production topology (nginx, gunicorn, daphne for /ws/, task workers) against DATABASE_URL
# and REDIS_URL; DEMO=1 also seeds the demo clinic. README, "Production".
serve-prod: install
	bin/serve-prod

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	@bin/ensure-chromium
	@bin/ensure-nginx
	bin/test-all $(WORKERS)

# The browser journeys again, taking their screenshots (tests/browser/screenshots/, phone and
# desktop widths); `make test` leaves them out to save the CPU.
screenshots: install
	@bin/ensure-chromium
	ACCUEIL_SCREENSHOTS=1 $(PY) -m pytest -n $$(nproc) --dist worksteal -q -m browser tests/browser

messages: install
	bin/messages

vendor:
	bin/vendor-assets

bench-booking bench-records bench-notifications bench-messaging bench-waitlist bench-emergency \
  bench-security bench-agenda bench-webhooks bench-api bench-orders bench-onboarding: install
	$(PY) bench/$(subst bench-,,$@).py

# Two-way SMS: signed "OUI" replies handled per second vs signed receipts for unknown ids.
bench-sms: install
	$(PY) bench/sms_inbound.py

# Not bench/http.py: a script of that name would shadow the standard library's http for every
# script run from bench/.
bench-http: install
	$(PY) bench/http_speed.py

# An evening rush with locust (installed here only: it is not needed to run or test the portal).
bench-load: install
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/load.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
