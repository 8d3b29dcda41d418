# The two commands of the quick start are `make invoke` and `make test`; each installs
# what it needs (Python 3.13 packages pinned by uv.lock) into .venv first.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
EVENT ?= events/direct-completed.json
export UV_PYTHON_DOWNLOADS := never

.PHONY: help setup invoke test lint format check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(UV):
	python=$$(scripts/find-python) && "$$python" -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --python "$$(scripts/find-python)"
	touch $@

setup: $(VENV)/.synced ## install the locked dependencies into .venv

invoke: setup ## run the function on a sample event against the local VOD stand-in (EVENT=...)
	$(VENV)/bin/vod-parts-cleanup invoke $(EVENT)

test: setup ## run the whole test suite
	$(VENV)/bin/pytest

lint: setup ## ruff, formatting, mypy and cfn-lint
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy src
	if [ -f template.yaml ]; then $(VENV)/bin/cfn-lint template.yaml; fi

format: setup ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix src tests
	$(VENV)/bin/ruff format src tests

check: lint test ## everything CI runs

clean: ## remove the environments
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
