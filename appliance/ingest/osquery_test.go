package ingest

import (
	"testing"
	"time"
)

const osquerySample = "osquery/osquery_docs_results_developer.ndjson"

func TestOsquerySample(t *testing.T) {
	lines := sensorSample(t, osquerySample)
	ps := sensorParseAll(t, "osquery", ParseOsquery, lines)
	if len(ps) != 3 {
		t.Fatalf("%d lines, the README says 3", len(ps))
	}
	t.Logf("%d osquery lines parsed", len(ps))

	// Event format (differential): one added row of "processes".
	if got := ps[0].Timestamp.Format(time.RFC3339); got != "2014-10-01T00:37:30Z" { // unixTime 1412123850
		t.Errorf("added: time %s", got)
	}
	sensorWant(t, ps[0].Fields, map[string]any{
		"event.action": "added", "event.kind": "event", "event.category": "process", "event.dataset": "osquery.result",
		"rule.name": "processes", "osquery.query_name": "processes", "host.name": "hostname.local",
		"process.pid": float64(97830), "process.name": "osqueryd", "process.executable": "/opt/osquery/bin/osqueryd",
		"osquery.columns.pid": "97830", "osquery.columns.path": "/opt/osquery/bin/osqueryd",
		"osquery.calendarTime": "Tue Sep 30 17:37:30 2014", "osquery.epoch": "314159265", "osquery.numerics": false,
	}, "process.command_line")
	// Snapshot: the rows as one list per column.
	if got := ps[1].Timestamp.Format(time.RFC3339); got != "2016-05-02T22:27:32Z" {
		t.Errorf("snapshot: time %s", got)
	}
	sensorWant(t, ps[1].Fields, map[string]any{
		"event.action": "snapshot", "event.kind": "state", "rule.name": "process_snapshot", "host.name": "hostname.local",
		"osquery.snapshot.pid":  []any{"1", "51", "52", "54"},
		"osquery.snapshot.path": []any{"/sbin/launchd", "/usr/sbin/syslogd", "/usr/libexec/UserEventAgent", "/usr/libexec/kextd"},
	}, "process.pid", "process.executable")
	// Batch format: added and removed rows.
	sensorWant(t, ps[2].Fields, map[string]any{
		"event.action": []any{"added", "removed"}, "rule.name": "processes", "host.name": "hostname.local",
		"osquery.diffResults.added.pid":   []any{"97830"},
		"osquery.diffResults.removed.pid": []any{"97650"},
	}, "process.pid")
}

