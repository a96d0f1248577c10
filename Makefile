# The two commands of the README: `make up` (the whole stack, fed by the simulator) and
# `make test` (lint, types, the whole test suite). Both set up what they need first.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .kanava/tools
UV := $(TOOLS)/bin/uv
VENV := .venv

.PHONY: up test lint typecheck pytest schemas bench-chat

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

pytest: $(VENV)/.synced
	$(VENV)/bin/pytest

schemas: $(VENV)/.synced
	$(VENV)/bin/kanava schemas

bench-chat: $(VENV)/.synced
	$(VENV)/bin/python -m bench.chat_metrics
