#!/usr/bin/env bash
# Fuzz every parser of untrusted input for a while each: scripts/fuzz.sh 30s
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-30s}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  dir=$(dirname "$f")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "== $dir $target ($time)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$dir"
  done
done
