#!/usr/bin/env bash
# Syslog over TCP, end to end: the same generated stream (RFC 5424, octet
# counting) into a fresh node (received -> committed through Raft -> indexed)
# and into rsyslog writing a file, one after the other on this machine; the
# time is until the last message is committed / written. Each side's CPU
# time (user + system, from /proc/PID/stat) per message is printed too: on a
# shared machine it is steadier than the rate.
# Usage: scripts/syslog-bench.sh [MESSAGES]
# PROFILE=FILE also writes a CPU profile of the node during its run.
# The stream is failed SSH logins from 50,000 addresses, each seen again
# every 50,000 messages: past about 250,000 messages the bundled rules
# raise brute-force and password-spraying alerts for every address, so a
# longer run measures an alert storm too (the count is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
work=$(mktemp -d)
pids=()
# Wait for what was started before removing its data: a node whose data
# dir vanishes under it cannot finish its shutdown.
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/xdr" ./cmd/xdr
CGO_ENABLED=0 go build -o "$work/syslogload" ./bench/syslogload
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
# cpu PID: the process's user + system CPU time so far, in seconds.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print ($12 + $13) / hz}' "/proc/$1/stat"; }
# per_msg CPU0 CPU1: microseconds of CPU per message.
per_msg() { python3 -c "print(round(($2-$1)*1e6/$n, 2))"; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. rsyslog into a file.
rport=$(port)
mkdir -p "$work/rs"
cat >"$work/rsyslog.conf" <<CONF
global(workDirectory="$work/rs")
module(load="imtcp")
input(type="imtcp" port="$rport" address="127.0.0.1" ruleset="file")
ruleset(name="file") { action(type="omfile" file="$work/rsyslog.out" template="RSYSLOG_FileFormat") }
CONF
rsyslogd -n -f "$work/rsyslog.conf" -i "$work/rsyslogd.pid" &
pids+=($!)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$rport) 2>/dev/null && break; sleep 0.1; done
c0=$(cpu "${pids[0]}")
t0=$(now)
"$work/syslogload" -addr "127.0.0.1:$rport" -n "$n"
while [ "$(wc -l <"$work/rsyslog.out" 2>/dev/null || echo 0)" -lt "$n" ]; do sleep 0.05; done
t1=$(now)
c1=$(cpu "${pids[0]}")
rs_rate=$(python3 -c "print(round($n/($t1-$t0)))")
echo "rsyslog -> file: $n messages in $(python3 -c "print(round($t1-$t0,2))")s = $rs_rate msg/s, $(per_msg "$c0" "$c1") µs CPU/msg"
kill "${pids[0]}"

# 2. the node.
http=127.0.0.1:$(port); raft=127.0.0.1:$(port); sport=$(port)
XDR_ADMIN_PASSWORD=bench "$work/xdr" serve --data-dir "$work/data" --http "$http" --cluster-addr "$raft" \
  --syslog-tcp "127.0.0.1:$sport" --log-level warn 2>"$work/node.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://$http/healthz/ready" >/dev/null && break; sleep 0.1; done
token=$("$work/xdr" token create --tenant default --name bench --scope api --data-dir "$work/data")
committed() { curl -s -H "Authorization: Bearer $token" "http://$http/metrics" | awk '/^xdr_events_accepted_total\{source="syslog"\}/{print int($2)}'; }
node=${pids[1]}
if [ -n "${PROFILE:-}" ]; then
  curl -s --unix-socket "$work/data/admin.sock" "http://node/debug/pprof/profile?seconds=${PROFILE_SECONDS:-4}" -o "$PROFILE" &
  prof=$!
fi
c0=$(cpu "$node")
t0=$(now)
"$work/syslogload" -addr "127.0.0.1:$sport" -n "$n"
while [ "$(committed)" -lt "$n" ]; do sleep 0.05; done
t1=$(now)
c1=$(cpu "$node")
xdr_rate=$(python3 -c "print(round($n/($t1-$t0)))")
echo "xdr (committed and indexed): $n messages in $(python3 -c "print(round($t1-$t0,2))")s = $xdr_rate msg/s, $(per_msg "$c0" "$c1") µs CPU/msg"
# Alerts raised during the run, by rule, paging through the API.
python3 - "$http" "$token" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1:3]
cursor, rules = "", {}
while True:
    req = urllib.request.Request(f"http://{base}/api/v1/alerts?limit=1000&cursor={cursor}", headers={"Authorization": "Bearer " + token})
    page = json.load(urllib.request.urlopen(req))
    for a in page["alerts"]:
        rules[a["rule_title"]] = rules.get(a["rule_title"], 0) + 1
    cursor = page["next"]
    if not cursor:
        break
print("alerts raised:", sum(rules.values()), rules)
PY
if [ -n "${prof:-}" ]; then wait "$prof"; fi
echo "ratio xdr/rsyslog: $(python3 -c "print(round($xdr_rate/$rs_rate,3))")"
