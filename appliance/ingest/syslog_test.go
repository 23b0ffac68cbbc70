package ingest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// syslogRecv is the receive time of the text-parser tests unless a case
// says otherwise.
var syslogRecv = time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)

// syslogCase is one line for a text parser (syslog, auth, cef) and what it
// must give.
type syslogCase struct {
	name string
	line string
	recv time.Time      // zero: syslogRecv
	ts   string         // RFC 3339 event time; "" when the line has none
	want map[string]any // fields that must be there; a nil value: must be absent
	err  string         // a refusal whose reason contains this
}

func runSyslogCases(t *testing.T, parse Parser, cases []syslogCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recv := c.recv
			if recv.IsZero() {
				recv = syslogRecv
			}
			p, err := parse([]byte(c.line), recv)
			if c.err != "" {
				if err == nil {
					t.Fatalf("accepted, want an error containing %q; fields %v", c.err, p.Fields)
				}
				if !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %q, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			checkLineParsed(t, []byte(c.line), p)
			switch {
			case c.ts == "" && !p.Timestamp.IsZero():
				t.Errorf("timestamp %v, want none", p.Timestamp)
			case c.ts != "":
				want, err := time.Parse(time.RFC3339Nano, c.ts)
				if err != nil {
					t.Fatal(err)
				}
				if !p.Timestamp.Equal(want) {
					t.Errorf("timestamp %v, want %v", p.Timestamp.Format(time.RFC3339Nano), c.ts)
				}
			}
			for k, want := range c.want {
				got, ok := p.Fields[k]
				if want == nil {
					if ok {
						t.Errorf("%s = %#v, want it absent", k, got)
					}
					continue
				}
				if !ok {
					t.Errorf("%s missing, want %#v", k, want)
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
		})
	}
}

// checkLineParsed checks what every accepted text line must give: the
// original is the line as a JSON string (invalid UTF-8 replaced), the fields
// have storable types, the time is UTC in 1970-2261, and the stored
// document builds and is JSON.
func checkLineParsed(t *testing.T, line []byte, p Parsed) {
	t.Helper()
	if !json.Valid(p.Original) {
		t.Fatalf("original is not JSON: %q", p.Original)
	}
	var orig string
	if err := json.Unmarshal(p.Original, &orig); err != nil {
		t.Fatalf("original %q is not a JSON string: %v", p.Original, err)
	}
	if want := string(bytes.ToValidUTF8(line, []byte("\uFFFD"))); orig != want {
		t.Fatalf("original decodes to %q, want %q", orig, want)
	}
	if ts := p.Timestamp; !ts.IsZero() && (ts.Before(minTime) || !ts.Before(maxTime) || ts.Location() != time.UTC) {
		t.Fatalf("timestamp %v outside 1970-2261 or not UTC", ts)
	}
	for k, v := range p.Fields {
		checkStoredValue(t, k, v, true)
		if s, ok := v.(string); ok && !syslogValidUTF8(s) {
			t.Fatalf("field %s = %q is not UTF-8", k, s)
		}
	}
	h := header{tenant: "acme", source: "syslog", received: syslogRecv}
	var buf docBuilder
	ev, err := buildEvent(h, appliance.NewEventID(eventTime(p, h), 1), p, &buf)
	if err != nil {
		t.Fatalf("buildEvent: %v", err)
	}
	if !json.Valid(ev.Doc) {
		t.Fatalf("document is not JSON: %q", ev.Doc)
	}
}

func syslogValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestParseSyslog(t *testing.T) {
	bom := "\xEF\xBB\xBF"
	runSyslogCases(t, ParseSyslog, []syslogCase{
		// RFC 5424
		{name: "5424 RFC example 1, BOM", line: "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " + bom + "'su root' failed for lonvick on /dev/pts/8",
			ts: "2003-10-11T22:14:15.003Z", want: map[string]any{
				"log.syslog.priority": 34.0, "log.syslog.facility.code": 4.0, "log.syslog.facility.name": "auth",
				"log.syslog.severity.code": 2.0, "log.syslog.severity.name": "critical", "log.level": "critical",
				"log.syslog.version": "1", "host.name": "mymachine.example.com", "process.name": "su",
				"log.syslog.msgid": "ID47", "process.pid": nil, "message": "'su root' failed for lonvick on /dev/pts/8",
			}},
		{name: "5424 RFC example 2, no message", line: "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - -",
			ts: "2003-08-24T12:14:15.000003Z", want: map[string]any{
				"log.syslog.facility.name": "local4", "log.syslog.severity.name": "notice", "host.name": "192.0.2.1",
				"process.name": "myproc", "process.pid": 8710.0, "message": nil, "log.syslog.msgid": nil,
			}},
		{name: "5424 structured data with escapes", line: `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appl\"ic\\ation\]" eventID="1011"][examplePriority@32473 class="high"] ` + bom + `An application event log entry...`,
			ts: "2003-10-11T22:14:15.003Z", want: map[string]any{
				"syslog.structured_data.exampleSDID@32473.iut":         "3",
				"syslog.structured_data.exampleSDID@32473.eventSource": `Appl"ic\ation]`,
				"syslog.structured_data.exampleSDID@32473.eventID":     "1011",
				"syslog.structured_data.examplePriority@32473.class":   "high",
				"message": "An application event log entry...",
			}},
		{name: "5424 SD only, no message", line: `<13>1 2026-11-22T03:54:00Z h a - - [meta sequenceId="1"]`,
			ts: "2026-11-22T03:54:00Z", want: map[string]any{"syslog.structured_data.meta.sequenceId": "1", "message": nil}},
		{name: "5424 repeated SD param is a list", line: `<13>1 - h a - - [x ip="1" ip="2" ip="3"] m`,
			want: map[string]any{"syslog.structured_data.x.ip": []any{"1", "2", "3"}}},
		{name: "5424 SD value with unescaped ] and backslash kept", line: `<13>1 - h a - - [x a="b]c\d"] m`,
			want: map[string]any{"syslog.structured_data.x.a": `b]c\d`, "message": "m"}},
		{name: "5424 empty SD element", line: `<13>1 - h a - - [origin][x y=""] m`,
			want: map[string]any{"syslog.structured_data.x.y": "", "message": "m"}},
		{name: "5424 all nil", line: "<13>1 - - - - - -", want: map[string]any{
			"log.syslog.priority": 13.0, "host.name": nil, "process.name": nil, "message": nil}},
		{name: "5424 procid not a number", line: "<13>1 - h app worker-3 - - x", want: map[string]any{
			"process.pid": nil, "log.syslog.procid": "worker-3"}},
		{name: "5424 zone offset to UTC", line: "<13>1 2026-11-22T08:54:00.5+05:00 h a - - - x", ts: "2026-11-22T03:54:00.5Z"},
		{name: "5424 sshd message gets auth fields", line: "<38>1 2026-11-22T03:54:41.038847Z smp-srv01 sshd 22021 - - Failed password for root from 10.200.0.2 port 44040 ssh2",
			ts: "2026-11-22T03:54:41.038847Z",
			want: map[string]any{"event.category": "authentication", "event.action": "ssh-login", "event.outcome": "failure",
				"user.name": "root", "source.ip": "10.200.0.2", "source.port": 44040.0, "process.pid": 22021.0,
				"related.ip": []any{"10.200.0.2"}, "related.user": []any{"root"}}},
		{name: "5424 truncated after HOSTNAME", line: "<13>1 2003-10-11T22:14:15Z host", err: "ends after HOSTNAME: APP-NAME is missing"},
		{name: "5424 truncated after TIMESTAMP", line: "<13>1 -", err: "ends after TIMESTAMP: HOSTNAME is missing"},
		{name: "5424 version alone is a message", line: "<13>1 ", want: map[string]any{"message": "1", "log.syslog.version": nil}},
		{name: "5424 no structured data", line: "<13>1 - h a - -", err: "STRUCTURED-DATA"},
		{name: "5424 double space", line: "<13>1 -  h a - - - x", err: "HOSTNAME is empty"},
		{name: "5424 bad timestamp", line: "<13>1 yesterday h a - - - x", err: "not an RFC 3339 time"},
		{name: "5424 timestamp before 1970", line: "<13>1 1969-12-31T23:59:59Z h a - - - x", err: "outside 1970-2261"},
		{name: "5424 timestamp after 2261", line: "<13>1 2262-01-01T00:00:00Z h a - - - x", err: "outside 1970-2261"},
		{name: "5424 SD unterminated element", line: `<13>1 - h a - - [x a="1"`, err: "no closing ']'"},
		{name: "5424 SD unterminated value", line: `<13>1 - h a - - [x a="1]`, err: "no closing '\"'"},
		{name: "5424 SD unquoted value", line: `<13>1 - h a - - [x a=1] m`, err: "PARAM-NAME=\"VALUE\""},
		{name: "5424 SD without id", line: `<13>1 - h a - - [ a="1"] m`, err: "without an SD-ID"},
		{name: "5424 SD followed by text", line: `<13>1 - h a - - [x a="1"]m`, err: "not a space"},
		{name: "5424 SD garbage", line: `<13>1 - h a - - {x} m`, err: "must be \"-\" or start with '['"},

		// RFC 3164 / BSD
		{name: "BSD with PRI", line: "<38>Nov 22 03:54:41 smp-srv01 sshd[22021]: Server listening on 10.200.0.10 port 22.",
			ts: "2026-11-22T03:54:41Z", want: map[string]any{
				"log.syslog.facility.name": "auth", "log.syslog.severity.name": "informational", "host.name": "smp-srv01",
				"process.name": "sshd", "process.pid": 22021.0, "message": "Server listening on 10.200.0.10 port 22.",
				"event.action": nil, "event.category": nil, "log.syslog.version": nil,
			}},
		{name: "BSD file line without PRI", line: "Nov 22 03:54:41 smp-srv01 su[21600]: FAILED SU (to root) smpuser on pts/0",
			ts: "2026-11-22T03:54:41Z", want: map[string]any{"log.syslog.priority": nil, "host.name": "smp-srv01",
				"event.action": "su", "event.outcome": "failure", "user.name": "smpuser", "user.effective.name": "root"}},
		{name: "BSD space-padded day", line: "<13>Nov  2 03:54:00 host app: m", ts: "2026-11-02T03:54:00Z", want: map[string]any{"message": "m"}},
		{name: "BSD unpadded day", line: "<13>Nov 2 03:54:00 host app: m", ts: "2026-11-02T03:54:00Z"},
		{name: "BSD lower-case month", line: "nov 22 03:54:00 host app: m", ts: "2026-11-22T03:54:00Z"},
		{name: "BSD fractional seconds", line: "<13>Nov 22 03:54:00.123456 host app: m", ts: "2026-11-22T03:54:00.123456Z"},
		{name: "BSD with year (Cisco)", line: "<187>Nov 22 2024 03:54:00 asa-1 %ASA-3-710003: TCP access denied", ts: "2024-11-22T03:54:00Z",
			want: map[string]any{"host.name": "asa-1", "process.name": "%ASA-3-710003", "message": "TCP access denied"}},
		{name: "BSD without host", line: "<13>Nov 22 03:54:00 sshd[7]: Connection closed by 1.2.3.4 port 5", ts: "2026-11-22T03:54:00Z",
			want: map[string]any{"host.name": nil, "process.name": "sshd", "process.pid": 7.0, "event.action": "ssh-connection-closed", "source.ip": "1.2.3.4"}},
		{name: "BSD without tag", line: "<13>Nov 22 03:54:00 host this is just text", want: map[string]any{
			"host.name": "host", "process.name": nil, "message": "this is just text"}, ts: "2026-11-22T03:54:00Z"},
		{name: "BSD tag without pid", line: "<4>Nov 22 03:54:00 host kernel: [ 12.3] eth0: link up", ts: "2026-11-22T03:54:00Z",
			want: map[string]any{"process.name": "kernel", "process.pid": nil, "message": "[ 12.3] eth0: link up", "log.syslog.facility.name": "kern", "log.syslog.severity.name": "warning"}},
		{name: "BSD tag with slash", line: "<22>Nov 22 03:54:00 mx postfix/smtpd[991]: connect from unknown[1.2.3.4]", ts: "2026-11-22T03:54:00Z",
			want: map[string]any{"process.name": "postfix/smtpd", "process.pid": 991.0}},
		{name: "BSD URL is not a tag", line: "<13>Nov 22 03:54:00 host http://example.com is down", ts: "2026-11-22T03:54:00Z",
			want: map[string]any{"process.name": nil, "message": "http://example.com is down"}},
		{name: "BSD over-long tag is message", line: "<13>Nov 22 03:54:00 host " + strings.Repeat("t", 200) + ": m", ts: "2026-11-22T03:54:00Z",
			want: map[string]any{"process.name": nil, "message": strings.Repeat("t", 200) + ": m"}},
		{name: "BSD empty message", line: "<13>Nov 22 03:54:00 host app:", ts: "2026-11-22T03:54:00Z", want: map[string]any{"process.name": "app", "message": nil}},
		{name: "BSD trailing CR and spaces", line: "<13>Nov 22 03:54:00 host app: m  \r", ts: "2026-11-22T03:54:00Z", want: map[string]any{"message": "m"}},
		{name: "BSD BOM at line start", line: "\uFEFF<13>Nov 22 03:54:00 host app: m", ts: "2026-11-22T03:54:00Z", want: map[string]any{"message": "m"}},

		// rsyslog file format (RFC 3339)
		{name: "rsyslog file format", line: "2026-11-22T03:54:00.096990+00:00 smp-srv01 sshd[21392]: Server listening on 10.200.0.10 port 22.",
			ts: "2026-11-22T03:54:00.09699Z", want: map[string]any{"host.name": "smp-srv01", "process.name": "sshd", "process.pid": 21392.0, "log.syslog.priority": nil}},
		{name: "RFC 3339 with offset", line: "2026-11-22T05:54:00+02:00 h app: m", ts: "2026-11-22T03:54:00Z"},
		{name: "RFC 3339 without zone is UTC", line: "2026-11-22T03:54:00.25 h app: m", ts: "2026-11-22T03:54:00.25Z"},
		{name: "PRI then RFC 3339", line: "<86>2026-11-22T03:54:00Z h sudo: pam_unix(sudo:session): session closed for user root",
			ts: "2026-11-22T03:54:00Z", want: map[string]any{"event.action": "session-closed", "user.name": "root", "log.syslog.facility.name": "authpriv"}},
		{name: "bad RFC 3339", line: "2026-13-45T03:54:00Z h app: m", err: "not an RFC 3339 time"},

		// PRI without timestamp (RFC 3164 §4.3.3)
		{name: "PRI and text", line: "<13>hello world", want: map[string]any{"message": "hello world", "log.syslog.priority": 13.0, "host.name": nil}},
		{name: "PRI and tag", line: "<13>sshd[9]: Invalid user x from 1.2.3.4 port 5", want: map[string]any{
			"process.name": "sshd", "event.action": "ssh-invalid-user", "user.name": "x"}},
		{name: "PRI only", line: "<0>", want: map[string]any{"log.syslog.severity.name": "emergency", "log.syslog.facility.name": "kern", "message": nil}},
		{name: "PRI max", line: "<191>x", want: map[string]any{"log.syslog.facility.name": "local7", "log.syslog.severity.name": "debug"}},
		{name: "PRI with month word that is no date", line: "<13>May the force be with you", want: map[string]any{"message": "May the force be with you"}},
		{name: "PRI version 2 is not 5424", line: "<13>2 things", want: map[string]any{"message": "2 things", "log.syslog.version": nil}},

		// Refusals
		{name: "no PRI no timestamp", line: "hello world", err: "not a syslog line"},
		{name: "empty", line: "", err: "not a syslog line"},
		{name: "truncated PRI", line: "<13", err: "no closing '>'"},
		{name: "truncated PRI digits", line: "<1", err: "no closing '>'"},
		{name: "PRI too long", line: "<1234>x", err: "not a number from 0 to 191"},
		{name: "PRI without end", line: "<12345>x", err: "no closing '>'"},
		{name: "PRI empty", line: "<>x", err: "empty"},
		{name: "PRI out of range", line: "<192>x", err: "not a number from 0 to 191"},
		{name: "PRI not a number", line: "<a1>x", err: "not a number from 0 to 191"},
		{name: "PRI negative", line: "<-1>x", err: "not a number from 0 to 191"},
		{name: "bad time of day", line: "Nov 22 25:00:00 h app: m", err: "not a time of day"},
		{name: "bad minute", line: "Nov 22 23:60:00 h app: m", err: "not a time of day"},
		{name: "bad day", line: "Nov 32 03:00:00 h app: m", err: "does not exist"},
		{name: "day zero", line: "Nov 0 03:00:00 h app: m", err: "does not exist"},
		{name: "Feb 30", line: "Feb 30 03:00:00 h app: m", err: "does not exist"},
		{name: "Apr 31", line: "Apr 31 03:00:00 h app: m", err: "does not exist"},
		{name: "malformed BSD time", line: "Nov 22 3:4:5 h app: m", err: "is not \"Mmm dd hh:mm:ss\""},
		{name: "timestamp glued to text", line: "Nov 22 03:54:00x h app: m", err: "not a space"},
		{name: "Feb 29 in an explicit non-leap year", line: "<13>Feb 29 2025 03:00:00 h app: m", err: "does not exist"},

		// Invalid UTF-8 and control characters
		{name: "invalid UTF-8", line: "<13>Nov 22 03:54:00 h app: caf\xe9 \xff\xfe ok", ts: "2026-11-22T03:54:00Z",
			want: map[string]any{"message": "caf\uFFFD \uFFFD ok"}},
		{name: "NUL and controls", line: "<13>Nov 22 03:54:00 h app: a\x00b\x01c\td\"e\\f<g>&", ts: "2026-11-22T03:54:00Z",
			want: map[string]any{"message": "a\x00b\x01c\td\"e\\f<g>&"}},
		{name: "hostile host and tag", line: "<13>Nov 22 03:54:00 \"h\"</script> a\"pp[1]: x", ts: "2026-11-22T03:54:00Z",
			want: map[string]any{"host.name": "\"h\"</script>", "process.name": "a\"pp"}},
	})
}

