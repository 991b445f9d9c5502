# koshigaya-vax developer commands. GNU make.
#
#   make run    fresh machine -> .venv from uv.lock, migrate SQLite under var/, demo data, serve on :8000
#   make test   the whole test suite (SQLite in memory; DATABASE_URL=postgres://... selects PostgreSQL)
#   make lint   ruff and mypy
#   make venv   only create/update .venv from uv.lock (every other target uses it)
#   make lock   re-resolve uv.lock after editing pyproject.toml
#   make messages  refresh and compile the English catalogue (locale/en)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .uv/bin/uv
VENV := .venv
# The stamp lives inside .venv, so deleting .venv (or changing the lock) redoes the sync.
VENV_STAMP := $(VENV)/.kvax-synced
MANAGE := $(VENV)/bin/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

export UV_PROJECT_ENVIRONMENT := $(VENV)
# Never let uv fetch a Python build of its own: the machine's python3 is the interpreter.
export UV_PYTHON_DOWNLOADS := never

# Debian packages needed at run time: WeasyPrint's Pango libraries and a Japanese font for PDFs.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
# Only for `make messages` (xgettext/msgfmt).
GETTEXT_PACKAGES := gettext

.PHONY: help venv run test lint lock messages system-deps gettext-deps clean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

# --- Tools -------------------------------------------------------------------------------------

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV_STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

venv: $(VENV_STAMP)

# Installs only what is missing, so it costs one dpkg-query per package when everything is there.
# Needs root (CI and the project's machines run as root); elsewhere, or when apt-get fails, it says what
# is missing and carries on: only what uses those packages (PDF rendering, `make messages`) then fails.
define apt_ensure
	@missing=""; \
	for pkg in $(1); do \
		dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		if ! command -v apt-get >/dev/null 2>&1; then \
			echo "make: please install these system packages:$$missing" >&2; \
		elif [ "$$(id -u)" = 0 ]; then \
			echo "make: installing Debian packages:$$missing"; \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; } \
				|| echo "make: warning: could not install$$missing; what needs them will fail" >&2; \
		else \
			echo "make: missing Debian packages (run as root: apt-get install$$missing)" >&2; \
		fi; \
	fi
endef

system-deps:
	$(call apt_ensure,$(SYSTEM_PACKAGES))

gettext-deps:
	$(call apt_ensure,$(GETTEXT_PACKAGES))

# --- The two commands --------------------------------------------------------------------------

run: system-deps venv
	@mkdir -p var
	$(MANAGE) migrate --no-input
	$(MANAGE) seed_demo
	$(MANAGE) runserver $(HOST):$(PORT)

test: system-deps venv
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# --- Maintenance -------------------------------------------------------------------------------

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

lock: | $(UV)
	$(UV) lock --python $(PYTHON)

messages: gettext-deps venv
	$(MANAGE) makemessages -l en --no-obsolete --ignore='var/*' --ignore='staticfiles/*' --ignore='tests/*'
	$(MANAGE) compilemessages -l en --ignore='.venv' --ignore='.uv'

clean:
	rm -rf $(VENV) .uv .mypy_cache .ruff_cache
