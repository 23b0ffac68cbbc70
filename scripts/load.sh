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
# Where the machine allows it (cgroup v1 memory controller, root), run the
# node under a hard 1 GiB limit that counts the page cache of its mmapped
# store files too: the honest form of "stays under 1 GiB".
cg=/sys/fs/cgroup/memory/xdr-load-$$
if [ -w /sys/fs/cgroup/memory ] && mkdir "$cg" 2>/dev/null; then
  echo $((1 << 30)) >"$cg/memory.limit_in_bytes"
  echo "$(cat "$work/pid")" >"$cg/tasks"
  trap 'kill $(cat "$work/pid") 2>/dev/null || true; sleep 1; rmdir "$cg" 2>/dev/null; rm -rf "$work"' EXIT
else
  cg=""
fi
for _ in $(seq 100); do curl -sf "http://$http/healthz/ready" >/dev/null && break; sleep 0.1; done
token=$("$work/xdr" token create --tenant default --name load --scope api --data-dir "$work/data")
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version)"
pid=$(cat "$work/pid")
"$work/xdrload" -url "http://$http" -token "$token" -events "$events" -batch 1000 -conns 4 -queries 0
echo "node peak RSS: $(awk '/VmHWM/{printf "%.0f MiB", $2/1024}' /proc/$pid/status);" \
  "now: $(awk '/RssAnon/{a=$2} /RssFile/{f=$2} END{printf "%.0f MiB anonymous + %.0f MiB mapped store files", a/1024, f/1024}' /proc/$pid/status)"
if [ -n "$cg" ]; then
  echo "1 GiB memory cgroup (page cache included): peak $(( $(cat "$cg/memory.max_usage_in_bytes") >> 20 )) MiB," \
    "limit hits $(cat "$cg/memory.failcnt"), node alive: $(kill -0 "$pid" 2>/dev/null && echo yes || echo NO)"
  # Queries are timed with the machine's page cache, as a server has it.
  echo "$pid" >/sys/fs/cgroup/memory/tasks
fi
"$work/xdrload" -url "http://$http" -token "$token" -events 0 -queries 200
echo "data dir size: $(du -sh "$work/data" | cut -f1)"
