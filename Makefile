# Every target does its own set-up: a pinned uv (cached under ~/.cache/orderflow) builds .venv from uv.lock.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.9.30
# The cache root devstack uses too (devstack/cache.py): ORDERFLOW_CACHE_DIR, else XDG_CACHE_HOME, else ~/.cache.
CACHE_DIR := $(or $(ORDERFLOW_CACHE_DIR),$(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME)/orderflow),$(HOME)/.cache/orderflow)
UV_HOME := $(CACHE_DIR)/uv-$(UV_VERSION)
UV := $(UV_HOME)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SYNCED := $(VENV)/.synced

# The interpreter on PATH, never one downloaded by uv; the system's certificate store, as pip uses.
export UV_PYTHON_DOWNLOADS := never
export UV_NATIVE_TLS := true

.PHONY: help venv run test test-skaffold lint docs chart-docs release fmt clean e2e-kind

help:
	@echo "make run    start the local stack (Kafka broker, topics, services) in the foreground"
	@echo "make test   run the whole test suite against a real broker"
	@echo "make test-skaffold  skaffold dev on the local kind cluster: edit, rebuild one image, roll one Deployment (root)"
	@echo "make lint   ruff, mypy, the event schema compatibility check, the chart's topology copy and the docs site"
	@echo "make docs   the documentation site (docs/, MkDocs) into site/; a broken link or anchor fails it"
	@echo "make chart-docs  each chart's README.md from its values.yaml (helm-docs, built from its Go module)"
	@echo "make release REGISTRY=host[:port]/path KEY=cosign.key  images, SBOMs, charts: pushed and signed (root)"
	@echo "make fmt    format and autofix"
	@echo "make e2e-kind  docs/deploy/kind.md end to end: kind, skaffold run, orders confirmed, a trace in Jaeger (root)"

$(UV):
	python3 -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet uv==$(UV_VERSION)

# Every workspace member, editable, with the dev tools (the root's dev group).
$(SYNCED): pyproject.toml uv.lock */pyproject.toml services/*/pyproject.toml | $(UV)
	$(UV) sync --frozen
	@touch $@

venv: $(SYNCED)

run: venv
	$(BIN)/orderflow up --traces

# The Python tiers run beside the Kubernetes tiers (tests/run-tiers.sh).
test: venv
	VENV_BIN=$(BIN) tests/run-tiers.sh $(PYTEST_ARGS)

# Not in `make test`: four image pushes and three deploys take minutes more than the suite's budget allows.
test-skaffold: venv
	$(BIN)/pytest -m skaffold tests/cluster/test_skaffold.py $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/orderflow schemas check
	$(BIN)/orderflow topology check
	$(BIN)/mkdocs build --strict --quiet

# --strict (mkdocs.yml): a link to a missing page or anchor, or a page left out of the nav, fails the build.
docs: venv
	$(BIN)/mkdocs build --strict

# The `# --` comments of values.yaml are the descriptions; tests/apiserver/test_chart_docs.py fails on drift.
chart-docs: venv
	$(BIN)/python -m devstack.chartdocs

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# docs/deploy/kind.md as a developer runs it (k8s/e2e-kind.sh); CI runs it after `make test` (.ci/run).
e2e-kind:
	VENV_BIN=$(BIN) k8s/e2e-kind.sh

# docs/releasing.md: the images and charts of the version in pyproject.toml, with SBOMs and cosign signatures, pushed
# to $(REGISTRY); the key's password comes from COSIGN_PASSWORD. Needs the local engine (`orderflow k8s up`).
release: venv
	@test -n "$(REGISTRY)" -a -n "$(KEY)" || { echo "usage: make release REGISTRY=host[:port]/path KEY=cosign.key"; exit 2; }
	$(BIN)/orderflow k8s release --registry "$(REGISTRY)" --key "$(KEY)"

clean:
	rm -rf $(VENV) .orderflow .pytest_cache .mypy_cache .ruff_cache site
