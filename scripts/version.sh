#!/usr/bin/env bash
# Prints the version of the checked-out tree, for builds and packages:
#   vX.Y.Z tag on HEAD          -> X.Y.Z
#   otherwise (N commits, hash) -> LAST_TAG+dev.N.gHASH (0.0.0 without a tag)
# with ".dirty" appended when tracked files differ from HEAD. The +dev part
# sorts after LAST_TAG and rises with N, for dpkg and rpm alike.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then
  echo 0.0.0+unknown
  exit 0
fi
dirty=""
git diff --quiet HEAD -- 2>/dev/null || dirty=".dirty"
if tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
  v=${tag#v}
  [ -z "$dirty" ] && { echo "$v"; exit 0; }
  echo "$v+dirty"
  exit 0
fi
base=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || echo v0.0.0)
echo "${base#v}+dev.$(git rev-list --count HEAD).g$(git rev-parse --short=12 HEAD)$dirty"
