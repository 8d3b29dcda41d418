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

.PHONY: help setup invoke sweep smoke test lint format check distclean redrive bench build-CallbackFunction build-CleanupFunction build-RelayFunction package validate

help: ## list the targets
	@grep -E '^[A-Za-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

# uv itself runs on any Python 3; only the project's environment needs 3.13.
$(UV):
	python=$$(scripts/find-python 2>/dev/null || command -v python3) && "$$python" -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml tools/pyproject.toml uv.lock
	$(UV) sync --locked --python "$$(scripts/find-python)"
	touch $@

setup: $(VENV)/.synced ## install the locked dependencies into .venv

invoke: setup ## run the function on a sample event, on the stand-ins unless VOD is configured (EVENT=... [RELAY=1] [LOCAL=1])
	$(VENV)/bin/vod-parts-cleanup invoke $(EVENT) $(if $(RELAY),--relay) $(if $(LOCAL),--local)

smoke: setup ## smoke test a deployed stack (STACK=name [REGION=...]), or LOCAL=1 the stand-ins
	@if [ -z "$(STACK)" ] && [ -z "$(LOCAL)" ]; then \
		echo "usage: make smoke STACK=<stack name> [REGION=<region>]   (or make smoke LOCAL=1)" >&2; exit 2; fi
	$(PY) -m scripts.smoke $(if $(LOCAL),--local,--stack "$(STACK)" $(if $(REGION),--region "$(REGION)"))

sweep: setup ## the sweep on a seeded mix of uploads in the local stand-in, with its summary
	$(VENV)/bin/vod-parts-cleanup sweep --older-than 24h --seed-demo

test: setup ## run the whole test suite
	$(VENV)/bin/pytest

lint: setup ## ruff, formatting, mypy and cfn-lint
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/ruff format --check src tests scripts
	$(VENV)/bin/mypy src scripts
	if [ -f template.yaml ]; then $(VENV)/bin/cfn-lint template.yaml; fi

format: setup ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix src tests scripts
	$(VENV)/bin/ruff format src tests scripts

check: lint test validate ## everything CI runs

# Moves the failed-events queue's messages to the work queue (scripts/redrive.py), with the
# AWS CLI's credentials. A message leaves the source queue only once the work queue has it.
# Optional: MAX_MESSAGES=n to stop after n messages, REGION=r when the URLs do not name one.
redrive: setup ## move failed events to the work queue (FROM=url TO=url [DRY_RUN=1])
	@if [ -z "$(FROM)" ] || [ -z "$(TO)" ]; then \
		echo "usage: make redrive FROM=<failed-events or dead-letter queue URL> TO=<work queue URL> [DRY_RUN=1]" >&2; exit 2; fi
	$(PY) -m scripts.redrive --from "$(FROM)" --to "$(TO)" $(if $(filter 1 yes true,$(DRY_RUN)),--dry-run) \
		$(if $(MAX_MESSAGES),--max-messages "$(MAX_MESSAGES)") $(if $(REGION),--region "$(REGION)")

# The benchmark (a few minutes; not part of `make test`): the function against a naive
# handler on the VOD stand-in, then cold starts of the Lambda packages. AWS is a moto server
# on loopback (moto[server], a development dependency).
bench: setup ## measure drain, burst and cold start against a naive handler (a few minutes)
	$(PY) -m vod_parts_cleanup_dev.bench $(BENCH_ARGS)

distclean: ## remove .venv, .tools and the build outputs (not videos: that is vod-parts-cleanup clean)
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache .aws-sam dist

# --- The Lambda deployment package (no Docker needed) ------------------------------------
# `sam build` runs `make build-CallbackFunction` and `make build-CleanupFunction` (the same
# package: template.yaml, Metadata BuildMethod makefile;
# CodeUri . is where this Makefile is) with ARTIFACTS_DIR set to the empty directory that
# becomes the function's code. The package holds the runtime dependencies only
# ([project].dependencies, exactly as uv.lock pins them, hashes checked) as wheels for the
# Lambda platform, plus the product package src/vod_parts_cleanup (the developer tools are a
# distribution of their own, src/vod_parts_cleanup_dev, never part of it).
# botocore is pruned: the Lambda runtime provides boto3/botocore (a dev dependency here).
# The platform of Lambda arm64 on the python3.13 runtime: Amazon Linux 2023, glibc 2.34.
LAMBDA_PLATFORM ?= aarch64-manylinux_2_34
LAMBDA_PYTHON_VERSION := 3.13
# Published on PyPI as a source distribution only. It is pure Python, so building it gives a
# py3-none-any wheel; everything else must come as a prebuilt wheel (--only-binary :all:).
PURE_PYTHON_SDISTS := alibabacloud-tea
LAMBDA_EXPORT := --frozen --no-dev --no-emit-project --prune botocore \
	--format requirements-txt --no-header --quiet
