# Mini-XDR. `make run` starts a one-node appliance on ./data; `make test` runs
# every check CI runs (installing what the tests need).
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: run build test bench generate fuzz load

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/xdr ./cmd/xdr

run: build
	./bin/xdr serve --data-dir ./data

test:
	bash scripts/test.sh

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
