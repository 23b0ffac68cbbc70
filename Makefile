# Mini-XDR. `make run` starts a one-node appliance on ./data; `make test` runs
# every check CI runs (installing what the tests need).
GO       ?= go
# Version stamping as in releases (scripts/package.sh): the build time is the
# last commit's, so a commit always builds to the same binary.
VERSION  ?= $(shell bash scripts/version.sh)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
BUILD_DATE := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)

.PHONY: run build test bench generate fuzz load package

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/xdr ./cmd/xdr

run: build
	./bin/xdr serve --data-dir ./data

test:
	bash scripts/test.sh

# Release files in dist/: .deb and .rpm (amd64, arm64), SBOM, SHA256SUMS;
# XDR_SIGNING_KEY=path/to/ed25519-key also signs SHA256SUMS.
package:
	bash scripts/package.sh

generate:
	$(GO) tool templ generate

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Short fuzzing of every parser of untrusted input (seed corpora run in `make test`).
fuzz:
	bash scripts/fuzz.sh 30s

# End-to-end load figures of docs/performance.md.
load:
	bash scripts/load.sh
