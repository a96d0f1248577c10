# The two commands of the README: `make up` (the whole stack, fed by the simulator) and
# `make test` (lint, types, the whole test suite). Both set up what they need first.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .kanava/tools
UV := $(TOOLS)/bin/uv
VENV := .venv

.PHONY: up test lint typecheck pytest system-packages schemas bench-chat bench-feedback

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

up: $(VENV)/.synced
	$(VENV)/bin/kanava up --simulate

test: lint typecheck pytest

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check services tests bench
	$(VENV)/bin/ruff format --check services tests bench

typecheck: $(VENV)/.synced
	$(VENV)/bin/mypy

pytest: $(VENV)/.synced system-packages
	$(VENV)/bin/pytest

# Debian's Chromium and its driver, for the wallboard's page tests (tests/integration/
# test_wallboard.py): installed with apt-get when missing; those tests fail without them.
system-packages:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		echo "system-packages: /usr/bin/chromium and /usr/bin/chromedriver are there"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "system-packages: no apt-get here: install Chromium and chromedriver as" \
			"/usr/bin/chromium and /usr/bin/chromedriver, or the wallboard tests fail"; \
	else \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
		echo "system-packages: installing chromium chromium-driver with apt-get"; \
		{ $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get \
			install -y -qq --no-install-recommends chromium chromium-driver; } \
		|| echo "system-packages: apt-get could not install chromium chromium-driver" \
			"(run it as root); the wallboard tests fail without them"; \
	fi

schemas: $(VENV)/.synced
	$(VENV)/bin/kanava schemas

bench-chat: $(VENV)/.synced
	$(VENV)/bin/python -m bench.chat_metrics

bench-feedback: $(VENV)/.synced
	$(VENV)/bin/python -m bench.feedback_ingest
