#!/usr/bin/env bash
# Builds a release into dist/ (DIST overrides): xdr packages (.deb, .rpm) for
# amd64 and arm64, the CycloneDX SBOM, SHA256SUMS and, when XDR_SIGNING_KEY
# names an ed25519 private key, SHA256SUMS.sig (ssh-keygen -Y sign).
# Reproducible: the build time is the commit time (SOURCE_DATE_EPOCH), paths
# are trimmed, the commit is stamped with -X rather than Go's VCS stamping
# (which differs between a checkout and an exported tree), and the packaging
# program writes nothing that depends on the machine or the clock; building
# a commit twice gives identical files.
# VERSION overrides the version from scripts/version.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
VERSION=${VERSION:-$(bash scripts/version.sh)}
COMMIT=${COMMIT:-$(git rev-parse HEAD)}
DIST=${DIST:-dist}
case "$DIST" in /*) ;; *) DIST=$root/$DIST ;; esac
build_date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

rm -rf "$DIST"
mkdir -p "$DIST/build"
ldflags="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.buildDate=$build_date"
for arch in amd64 arm64; do
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$DIST/build/linux_$arch/xdr" ./cmd/xdr
done
# /etc/xdr/xdr.toml: every option with its default, data_dir set for the service.
CGO_ENABLED=0 go run -trimpath -buildvcs=false ./cmd/xdr config example --data-dir /var/lib/xdr >"$DIST/build/xdr.toml"

go -C packaging run -trimpath . build -repo "$root" -build "$DIST/build" -dist "$DIST" \
  -version "$VERSION" -commit "$COMMIT" -epoch "$SOURCE_DATE_EPOCH"

if [ -n "${XDR_SIGNING_KEY:-}" ]; then
  ssh-keygen -q -Y sign -f "$XDR_SIGNING_KEY" -n xdr-release "$DIST/SHA256SUMS"
fi
echo "release $VERSION ($COMMIT, built $build_date) in $DIST:"
(cd "$DIST" && ls -l -- *.deb *.rpm *.cdx.json SHA256SUMS*)
