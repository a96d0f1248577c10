# The two commands of the README: `make up` (the whole stack, fed by the simulator) and
# `make test` (lint, types, the whole test suite). Both set up what they need first.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .kanava/tools
UV := $(TOOLS)/bin/uv
VENV := .venv

.PHONY: up test lint fmt typecheck pytest test-unit test-integration test-browser system-packages schemas messages bench bench-chat bench-feedback \
	bench-pathway bench-contact bench-pipeline bench-freshness bench-replay bench-nps bench-forecast

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

# `make up HISTORY=1`: also a year of history before go-live, imported from sample exports.
up: $(VENV)/.synced
	$(VENV)/bin/kanava up --simulate $(if $(HISTORY),--history)

test: lint typecheck pytest

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check services tests bench
	$(VENV)/bin/ruff format --check services tests bench

fmt: $(VENV)/.synced
	$(VENV)/bin/ruff check --fix services tests bench
	$(VENV)/bin/ruff format services tests bench

typecheck: $(VENV)/.synced
	$(VENV)/bin/mypy

pytest: $(VENV)/.synced system-packages
	$(VENV)/bin/pytest

# Parts of the suite, by the markers tests/conftest.py sets: seconds for the unit tests.
test-unit: $(VENV)/.synced
	$(VENV)/bin/pytest -m unit

test-integration: $(VENV)/.synced system-packages
	$(VENV)/bin/pytest -m "integration and not browser"

test-browser: $(VENV)/.synced system-packages
	$(VENV)/bin/pytest -m browser

# Debian packages the tests use, installed with apt-get when missing: Chromium and its driver
# (the wallboard's page tests), Pango and a font (the PDF report), Prometheus' promtool and
# Alertmanager's amtool (the rule and routing tests). Without them those tests fail and say so.
SYSTEM_PACKAGES := chromium chromium-driver libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
	prometheus prometheus-alertmanager

system-packages:
	@missing=""; for package in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" \
			|| missing="$$missing $$package"; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "system-packages: all there"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "system-packages: no apt-get here; install:$$missing (or their tests fail)"; \
	else \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
		echo "system-packages: installing$$missing with apt-get"; \
		{ $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get \
			install -y -qq --no-install-recommends $$missing; } \
		|| echo "system-packages: apt-get could not install$$missing (run it as root)"; \
	fi

# The catalogues of the texts (docs/languages.md): extract the marked texts, update each .po.
messages: $(VENV)/.synced
	$(VENV)/bin/python -m services.common.messages

schemas: $(VENV)/.synced
	$(VENV)/bin/kanava schemas

# Every benchmark, one after the other (about 35 minutes), writing bench/RESULTS.md. The gateway
# load test drives the gateway with wrk, installed here like the test packages.
bench: $(VENV)/.synced
	@$(MAKE) --no-print-directory system-packages SYSTEM_PACKAGES=wrk
	$(VENV)/bin/python -m bench

bench-chat: $(VENV)/.synced
	$(VENV)/bin/python -m bench.chat_metrics

bench-feedback: $(VENV)/.synced
	$(VENV)/bin/python -m bench.feedback_ingest

bench-pathway: $(VENV)/.synced
	$(VENV)/bin/python -m bench.pathway_metrics

bench-contact: $(VENV)/.synced
	$(VENV)/bin/python -m bench.contact_metrics

bench-pipeline: $(VENV)/.synced
	$(VENV)/bin/python -m bench.pipeline

bench-freshness: $(VENV)/.synced
	$(VENV)/bin/python -m bench.freshness

bench-replay: $(VENV)/.synced
	$(VENV)/bin/python -m bench.replay

bench-nps: $(VENV)/.synced
	$(VENV)/bin/python -m bench.nps_alarms

bench-forecast: $(VENV)/.synced
	$(VENV)/bin/python -m bench.forecast
