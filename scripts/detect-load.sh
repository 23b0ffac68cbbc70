#!/usr/bin/env bash
# Event → alert latency of docs/performance.md: start a fresh node, import
# the SigmaHQ rules of the test data and the IPsum intel list, then ingest
# sshd auth-log lines at RATE events/s for DURATION while bench/detectload
# times how soon each brute-force probe's alert is visible in the API.
# Usage: scripts/detect-load.sh [RATE] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-10000}
duration=${2:-60s}
work=$(mktemp -d)
# Stop the node and wait for it (up to 20 s, then SIGKILL) before removing
# its data dir: removing it first can leave the node hanging in shutdown.
stop_node() {
  local pid
  pid=$(cat "$work/pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
}
trap 'stop_node; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/xdr" ./cmd/xdr
CGO_ENABLED=0 go build -o "$work/detectload" ./bench/detectload
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http=127.0.0.1:$(port); raftaddr=127.0.0.1:$(port)
XDR_ADMIN_PASSWORD=load-test "$work/xdr" serve --data-dir "$work/data" --http "$http" --cluster-addr "$raftaddr" \
  --log-level warn >"$work/node.log" 2>&1 &
echo $! >"$work/pid"
for _ in $(seq 100); do curl -sf "http://$http/healthz/ready" >/dev/null && break; sleep 0.1; done
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(go version)"
"$work/xdr" rules import ../shared/testdata/sigma/sigma_rules.tar.gz --status stable,test --data-dir "$work/data" | tail -1
"$work/xdr" intel import ../shared/data/intel/lists/ipsum-min5.tsv --source ipsum --data-dir "$work/data" | tail -1
token=$("$work/xdr" token create --tenant default --name load --scope api --data-dir "$work/data")
"$work/detectload" -url "http://$http" -token "$token" -rate "$rate" -duration "$duration"
echo "node peak RSS: $(awk '/VmHWM/{printf "%.0f MiB", $2/1024}' /proc/$(cat "$work/pid")/status)"
