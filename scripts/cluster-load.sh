#!/usr/bin/env bash
# Replicated ingest figure of docs/performance.md: three nodes on this one
# machine form a cluster (bootstrap + `xdr cluster token` + `--join`), then
# EVENTS generated ~500-byte events are sent in batches of 1,000, spread
# over all three nodes (followers forward to the leader); each request is
# answered only after a quorum has the batch and the receiving node has
# applied it. Usage: scripts/cluster-load.sh [EVENTS]
# PROFILE=FILE also writes a CPU profile of node 0 (the bootstrapped leader)
# for the first PROFILE_SECONDS (default 8) of the load.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-300000}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/xdr" ./cmd/xdr
CGO_ENABLED=0 go build -o "$work/xdrload" ./bench/xdrload
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -a http cl
start() { # index [join args...]
  local i=$1; shift
  http[$i]=127.0.0.1:$(port); cl[$i]=127.0.0.1:$(port)
  XDR_ADMIN_PASSWORD=load-test "$work/xdr" serve --data-dir "$work/n$i" --http "${http[$i]}" \
    --cluster-addr "${cl[$i]}" --gossip-addr "127.0.0.1:$(port)" --log-level warn "$@" 2>"$work/n$i.log" &
  pids+=($!)
  for _ in $(seq 300); do curl -sf "http://${http[$i]}/healthz/ready" >/dev/null && return; sleep 0.1; done
  echo "node $i not ready"; cat "$work/n$i.log"; exit 1
}
start 0
tok=$("$work/xdr" cluster token --data-dir "$work/n0" | tail -1)
start 1 --join "${cl[0]}" --join-token "$tok"
start 2 --join "${cl[0]}" --join-token "$tok"
for _ in $(seq 300); do
  "$work/xdr" cluster status --data-dir "$work/n0" | grep -c "true *true" | grep -q 3 && break; sleep 0.1
done
"$work/xdr" cluster status --data-dir "$work/n0"
token=$("$work/xdr" token create --tenant default --name load --scope api --data-dir "$work/n0")
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version)"
per=$((events / 3))
if [ -n "${PROFILE:-}" ]; then
  curl -s --unix-socket "$work/n0/admin.sock" "http://node/debug/pprof/profile?seconds=${PROFILE_SECONDS:-8}" -o "$PROFILE" &
  prof=$!
fi
start_ns=$(date +%s%N)
loads=()
for i in 0 1 2; do
  "$work/xdrload" -url "http://${http[$i]}" -token "$token" -events "$per" -batch 1000 -conns 2 -queries 0 >"$work/load$i.out" &
  loads+=($!)
done
wait "${loads[@]}"
end_ns=$(date +%s%N)
if [ -n "${PROFILE:-}" ]; then wait "$prof"; echo "profile of node 0: $PROFILE"; fi
cat "$work"/load*.out
awk -v n=$((per * 3)) -v ns=$((end_ns - start_ns)) 'BEGIN{printf "cluster total: %d events in %.1f s = %.0f events/s (quorum-acknowledged, 3 nodes on one machine)\n", n, ns/1e9, n/(ns/1e9)}'
