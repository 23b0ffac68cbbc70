#!/usr/bin/env bash
# End-to-end load figures of docs/performance.md: start a fresh node, ingest
# EVENTS generated ~500-byte events in batches of 1,000, time an indexed
# query, and report the node's peak RSS. Usage: scripts/load.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/xdr" ./cmd/xdr
CGO_ENABLED=0 go build -o "$work/xdrload" ./bench/xdrload
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http=127.0.0.1:$(port); raftaddr=127.0.0.1:$(port)
XDR_ADMIN_PASSWORD=load-test "$work/xdr" serve --data-dir "$work/data" --http "$http" --cluster-addr "$raftaddr" \
  --log-level warn 2>"$work/node.log" &
echo $! >"$work/pid"
for _ in $(seq 100); do curl -sf "http://$http/healthz/ready" >/dev/null && break; sleep 0.1; done
token=$("$work/xdr" token create --tenant default --name load --scope api --data-dir "$work/data")
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version)"
"$work/xdrload" -url "http://$http" -token "$token" -events "$events" -batch 1000 -conns 4 -queries 200
echo "node peak RSS: $(awk '/VmHWM/{printf "%.0f MiB", $2/1024}' /proc/$(cat "$work/pid")/status)"
echo "data dir size: $(du -sh "$work/data" | cut -f1)"