// TestSyslogYear covers the year of year-less BSD timestamps.
func TestSyslogYear(t *testing.T) {
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	runSyslogCases(t, ParseSyslog, []syslogCase{
		{name: "same year", line: "Nov 22 03:54:00 h a: m", recv: at("2026-11-22T05:00:00Z"), ts: "2026-11-22T03:54:00Z"},
		{name: "later today is this year", line: "Nov 22 20:00:00 h a: m", recv: at("2026-11-22T05:00:00Z"), ts: "2026-11-22T20:00:00Z"},
		{name: "within a day ahead is this year", line: "Nov 23 04:59:59 h a: m", recv: at("2026-11-22T05:00:00Z"), ts: "2026-11-23T04:59:59Z"},
		{name: "more than a day ahead is last year", line: "Nov 23 05:00:01 h a: m", recv: at("2026-11-22T05:00:00Z"), ts: "2025-11-23T05:00:01Z"},
		{name: "December read in January", line: "Dec 31 23:59:58 h a: m", recv: at("2027-01-01T00:00:03Z"), ts: "2026-12-31T23:59:58Z"},
		{name: "December read in March", line: "Dec  1 10:00:00 h a: m", recv: at("2027-03-01T00:00:00Z"), ts: "2026-12-01T10:00:00Z"},
		{name: "January from a clock slightly ahead", line: "Jan  1 00:00:05 h a: m", recv: at("2026-12-31T23:59:50Z"), ts: "2027-01-01T00:00:05Z"},
		{name: "Feb 29 in a leap year", line: "Feb 29 12:00:00 h a: m", recv: at("2028-03-01T00:00:00Z"), ts: "2028-02-29T12:00:00Z"},
		{name: "Feb 29 read in January after a leap year", line: "Feb 29 12:00:00 h a: m", recv: at("2029-01-05T00:00:00Z"), ts: "2028-02-29T12:00:00Z"},
		{name: "Feb 29 in a non-leap year goes to the last leap year", line: "Feb 29 12:00:00 h a: m", recv: at("2027-03-01T00:00:00Z"), ts: "2024-02-29T12:00:00Z"},
		{name: "Feb 29 on Feb 28 of a leap year, a day ahead", line: "Feb 29 01:00:00 h a: m", recv: at("2028-02-28T12:00:00Z"), ts: "2028-02-29T01:00:00Z"},
		{name: "Feb 28 in a non-leap year", line: "Feb 28 12:00:00 h a: m", recv: at("2027-03-01T00:00:00Z"), ts: "2027-02-28T12:00:00Z"},
		{name: "receive time in another zone", line: "Nov 22 03:54:00 h a: m", recv: time.Date(2027, 1, 1, 1, 0, 0, 0, time.FixedZone("X", 3*3600)), ts: "2026-11-22T03:54:00Z"},
		{name: "year before 1970 is refused", line: "Nov 22 03:54:00 h a: m", recv: at("1970-01-01T00:00:00Z"), err: "outside 1970-2261"},
		{name: "explicit year kept", line: "Nov 22 2020 03:54:00 h a: m", recv: at("2026-11-22T05:00:00Z"), ts: "2020-11-22T03:54:00Z"},
	})
}