func TestParseOsqueryCases(t *testing.T) {
	sensorRunCases(t, "osquery", ParseOsquery, []sensorCase{
		{name: "removed with numerics and hostIdentifier", line: `{"action":"removed","columns":{"pid":4242,"name":"sshd","path":"/usr/sbin/sshd","cmdline":"sshd: root [priv]","parent":1,"uid":0,"cwd":"/"},"name":"pack_ir_processes","hostIdentifier":"web-1","hostname":"other","unixTime":1709294400,"numerics":true}`,
			ts: "2024-03-01T12:00:00Z",
			want: map[string]any{"event.action": "removed", "host.name": "web-1", "process.pid": float64(4242), "process.parent.pid": float64(1),
				"process.command_line": "sshd: root [priv]", "process.executable": "/usr/sbin/sshd", "process.working_directory": "/",
				"user.id": "0", "osquery.columns.pid": float64(4242)}},
		{name: "process_events", line: `{"action":"added","columns":{"pid":"7","path":"/bin/bash","cmdline":"bash -c id","uid":"1000","time":"1709294399"},"name":"process_events","hostIdentifier":"h","unixTime":"1709294400"}`,
			ts:   "2024-03-01T12:00:00Z",
			want: map[string]any{"process.pid": float64(7), "process.command_line": "bash -c id", "user.id": "1000", "event.category": "process"}},
		{name: "socket_events", line: `{"action":"added","columns":{"action":"connect","pid":"9","path":"/usr/bin/curl","local_address":"10.0.0.5","local_port":"40000","remote_address":"93.184.216.34","remote_port":"443"},"name":"socket_events","hostIdentifier":"h","unixTime":"1709294400"}`,
			ts: "2024-03-01T12:00:00Z",
			want: map[string]any{"event.category": "network", "process.pid": float64(9), "process.executable": "/usr/bin/curl",
				"source.ip": "10.0.0.5", "source.port": float64(40000), "destination.ip": "93.184.216.34", "destination.port": float64(443),
				"osquery.columns.action": "connect", "event.action": "added"}},
		{name: "users query: username only", line: `{"action":"added","columns":{"username":"eve","uid":"1001","path":"/home/eve"},"name":"users","hostIdentifier":"h","unixTime":"1709294400"}`,
			ts: "2024-03-01T12:00:00Z", want: map[string]any{"user.name": "eve"},
			absent: []string{"process.executable", "user.id", "event.category"}},
		{name: "logged_in_users: user column", line: `{"action":"added","columns":{"user":"root","host":"10.0.0.9"},"name":"logged_in_users","unixTime":"1709294400"}`,
			ts: "2024-03-01T12:00:00Z", want: map[string]any{"user.name": "root"}, absent: []string{"host.name"}},
		{name: "decorations hostname", line: `{"action":"added","columns":{},"name":"x","decorations":{"hostname":"deco-host","host_uuid":"u"},"unixTime":"1709294400"}`,
			ts: "2024-03-01T12:00:00Z", want: map[string]any{"host.name": "deco-host", "osquery.decorations.host_uuid": "u"}},
		{name: "calendarTime when no unixTime", line: `{"action":"added","columns":{},"name":"x","calendarTime":"Mon May  2 22:27:32 2016 UTC"}`,
			ts: "2016-05-02T22:27:32Z"},
		{name: "calendarTime without zone", line: `{"action":"added","columns":{},"name":"x","calendarTime":"Tue Sep 30 17:37:30 2014"}`,
			ts: "2014-09-30T17:37:30Z"},
		{name: "no time at all", line: `{"action":"snapshot","snapshot":[],"name":"x"}`,
			want: map[string]any{"event.action": "snapshot", "osquery.snapshot": []any{}}},
		{name: "batch with only removed rows", line: `{"diffResults":{"added":[],"removed":[{"pid":"1"}]},"name":"processes","unixTime":1}`,
			ts: "1970-01-01T00:00:01Z", want: map[string]any{"event.action": "removed"}, absent: []string{"process.pid"}},
		{name: "batch with no rows", line: `{"diffResults":{},"name":"processes"}`, want: map[string]any{"event.action": "diff"}},
		{name: "status log", line: `{"hostIdentifier":"h","calendarTime":"Tue Sep 30 17:37:30 2014 UTC","unixTime":"1412098650","severity":1,"filename":"scheduler.cpp","line":83,"message":"Executing scheduled query"}`,
			ts:   "2014-09-30T17:37:30Z",
			want: map[string]any{"event.action": "status", "event.dataset": "osquery.status", "log.level": "warning", "message": "Executing scheduled query", "host.name": "h"}},
		{name: "unknown action", line: `{"action":"changed","name":"x"}`, err: `"action" "changed" is not added, removed or snapshot`},
		{name: "action not a string", line: `{"action":1,"name":"x"}`, err: `"action" must be a string`},
		{name: "diffResults not an object", line: `{"diffResults":[1],"name":"x"}`, err: `"diffResults" must be an object`},
		{name: "neither", line: `{"name":"x","columns":{}}`, err: `not an osquery result: no "action" or "diffResults"`},
		{name: "bad unixTime", line: `{"action":"added","unixTime":"yesterday"}`, err: `"unixTime": "yesterday" is not an RFC 3339 time or epoch seconds`},
		{name: "bad calendarTime", line: `{"action":"added","calendarTime":"Sept 30"}`, err: `"calendarTime" "Sept 30" is not a time`},
		{name: "calendarTime not a string", line: `{"action":"added","calendarTime":5}`, err: `"calendarTime" must be a string`},
		{name: "string", line: `"added"`, err: "not a JSON object"},
	})
}

func BenchmarkParseOsquery(b *testing.B) { sensorBench(b, osquerySample, ParseOsquery) }
