# Foresight developer tasks. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CACHE      ?= $(HOME)/.cache/foresight
UV_VERSION := 0.13.8
UV         := $(CACHE)/uv-$(UV_VERSION)/bin/uv
VENV       := .venv
PY         := $(VENV)/bin/python
FORESIGHT  := $(VENV)/bin/foresight
PYTEST     := $(VENV)/bin/pytest
export UV_CACHE_DIR ?= $(CACHE)/uv-cache
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	python3 -m venv $(CACHE)/uv-$(UV_VERSION)
	$(CACHE)/uv-$(UV_VERSION)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras
	@touch $@

.PHONY: venv
venv: $(VENV)/.synced ## Create .venv/ with every dependency pinned in uv.lock

.PHONY: tools
tools: venv ## Build or fetch the local control plane, kwok, helm and Prometheus (cached in ~/.cache/foresight)
	$(PY) -m foresight.devcluster ensure

.PHONY: lint
lint: venv ## ruff, mypy, import-linter, CRD drift
	$(VENV)/bin/ruff check operator tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(FORESIGHT) crds --check

.PHONY: test-unit
test-unit: venv ## Fast tests: no cluster, no Prometheus
	$(PYTEST) -m "not integration" -q

.PHONY: helm-lint
helm-lint: tools ## helm lint + helm template of the chart (helm is built by `make tools`)
	$$($(PY) -m foresight.devcluster which helm) lint --strict charts/foresight
	$$($(PY) -m foresight.devcluster which helm) template foresight charts/foresight > /dev/null

.PHONY: test
test: lint tools helm-lint ## Everything: lint, unit tests, and integration tests on a real control plane + Prometheus
	@# pytest exits 5 when it collected nothing: that is a failure, not a pass.
	$(PYTEST) -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi; exit $$rc

.PHONY: crds
crds: venv ## Regenerate crds/ and the chart's copy from the API models
	$(FORESIGHT) crds

.PHONY: chart
chart: crds helm-lint ## Regenerate the chart's CRDs, then lint and render it

.PHONY: cluster-up
cluster-up: tools ## Start the local control plane + Prometheus (hack/cluster up)
	hack/cluster up

.PHONY: cluster-down
cluster-down: ## Stop it and remove its state
	hack/cluster down

.PHONY: demo
demo: tools ## The main job: a local cluster, a real surge, live predictions and actions; redraws docs/img/demo.png
	$(FORESIGHT) demo --chart docs/img/demo.png

.PHONY: bench
bench: venv ## Autoscaling benchmark on the shared traces at start-up 3 and 10 min; regenerates docs/benchmark.md
	$(FORESIGHT) bench-report --startup 3m,10m --jobs $$(nproc)

.PHONY: clean
clean: ## Remove the virtualenv and caches inside the repo (not ~/.cache/foresight)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