// FuzzParseSyslog: never panic; a refusal says why; an accepted line keeps
// itself as a JSON string and builds a stored document.
func FuzzParseSyslog(f *testing.F) {
	fuzzTextParser(f, ParseSyslog, []string{
		"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed",
		`<165>1 2003-10-11T22:14:15.003Z h evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="A\"pp"][p class="high"] m`,
		"<13>Nov  2 03:54:00 host sshd[123]: Failed password for invalid user admin from 1.2.3.4 port 22 ssh2",
		"2026-11-22T03:54:00.096990+00:00 smp-srv01 sudo:  smpuser : PWD=/home/smpuser ; USER=root ; COMMAND=/usr/bin/id",
		"Feb 29 12:00:00 h a: m",
		"<13>hello",
		"<13",
		"<187>Nov 22 2024 03:54:00 asa-1 %ASA-3-710003: x",
	})
}

// fuzzTextParser is the fuzz body shared by the syslog, auth and CEF parsers.
func fuzzTextParser(f *testing.F, parse Parser, seeds []string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		p, err := parse(line, syslogRecv)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("refused with an empty reason")
			}
			return
		}
		checkLineParsed(t, line, p)
		if pri, ok := p.Fields["log.syslog.priority"].(float64); ok && (pri < 0 || pri > 191) {
			t.Fatalf("priority %v", pri)
		}
	})
}

