# Stable Diffusion on KEDA: build, run, test and deploy.
# Every target has a "## " comment: `make help` lists them all.
# Local targets live here; image and cluster targets in deploy/deploy.mk.

SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
MC_VERSION    ?= v0.0.0-20260213195017-d3ed8ac4daa5
FUZZTIME      ?= 2m
export PATH := $(GOBIN):$(PATH)

##@ Local

.PHONY: help
help: ## Show this help: every target and what it does
	@awk 'BEGIN {FS = ":.*?## "} \
		/^##@/ {printf "\n%s\n", substr($$0, 5)} \
		/^[a-zA-Z0-9_.-]+:.*?## / {printf "  %-24s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run the whole product in one process (embedded queue and store) on http://localhost:3000
	LOG_FORMAT=$${LOG_FORMAT:-text} $(GO) run ./cmd/webui

.PHONY: run-services
run-services: deps ## Run the real parts without a cluster: RabbitMQ + MinIO on loopback, a worker and the webui
	@bash scripts/run-services.sh

.PHONY: build
build: ## Build bin/webui and bin/worker
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/webui ./cmd/webui
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/worker ./cmd/worker

.PHONY: generate
generate: ## Regenerate the templ components (*_templ.go are committed)
	$(GO) tool templ generate -path web/components

.PHONY: deps
deps: ## Install what the tests need: rabbitmq-server, chromium (Debian), minio (Go)
	@bash scripts/install-deps.sh

.PHONY: test
test: deps ## Run every test (unit, integration against real RabbitMQ and MinIO, browser), installing what is missing
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...
	cd deploy && $(GO) mod tidy -diff && for m in controlplane/tools/*/; do (cd $$m && $(GO) mod tidy -diff) || exit 1; done
	cd deploy && SDKEDA_K8S=1 $(GO) test -count=1 -timeout 60m ./...
	cd docs/plot && $(GO) mod tidy -diff && $(GO) vet ./... && $(GO) test -count=1 ./...

.PHONY: test-k8s
test-k8s: deps ## Only the manifests against a real API server, KEDA and RabbitMQ on loopback (the first run builds them)
	cd deploy && SDKEDA_K8S=1 $(GO) test -count=1 -timeout 60m -run '^TestKubernetes$$' -v .

.PHONY: test-short
test-short: ## Quick loop: unit tests only (skips the services; never used by CI)
	$(GO) test -short ./...

.PHONY: bench
bench: deps ## Run the benchmarks against real RabbitMQ and MinIO; figures go to docs/benchmarks.md
	$(GO) test -p 1 -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m ./e2e/
	$(MAKE) plots

.PHONY: plots
plots: ## Draw docs/bench-*.png from the numbers the benchmarks wrote (docs/bench-*.json), with docs/plot
	cd docs/plot && $(GO) run . ..

.PHONY: fuzz
fuzz: ## Fuzz the gallery's metadata parser and thumbnailer and the job decoder, FUZZTIME (2m) each
	$(GO) test -run '^$$' -fuzz '^FuzzParseMeta$$' -fuzztime $(FUZZTIME) ./internal/gallery/
	$(GO) test -run '^$$' -fuzz '^FuzzThumb$$' -fuzztime $(FUZZTIME) ./internal/gallery/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/job/

.PHONY: chaos
chaos: deps ## Run the full fault suite (200 jobs; kill -9 workers, restart RabbitMQ, stop MinIO); figures go to docs/benchmarks.md
	E2E_CHAOS_JOBS=$${E2E_CHAOS_JOBS:-200} $(GO) test -run '^TestFaults$$' -count 1 -timeout 30m -v ./e2e/

include deploy/deploy.mk
