# aftercare — two commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# xstatic-bootstrap is source-only; new setuptools (>=81) can't build it.
export PIP_BUILD_CONSTRAINT := $(CURDIR)/constraints-build.txt
export PIP_CONSTRAINT :=
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run dev prepare test install install-test lint bench clean

$(VENV)/.ok-run: requirements.txt constraints-build.txt
	@PYTHON=$(PYTHON) scripts/ensure-venv.sh $(VENV)
	$(PY) -m pip install -qq --upgrade pip
	$(PY) -m pip install -qq -r requirements.txt
	@touch $@

$(VENV)/.ok-test: $(VENV)/.ok-run requirements-test.txt
	$(PY) -m pip install -qq -r requirements-test.txt
	@touch $@

install: $(VENV)/.ok-run

install-test: $(VENV)/.ok-test

# What both servers need: the system packages of the pages (PDF fonts), the database, the demo group.
prepare: install
	@scripts/ensure-system-packages.sh run
	@mkdir -p var
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_demo

# gunicorn (2 workers), the task worker and the scheduler; DEBUG off; Ctrl-C stops all three.
run: prepare
	$(PY) manage.py collectstatic --noinput -v0
	@exec scripts/run.sh

# The developer's server: DEBUG on (tracebacks, static files from the apps), reloads on code changes.
dev: prepare
	@exec scripts/run.sh dev

test: install-test
	@scripts/test.sh

lint: install-test
	$(VENV)/bin/ruff check aftercare bench conftest.py tests scripts
	$(VENV)/bin/lint-imports

bench: install-test
	$(PY) -m bench import --rows 1000000

clean:
	rm -rf $(VENV) var