// benchTextParser runs parse over lines and reports lines/s.
func benchTextParser(b *testing.B, parse Parser, lines []string) {
	bs := make([][]byte, len(lines))
	size := 0
	for i, l := range lines {
		bs[i] = []byte(l)
		size += len(l)
		if _, err := parse(bs[i], syslogRecv); err != nil {
			b.Fatalf("%q: %v", l, err)
		}
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	n := 0
	rate := StartRate()
	for b.Loop() {
		p, err := parse(bs[n%len(bs)], syslogRecv)
		if err != nil {
			b.Fatal(err)
		}
		Release(p)
		n++
	}
	rate.Report(b, n, "lines")
}

func BenchmarkParseSyslog(b *testing.B) {
	benchTextParser(b, ParseSyslog, []string{
		"<38>Nov 22 03:54:41 smp-srv01 sshd[22021]: Failed password for root from 10.200.0.2 port 44040 ssh2",
		"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event log entry",
		"2026-11-22T03:54:03.782127+00:00 smp-srv01 sshd[21480]: pam_limits(sshd:session): Could not set limit for 'nofile' to soft=1024, hard=32768: Operation not permitted; uid=0,euid=0",
		"<30>Nov 22 03:54:41 web-18 nginx[991]: 10.0.0.5 - - \"GET /index.html HTTP/1.1\" 200 612 \"-\" \"curl/8.0\"",
	})
}
