# Paddock — every entry point a person or CI needs. `make help` lists them.
# Node 24 is pinned through the npm package node@24: after `npm ci` the project's
# own runtime lives in node_modules/.bin/node, whatever Node the machine has.

SHELL := /bin/bash
.DEFAULT_GOAL := help
# npm scripts and vitest find `node` on PATH: put the pinned one first.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
NODE := node_modules/.bin/node
BIN := node_modules/.bin
CLUSTER ?= dev
# REAL_NODES=1: `make cluster-up` adds one real kubelet node (docs/testing.md, "The real node").
REAL_NODES ?=

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

node_modules/.install-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: node_modules/.install-stamp ## Install the pinned Node 24 runtime and all dependencies

.PHONY: binaries
binaries: ## Build (first run) or reuse the cached control plane binaries
	bash cluster/build-binaries.sh

.PHONY: realnode
realnode: deps ## Build (first run) or reuse the real node's kubelet, runtime, kube-proxy, kube-router, CoreDNS and images
	$(NODE) cluster/src/cli.ts build-real-node

.PHONY: generate
generate: deps ## Regenerate TypeScript types from the CRD schemas
	$(NODE) operator/hack/generate-types.ts

.PHONY: verify-generated
verify-generated: deps ## Fail if generated types are stale
	$(NODE) operator/hack/generate-types.ts --check

.PHONY: typecheck
typecheck: deps ## Type-check everything (tsc, strict): operator, cluster, tests, bench, and the kubectl plugin
	$(BIN)/tsc -p tsconfig.json
	$(BIN)/tsc -p cli/tsconfig.json

.PHONY: lint
lint: deps ## eslint + prettier check
	$(BIN)/eslint .
	$(BIN)/prettier --check .

.PHONY: format
format: deps ## Format the code with prettier
	$(BIN)/prettier --write .

.PHONY: test-unit
test-unit: deps ## Unit tests (pure cores, no cluster)
	$(BIN)/vitest run --project unit

.PHONY: test-integration
test-integration: deps binaries ## Integration tests against a real local control plane with KWOK
	$(BIN)/vitest run --project integration

.PHONY: test
test: deps binaries verify-generated typecheck lint ## Everything CI runs: checks, unit and integration tests
	$(BIN)/vitest run

.PHONY: cluster-up
cluster-up: deps binaries ## Start the local control plane (CLUSTER=dev; REAL_NODES=1 adds a real node); prints the kubeconfig path
	$(NODE) cluster/src/cli.ts up --name $(CLUSTER) $(if $(filter 1,$(REAL_NODES)),--real-node)

.PHONY: cluster-down
cluster-down: deps ## Stop the local control plane and delete its state
	$(NODE) cluster/src/cli.ts down --name $(CLUSTER)

.PHONY: build
build: deps ## Compile the operator to JavaScript in dist/ (what the image and the benchmark run)
	rm -rf dist
	$(BIN)/tsc -p tsconfig.build.json
	cp -R crds dist/crds

.PHONY: run
run: deps ## Run the operator against $$KUBECONFIG (or the local cluster)
	$(NODE) operator/src/main.ts

.PHONY: demo
demo: deps binaries ## The quick start: local cluster, CRDs, operator, examples, live status
	$(NODE) operator/hack/demo.ts

.PHONY: bench
bench: deps binaries ## Benchmark the compiled operator (built when stale) on the local control plane; writes bench/reports/*.json
	$(NODE) bench/run.ts

.PHONY: images
images: build ## Build the OCI images (operator, agents, fixtures) into dist/images/ without a Docker daemon, then smoke-run them (root)
	$(NODE) images/src/build.ts
	$(NODE) images/src/verify.ts

.PHONY: images-load
images-load: deps ## Import dist/images/*.oci.tar into the real node's containerd (make images first)
	$(NODE) images/src/load.ts

.PHONY: images-pin
images-pin: deps ## Pin Debian packages of the images at the version apt offers now (PACKAGES='name ...')
	$(NODE) images/src/pin.ts $(PACKAGES)

.PHONY: push
push: deps ## Push dist/images/*.oci.tar to a registry without a daemon: REGISTRY=host[:port]/path (make images first)
	$(NODE) images/src/push.ts --registry "$(REGISTRY)"
