#!/usr/bin/env bash
# The whole test suite: static checks, generated-code freshness, and every
# test with per-package coverage. Installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=${CGO_ENABLED:-0}

step() { printf '\n== %s\n' "$*"; }

step "test dependencies (Debian packages)"
# Real clients the tests drive: util-linux logger, rsyslog (with TLS) and
# Chromium for the browser tests of the web UI.
need=()
command -v logger >/dev/null || need+=(bsdutils)
command -v rsyslogd >/dev/null || need+=(rsyslog)
command -v chromium >/dev/null || need+=(chromium)
# promtool (Debian package prometheus) lints what /metrics serves.
command -v promtool >/dev/null || [ -x /usr/bin/promtool ] || need+=(prometheus)
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] || [ -n "$(find /usr/lib -name lmnsd_gtls.so 2>/dev/null | head -1)" ] || need+=(rsyslog-gnutls)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

step "format"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi

step "go mod tidy"
go mod tidy -diff
go -C packaging mod tidy -e -diff # -e: nfpm's own tests import a module the proxy refuses

step "generated templ code is current"
go tool templ generate >/dev/null
if ! git diff --quiet -- '*_templ.go' || [ -n "$(git ls-files --others --exclude-standard -- '*_templ.go')" ]; then
  echo "templ generate changed files: commit the generated code"; git status --short -- '*_templ.go'; exit 1
fi

step "vet"
go vet ./...

step "release: packages, signature, SBOM, unit, reproducibility, install/upgrade/purge"
bash scripts/package-test.sh

step "tests (with coverage)"
mkdir -p test-artifacts
go test -count=1 -timeout 20m -coverprofile=test-artifacts/cover.out -covermode=atomic ./... 2>&1 | tee test-artifacts/test.log