LAMBDA_INSTALL = --target "$(ARTIFACTS_DIR)" --python-platform $(LAMBDA_PLATFORM) \
	--python-version $(LAMBDA_PYTHON_VERSION) --no-deps --require-hashes --quiet
LAMBDA_ARCH = $(firstword $(subst -, ,$(LAMBDA_PLATFORM)))
PACKAGE_DIR := dist/lambda
PACKAGE_ZIP := dist/vod-parts-cleanup-lambda.zip

build-CallbackFunction build-CleanupFunction build-RelayFunction: $(UV) ## the package into ARTIFACTS_DIR (sam build runs one per function)
	@if [ -z "$(ARTIFACTS_DIR)" ]; then echo "ARTIFACTS_DIR is not set: run sam build or make package" >&2; exit 2; fi
	@if [ -n "$$(ls -A "$(ARTIFACTS_DIR)" 2>/dev/null)" ]; then echo "ARTIFACTS_DIR $(ARTIFACTS_DIR) is not empty" >&2; exit 2; fi
	@echo "Lambda package for $(LAMBDA_PLATFORM), Python $(LAMBDA_PYTHON_VERSION), into $(ARTIFACTS_DIR)"
	requirements=$$(mktemp -d) && trap 'rm -rf "$$requirements"' EXIT && \
	$(UV) export $(LAMBDA_EXPORT) --output-file "$$requirements/all.txt" && \
	$(UV) export $(LAMBDA_EXPORT) $(PURE_PYTHON_SDISTS:%=--no-emit-package %) \
		--output-file "$$requirements/wheels.txt" && \
	$(UV) pip install $(LAMBDA_INSTALL) --only-binary :all: --requirement "$$requirements/wheels.txt" && \
	pins=$$(for name in $(PURE_PYTHON_SDISTS); do grep -oE "^$$name==[^ ;]+" "$$requirements/all.txt"; done) && \
	$(UV) pip install $(LAMBDA_INSTALL) --constraints "$$requirements/all.txt" $$pins
	@# Every wheel installed must be pure Python or built for the Lambda architecture.
	@wrong=$$(grep -H '^Tag:' "$(ARTIFACTS_DIR)"/*.dist-info/WHEEL \
		| grep -v -e '-none-any$$' -e 'manylinux.*_$(LAMBDA_ARCH)$$' || true); \
	if [ -n "$$wrong" ]; then echo "wheels not for $(LAMBDA_ARCH):" >&2; echo "$$wrong" >&2; exit 1; fi
	cp -R src/vod_parts_cleanup "$(ARTIFACTS_DIR)/"
	rm -rf "$(ARTIFACTS_DIR)/bin"
	find "$(ARTIFACTS_DIR)" -depth -name __pycache__ -type d -exec rm -rf {} +
	@# Lambda cannot write bytecode into the package, so without it every cold start compiles
	@# every module it imports: shipping it halves the import time of the handler.
	@if python=$$(scripts/find-python 2>/dev/null); then \
		echo "compiling bytecode with $$python"; \
		"$$python" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)"; \
	else echo "warning: no Python $(LAMBDA_PYTHON_VERSION) here, so no bytecode: slower cold starts" >&2; fi

# The SAM CLI, run by uv in an environment of its own (it pins another pydantic than ours).
# Its own dependencies are resolved as they were on the day it was pinned, so a later
# release of one of them cannot change what CI runs.
SAM_CLI_VERSION := 1.170.0
SAM_CLI_RESOLVED_AS_OF := 2026-11-25T06:00:00Z
SAM := SAM_CLI_TELEMETRY=0 $(UV) tool run --quiet --exclude-newer $(SAM_CLI_RESOLVED_AS_OF) \
	--from aws-sam-cli==$(SAM_CLI_VERSION) sam

# Any region will do: the template names none.
validate: $(UV) ## sam validate: the SAM transform, then cfn-lint (--lint)
	$(SAM) validate --region us-east-1
	$(SAM) validate --lint --region us-east-1

package: $(UV) ## build the function's package into dist/ (as sam build does) and zip it
	rm -rf $(PACKAGE_DIR) $(PACKAGE_ZIP) && mkdir -p $(PACKAGE_DIR)
	$(MAKE) --no-print-directory build-CleanupFunction ARTIFACTS_DIR="$(abspath $(PACKAGE_DIR))"
	cd $(PACKAGE_DIR) && "$$(../../scripts/find-python 2>/dev/null || command -v python3)" \
		-m zipfile -c ../$(notdir $(PACKAGE_ZIP)) *
	@du -sh $(PACKAGE_DIR) $(PACKAGE_ZIP)
