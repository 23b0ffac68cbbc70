#!/usr/bin/env bash
# Backup figures of docs/performance.md: start a fresh node, ingest EVENTS
# generated ~500-byte events (bench/xdrload), then time `xdr backup create`
# against the running node while sampling the node's RSS every 50 ms, and
# time `xdr backup verify`. Usage: scripts/backup-bench.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/xdr" ./cmd/xdr
CGO_ENABLED=0 go build -o "$work/xdrload" ./bench/xdrload
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http=127.0.0.1:$(port); raftaddr=127.0.0.1:$(port); gossip=127.0.0.1:$(port)
XDR_ADMIN_PASSWORD=load-test "$work/xdr" serve --data-dir "$work/data" --http "$http" --cluster-addr "$raftaddr" \
  --gossip-addr "$gossip" --log-level warn 2>"$work/node.log" &
echo $! >"$work/pid"
pid=$(cat "$work/pid")
for _ in $(seq 100); do curl -sf "http://$http/healthz/ready" >/dev/null && break; sleep 0.1; done
token=$("$work/xdr" token create --tenant default --name load --scope api --data-dir "$work/data")
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(go version)"
"$work/xdrload" -url "http://$http" -token "$token" -events "$events" -batch 1000 -conns 4 -queries 0
sleep 5 # let Badger's compactions after the ingest settle before the baseline
# VmRSS counts the store files Badger maps too; RssAnon is the heap and
# stacks: both are reported (KiB, "total anon").
rss() { awk '/VmRSS/{t=$2} /RssAnon/{a=$2} END{print t, a}' /proc/$pid/status; }
read -r before before_anon <<<"$(rss)"
# A throwaway identity for the benchmark only (no age-keygen needed).
echo "AGE-SECRET-KEY-15WAQV49965ZCZ0PEM7NHJHALCQTJG56P7CKPTUL2ZLYD2PV2NSJS9C3CX0" >"$work/key"
recipient=age1c5ww49a80qefdmfrr503p8fht9tz92jqhs3tkmz6fkfuwgt9n9fqy57qaz
(
  while kill -0 "$pid" 2>/dev/null; do rss; sleep 0.05; done
) >"$work/rss" &
sampler=$!
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/cli-rss" "$work/xdr" backup create --out "$work/backup.age" --recipient "$recipient" --data-dir "$work/data"
end=$(date +%s.%N)
kill $sampler
peak=$(cut -d' ' -f1 "$work/rss" | sort -n | tail -1)
peak_anon=$(cut -d' ' -f2 "$work/rss" | sort -n | tail -1)
echo "backup create: $(python3 -c "print(f'{$end-$start:.1f}')") s, file $(du -m "$work/backup.age" | cut -f1) MiB;" \
  "node RSS before $((before / 1024)) MiB, peak during $((peak / 1024)) MiB (+$(((peak - before) / 1024)) MiB);" \
  "anonymous RSS before $((before_anon / 1024)) MiB, peak $((peak_anon / 1024)) MiB (+$(((peak_anon - before_anon) / 1024)) MiB);" \
  "CLI peak RSS $(( $(cat "$work/cli-rss") / 1024 )) MiB"
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/verify-rss" "$work/xdr" backup verify "$work/backup.age" --identity "$work/key" >/dev/null
end=$(date +%s.%N)
echo "backup verify: $(python3 -c "print(f'{$end-$start:.1f}')") s, peak RSS $(( $(cat "$work/verify-rss") / 1024 )) MiB"
kill "$pid"; wait "$pid" 2>/dev/null || true
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/restore-rss" "$work/xdr" restore "$work/backup.age" --identity "$work/key" --data-dir "$work/restored" >/dev/null
end=$(date +%s.%N)
echo "restore: $(python3 -c "print(f'{$end-$start:.1f}')") s, peak RSS $(( $(cat "$work/restore-rss") / 1024 )) MiB; data dir $(du -sh "$work/data" | cut -f1), restored $(du -sh "$work/restored" | cut -f1)"
