package ingest

import (
	"strings"
	"testing"
	"time"
)

func TestParseCEF(t *testing.T) {
	const hdr = "CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|"
	runSyslogCases(t, ParseCEF, []syslogCase{
		{name: "spec example", line: hdr + "src=10.0.0.1 dst=2.1.2.2 spt=1232",
			want: map[string]any{
				"cef.version": "0", "observer.vendor": "Security", "observer.product": "threatmanager", "observer.version": "1.0",
				"event.code": "100", "cef.name": "worm successfully stopped", "message": "worm successfully stopped",
				"cef.severity": "10", "event.severity": 10.0,
				"source.ip": "10.0.0.1", "destination.ip": "2.1.2.2", "source.port": 1232.0,
				"cef.extensions.src": "10.0.0.1", "cef.extensions.dst": "2.1.2.2", "cef.extensions.spt": "1232",
				"host.name": nil, "log.syslog.priority": nil,
			}},
		{name: "header escapes", line: `CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a \\ dst=1.1.1.1`,
			want: map[string]any{"cef.name": "detected a | in message", "event.action": `blocked a \`, "destination.ip": "1.1.1.1"}},
		{name: "header backslash", line: `CEF:0|sec\\urity|p|1|1|n|1|`,
			want: map[string]any{"observer.vendor": `sec\urity`}},
		{name: "extension escapes", line: hdr + `msg=a \= b \\ c\nd\re \| f fileHash=x\\`,
			want: map[string]any{"message": "a = b \\ c\nd\re | f", "cef.extensions.fileHash": `x\`}},
		{name: "unknown escape kept", line: hdr + `msg=C:\Windows\temp`,
			want: map[string]any{"message": `C:\Windows\temp`}},
		{name: "values with spaces", line: hdr + "msg=Detected a threat. No action needed. suser=John Smith act=allowed by policy",
			want: map[string]any{"message": "Detected a threat. No action needed.", "source.user.name": "John Smith", "user.name": "John Smith", "event.action": "allowed by policy"}},
		{name: "unescaped = in URL stays in value", line: hdr + "request=https://x.example/a?b=c&d=e f=g requestMethod=GET",
			want: map[string]any{"url.original": "https://x.example/a?b=c&d=e", "cef.extensions.f": "g", "http.request.method": "GET"}},
		{name: "multiple spaces between pairs", line: hdr + "src=10.0.0.1    dst=10.0.0.2  ",
			want: map[string]any{"cef.extensions.src": "10.0.0.1", "cef.extensions.dst": "10.0.0.2"}},
		{name: "empty values", line: hdr + "src= dst=10.0.0.2 msg=",
			want: map[string]any{"cef.extensions.src": "", "source.ip": nil, "destination.ip": "10.0.0.2", "message": "worm successfully stopped"}},
		{name: "custom labels", line: hdr + "cs1Label=Signature Type cs1=Exploit cs2=no label cn1Label=score cn1=87 flexString1Label=rule.id flexString1=R-1 cs3Label=src cs3=shadow src=10.0.0.1",
			want: map[string]any{
				"cef.extensions.Signature_Type": "Exploit", "cef.extensions.cs1": "Exploit", "cef.extensions.cs1Label": "Signature Type",
				"cef.extensions.cs2": "no label", "cef.extensions.score": "87", "cef.extensions.rule_id": "R-1",
				"cef.extensions.src": "10.0.0.1", // a label never overwrites a key sent as such
			}},
		{name: "label before value and empty label", line: hdr + "cs4=v cs4Label=after cs5Label= cs5=x",
			want: map[string]any{"cef.extensions.after": "v", "cef.extensions.cs5": "x"}},
		{name: "users", line: hdr + "duser=bob suid=1 duid=2",
			want: map[string]any{"destination.user.name": "bob", "user.name": "bob", "source.user.id": "1", "destination.user.id": "2"}},
		{name: "suser wins user.name", line: hdr + "duser=bob suser=alice",
			want: map[string]any{"user.name": "alice", "destination.user.name": "bob"}},
		{name: "network and hosts", line: hdr + "proto=TCP app=HTTPS shost=ws1.corp dhost=www.example smac=00:11:22:33:44:55 dvc=10.9.9.9 dvchost=fw1 in=123 out=456",
			want: map[string]any{"network.transport": "tcp", "network.protocol": "https", "source.domain": "ws1.corp", "destination.domain": "www.example",
				"source.mac": "00:11:22:33:44:55", "observer.ip": "10.9.9.9", "observer.hostname": "fw1", "source.bytes": 123.0, "destination.bytes": 456.0}},
		{name: "file", line: hdr + "fname=evil.exe filePath=C:\\\\Users\\\\a\\\\evil.exe fsize=4096",
			want: map[string]any{"file.name": "evil.exe", "file.path": `C:\Users\a\evil.exe`, "file.size": 4096.0}},
		{name: "outcome normalised", line: hdr + "outcome=Success", want: map[string]any{"event.outcome": "success"}},
		{name: "outcome failure", line: hdr + "outcome=FAILED", want: map[string]any{"event.outcome": "failure"}},
		{name: "outcome unknown", line: hdr + "outcome=maybe", want: map[string]any{"event.outcome": "unknown"}},
		{name: "not IPs and bad ports", line: hdr + "src=unknown dst=1.2.3 spt=-1 dpt=70000 fsize=x",
			want: map[string]any{"source.ip": nil, "destination.ip": nil, "source.port": nil, "destination.port": nil, "file.size": nil, "cef.extensions.dpt": "70000"}},
		{name: "IPv6", line: hdr + "src=2001:db8::1 dst=fe80::1%eth0", want: map[string]any{"source.ip": "2001:db8::1", "destination.ip": "fe80::1%eth0"}},
		{name: "full key names", line: hdr + "sourceAddress=10.0.0.1 destinationPort=443 deviceAction=drop",
			want: map[string]any{"source.ip": "10.0.0.1", "destination.port": 443.0, "event.action": "drop"}},
		{name: "no extension", line: "CEF:0|V|P|1|sig|Name|5|", want: map[string]any{"event.severity": 5.0, "message": "Name"}},
		{name: "no trailing pipe", line: "CEF:0|V|P|1|sig|Name|5", want: map[string]any{"event.severity": 5.0, "cef.severity": "5"}},
		{name: "CEF version 1", line: "CEF:1|V|P|1|sig|Name|5|", want: map[string]any{"cef.version": "1"}},
		{name: "empty header fields", line: "CEF:0||||||| msg=x", want: map[string]any{"observer.vendor": nil, "cef.name": nil, "message": "x", "event.severity": nil}},
		{name: "severity words", line: "CEF:0|V|P|1|s|n|Very-High|", want: map[string]any{"cef.severity": "Very-High", "event.severity": 10.0}},
		{name: "severity low", line: "CEF:0|V|P|1|s|n|low|", want: map[string]any{"event.severity": 3.0}},
		{name: "severity out of range", line: "CEF:0|V|P|1|s|n|11|", want: map[string]any{"cef.severity": "11", "event.severity": nil}},
		{name: "severity unknown", line: "CEF:0|V|P|1|s|n|Unknown|", want: map[string]any{"cef.severity": "Unknown", "event.severity": nil}},

		// Times
		{name: "rt epoch ms", line: hdr + "rt=1700000000123", ts: "2023-11-14T22:13:20.123Z"},
		{name: "rt epoch seconds", line: hdr + "rt=1700000000", ts: "2023-11-14T22:13:20Z"},
		{name: "rt with year", line: hdr + "rt=Nov 22 2026 03:54:00", ts: "2026-11-22T03:54:00Z"},
		{name: "rt with millis and zone", line: hdr + "rt=Feb 14 2024 19:04:54.123 +01:00", ts: "2024-02-14T18:04:54.123Z"},
		{name: "rt with zone name", line: hdr + "rt=Feb 14 2024 19:04:54 GMT", ts: "2024-02-14T19:04:54Z"},
		{name: "rt with GMT offset", line: hdr + "rt=Feb 14 2024 19:04:54 GMT-0500", ts: "2024-02-15T00:04:54Z"},
		{name: "rt without year", line: hdr + "rt=Nov 22 03:54:00", ts: "2026-11-22T03:54:00Z"},
		{name: "rt RFC 3339", line: hdr + "rt=2026-11-22T03:54:00Z", ts: "2026-11-22T03:54:00Z"},
		{name: "bad rt falls back to end", line: hdr + "rt=Feb 14 2024 19:04:54 PST end=1700000000000", ts: "2023-11-14T22:13:20Z",
			want: map[string]any{"cef.extensions.rt": "Feb 14 2024 19:04:54 PST"}},
		{name: "bad rt falls back to start", line: hdr + "rt=yesterday start=Nov 22 2026 01:00:00", ts: "2026-11-22T01:00:00Z"},
		{name: "rt beats the syslog header", line: "<134>Feb 14 19:04:54 fw " + hdr + "rt=1700000000000", ts: "2023-11-14T22:13:20Z"},
		{name: "bad rt falls back to the syslog header", line: "<134>Feb 14 19:04:54 fw " + hdr + "rt=Feb 30 2024 00:00:00", ts: "2026-02-14T19:04:54Z"},
		{name: "rt far future", line: hdr + "rt=99999999999999", ts: ""},
		{name: "rt too many digits", line: hdr + "rt=1234567890123456789012", ts: ""},

		// Syslog headers
		{name: "BSD header, no tag", line: "<134>Feb 14 19:04:54 fw1.corp " + hdr + "src=10.0.0.1",
			ts: "2026-02-14T19:04:54Z", want: map[string]any{"host.name": "fw1.corp", "log.syslog.priority": 134.0, "process.name": nil, "source.ip": "10.0.0.1", "message": "worm successfully stopped"}},
		{name: "BSD header with tag", line: "Nov 22 03:54:00 fw1 CEF-agent[33]: " + hdr + "src=10.0.0.1",
			ts: "2026-11-22T03:54:00Z", want: map[string]any{"host.name": "fw1", "process.name": "CEF-agent", "process.pid": 33.0}},
		{name: "RFC 5424 header", line: "<134>1 2026-11-22T03:54:00Z fw1 arcsight - - - " + hdr + "src=10.0.0.1",
			ts: "2026-11-22T03:54:00Z", want: map[string]any{"host.name": "fw1", "process.name": "arcsight", "log.syslog.version": "1"}},
		{name: "leading spaces", line: "   " + hdr + "src=10.0.0.1", want: map[string]any{"source.ip": "10.0.0.1"}},

		// Refusals
		{name: "not CEF", line: "hello world", err: "not a CEF line"},
		{name: "too few header fields", line: "CEF:0|V|P|1", err: "has 4 of 7 '|'-separated fields: Signature ID is missing"},
		{name: "only the prefix", line: "CEF:", err: "has 1 of 7"},
		{name: "escaped pipes do not count", line: `CEF:0|V\|P\|1\|s\|n\|5`, err: "has 2 of 7"},
		{name: "version not a number", line: "CEF:x|V|P|1|s|n|5|", err: "CEF version \"x\" is not a number"},
		{name: "extension not key=value", line: hdr + "just words", err: "does not start with key=value"},
		{name: "extension starts with =", line: hdr + "=x", err: "does not start with key=value"},
		{name: "prefix not syslog", line: "garbage " + hdr, err: "text before \"CEF:\" is not a syslog header"},
		{name: "prefix bad date", line: "Feb 30 10:00:00 h " + hdr, err: "does not exist"},

		// Hostile
		{name: "invalid UTF-8", line: hdr + "msg=caf\xe9 \xff suser=\xc3", want: map[string]any{"message": "caf\uFFFD \uFFFD", "user.name": "\uFFFD"}},
		{name: "trailing backslash", line: hdr + `msg=x\`, want: map[string]any{"message": `x\`}},
		{name: "trailing backslash in header", line: `CEF:0|V|P|1|s|n|5\`, want: map[string]any{"cef.severity": `5\`}},
		{name: "many equals", line: hdr + "msg=" + strings.Repeat("=", 1000) + " a=" + strings.Repeat("b=", 500),
			want: map[string]any{"message": strings.Repeat("=", 1000), "cef.extensions.a": strings.Repeat("b=", 500)}},
		{name: "JSON-looking values", line: hdr + `msg="},"x":{" suser=</script>`, want: map[string]any{"message": `"},"x":{"`, "user.name": "</script>"}},
		{name: "CEF: twice", line: hdr + "msg=CEF:0|a|b", want: map[string]any{"message": "CEF:0|a|b"}},
	})
}

// TestCEFExtensionCap: extensions past the cap stay in the original only.
func TestCEFExtensionCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("CEF:0|V|P|1|s|n|5|")
	for i := 0; i < cefMaxExtensions+100; i++ {
		b.WriteString(" k")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString("y=")
		b.WriteString("v ")
	}
	line := []byte(b.String())
	p, err := ParseCEF(line, syslogRecv)
	if err != nil {
		t.Fatal(err)
	}
	checkLineParsed(t, line, p)
	n := 0
	for k := range p.Fields {
		if strings.HasPrefix(k, "cef.extensions.") {
			n++
		}
	}
	if n > cefMaxExtensions {
		t.Fatalf("%d extension fields, cap %d", n, cefMaxExtensions)
	}
}

// TestCEFLongLine: a 1 MiB line parses in bounded time.
func TestCEFLongLine(t *testing.T) {
	for _, tail := range []string{strings.Repeat("a=", 1<<19), strings.Repeat(`\=`, 1<<19), strings.Repeat("x ", 1<<19), strings.Repeat("k=v ", 1<<18)} {
		line := []byte("CEF:0|V|P|1|s|n|5|" + tail)
		start := time.Now()
		if _, err := ParseCEF(line, syslogRecv); err != nil && !strings.Contains(err.Error(), "key=value") {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("1 MiB line took %v", d)
		}
	}
}

// FuzzParseCEF: as FuzzParseSyslog, with CEF lines as seeds.
func FuzzParseCEF(f *testing.F) {
	fuzzTextParser(f, ParseCEF, []string{
		"CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232",
		`CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a \\ dst=1.1.1.1`,
		`CEF:0|V|P|1|s|n|High|msg=a \= b \\ c\nd cs1Label=Signature Type cs1=Exploit rt=Feb 14 2024 19:04:54.123 +01:00`,
		"<134>Feb 14 19:04:54 fw1 CEF:0|V|P|1|s|n|5|request=https://x/a?b=c&d=e suser=John Smith rt=1700000000123",
		"<134>1 2026-11-22T03:54:00Z fw1 arcsight - - - CEF:0|V|P|1|s|n|5|",
		"CEF:0|V|P|1",
	})
}

func BenchmarkParseCEF(b *testing.B) {
	benchTextParser(b, ParseCEF, []string{
		"<134>Feb 14 19:04:54 fw1 CEF:0|Palo Alto Networks|PAN-OS|10.1|threat|Vulnerability Exploit|8|rt=Feb 14 2024 19:04:54 src=10.0.0.5 dst=192.168.1.20 spt=51234 dpt=443 proto=TCP act=reset-both suser=corp\\\\alice cs1Label=Rule cs1=block-exploits request=https://x.example/a?b=c msg=Apache Log4j RCE attempt",
		"CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 rt=1700000000123 outcome=success",
		"CEF:0|Trend Micro|Deep Security Agent|20.0|4000000|Eicar_test_file|6|cn1=1 cn1Label=Host ID dvchost=hostname fname=eicar.exe filePath=C:\\\\Users\\\\a\\\\eicar.exe act=Quarantine msg=Realtime",
	})
}
