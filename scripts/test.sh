#!/usr/bin/env bash
# The whole test suite: static checks, generated-code freshness, and every
# test with per-package coverage. Installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=${CGO_ENABLED:-0}

step() { printf '\n== %s\n' "$*"; }

step "format"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi

step "go mod tidy"
go mod tidy -diff

step "generated templ code is current"
go tool templ generate >/dev/null
if ! git diff --quiet -- '*_templ.go' || [ -n "$(git ls-files --others --exclude-standard -- '*_templ.go')" ]; then
  echo "templ generate changed files: commit the generated code"; git status --short -- '*_templ.go'; exit 1
fi

step "vet"
go vet ./...

step "tests (with coverage)"
mkdir -p test-artifacts
go test -count=1 -timeout 20m -coverprofile=test-artifacts/cover.out -covermode=atomic ./... 2>&1 | tee test-artifacts/test.log
