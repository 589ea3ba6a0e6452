# plumb's build, test and demo entry points. README.md names the two that set
# up everything on a fresh machine: `make demo` and `make test`.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO        ?= go
BIN       := bin
# A semantic version and the commit's date (hack/version.sh); VERSION=v1.2.3 overrides.
STAMP     := $(shell hack/version.sh 2>/dev/null || echo v0.0.0-dev unknown)
VERSION   ?= $(word 1,$(STAMP))
BUILD_DATE ?= $(word 2,$(STAMP))
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X plumb.dev/plumb/internal/buildinfo.version=$(VERSION) -X plumb.dev/plumb/internal/buildinfo.commit=$(COMMIT) \
             -X plumb.dev/plumb/internal/buildinfo.date=$(BUILD_DATE)
# Release builds are static and leave out kustomize's Go plugin loader: linking
# Go's plugin package exports every symbol and keeps dead methods, which made
# the binary 17 MiB larger and plumb serve 18 MiB bigger in memory.
# Tests and vet use the same tags, so they check the code that ships.
TAGS      := kustomize_disable_go_plugin_support
export CGO_ENABLED ?= 0
STATICCHECK_VERSION := v0.8.2
TEST_TIMEOUT ?= 30m

.PHONY: all build test unit fmt-check vet lint demo assets bench clean image plugin

all: build

## build: compile bin/plumb
build:
	$(GO) build -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/plumb ./cmd/plumb

## image: bin/plumb-image.tar, plumb's OCI image (linux/$(IMAGE_ARCH), user 65532), built without a Docker engine; docs/install.md
IMAGE_ARCH ?= amd64
IMAGE_TAG  ?= plumb:$(VERSION)
image:
	GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -tags $(TAGS) -trimpath -ldflags '-s -w $(LDFLAGS)' -o $(BIN)/linux-$(IMAGE_ARCH)/plumb ./cmd/plumb
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) $(GO) run ./hack/image -binary $(BIN)/linux-$(IMAGE_ARCH)/plumb \
		-arch $(IMAGE_ARCH) -version $(VERSION) -revision $(COMMIT) -tag $(IMAGE_TAG) -out $(BIN)/plumb-image.tar

## plugin: kubectl plugin archives (kubectl-plumb) for PLUGIN_PLATFORMS and their krew manifest, in bin/plugin; docs/cli.md
PLUGIN_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
RELEASE_URL      ?= https://plumb.dev/releases/$(VERSION)
plugin:
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) hack/krew/build.sh $(BIN)/plugin $(VERSION) $(RELEASE_URL) "$(PLUGIN_PLATFORMS)" \
		-tags $(TAGS) -ldflags '-s -w $(LDFLAGS)'

## assets: install the Debian packages the tests need if missing (etcd, postgresql, chromium) and build the test control plane once (cached per Kubernetes version)
assets:
	hack/install-deps.sh
	hack/k8s/assets.sh >/dev/null

## test: everything CI runs: gofmt check, go vet, and all tests against a real kube-apiserver
test: assets fmt-check vet
	KUBEBUILDER_ASSETS="$$(hack/k8s/assets.sh)" $(GO) test -tags $(TAGS) -count=1 -timeout $(TEST_TIMEOUT) ./...

fmt-check:
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path './_build/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi

vet:
	$(GO) vet -tags $(TAGS) ./...

## lint: go vet and staticcheck (pinned)
lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -tags $(TAGS) ./...

## demo: start a local control plane, apply examples/shop, drift it with kubectl, and run plumb on it
demo: assets build
	KUBEBUILDER_ASSETS="$$(hack/k8s/assets.sh)" $(GO) run ./hack/demo -plumb $(BIN)/plumb -source examples/shop

## bench: the benchmark harness against real API servers (see bench/README.md)
bench: assets build
	KUBEBUILDER_ASSETS="$$(hack/k8s/assets.sh)" $(GO) run ./bench/harness -plumb $(BIN)/plumb

clean:
	rm -rf $(BIN)
