package sigma

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// matches compiles one rule (logsource and detection as YAML) and matches
// it against one stored document.
func matches(t *testing.T, logsource, detection string, doc map[string]any) bool {
	t.Helper()
	return matchesWith(t, logsource, detection, doc, Options{})
}

func matchesWith(t *testing.T, logsource, detection string, doc map[string]any, opts Options) bool {
	t.Helper()
	src := "title: t\nid: t1\nlogsource: " + logsource + "\ndetection:\n" + indent(detection)
	rules, err := ParseRules([]byte(src))
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	rs, errs := CompileWith(rules, opts)
	if len(errs) > 0 {
		t.Fatalf("compile %q: %v", src, errs)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := NewEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	return len(rs.Match(ev, nil)) == 1
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

const jsonLS = "{product: json}"

func TestModifiers(t *testing.T) {
	cmd := func(s string) map[string]any { return map[string]any{"source": "json", "process.command_line": s} }
	tests := []struct {
		name, det string
		doc       map[string]any
		want      bool
	}{
		{"equal, case-insensitive", "s: {process.command_line: 'Whoami /ALL'}\ncondition: s", cmd("whoami /all"), true},
		{"equal is whole value", "s: {process.command_line: whoami}\ncondition: s", cmd("whoami /all"), false},
		{"contains", "s: {process.command_line|contains: AMI /a}\ncondition: s", cmd("whoami /all"), true},
		{"startswith", "s: {process.command_line|startswith: WHO}\ncondition: s", cmd("whoami"), true},
		{"startswith no", "s: {process.command_line|startswith: ami}\ncondition: s", cmd("whoami"), false},
		// Sixteen substrings or more are one automaton (containsAnyMatcher).
		{"contains many", "s: {process.command_line|contains: ['-opt0 ', '-opt1 ', '-opt2 ', '-opt3 ', '-opt4 ', '-opt5 ', '-opt6 ', '-opt7 ', '-opt8 ', '-opt9 ', '-opt10 ', '-opt11 ', '-opt12 ', '-opt13 ', '-opt14 ', '-opt15 ', '-opt16 ', '-opt17 ', '-opt18 ', '-opt19 ']}\ncondition: s", cmd("tool -OPT17 x"), true},
		{"contains many, none", "s: {process.command_line|contains: ['-opt0 ', '-opt1 ', '-opt2 ', '-opt3 ', '-opt4 ', '-opt5 ', '-opt6 ', '-opt7 ', '-opt8 ', '-opt9 ', '-opt10 ', '-opt11 ', '-opt12 ', '-opt13 ', '-opt14 ', '-opt15 ', '-opt16 ', '-opt17 ', '-opt18 ', '-opt19 ']}\ncondition: s", cmd("tool -opt99 x"), false},
		{"contains many, cased", "s: {process.command_line|contains|cased: ['-opt0 ', '-opt1 ', '-opt2 ', '-opt3 ', '-opt4 ', '-opt5 ', '-opt6 ', '-opt7 ', '-opt8 ', '-opt9 ', '-opt10 ', '-opt11 ', '-opt12 ', '-opt13 ', '-opt14 ', '-opt15 ', '-opt16 ', '-opt17 ', '-opt18 ', '-opt19 ']}\ncondition: s", cmd("tool -OPT17 x"), false},
		{"contains many, all", "s: {process.command_line|contains|all: ['-opt0 ', '-opt1 ', '-opt2 ', '-opt3 ', '-opt4 ', '-opt5 ', '-opt6 ', '-opt7 ', '-opt8 ', '-opt9 ', '-opt10 ', '-opt11 ', '-opt12 ', '-opt13 ', '-opt14 ', '-opt15 ', '-opt16 ', '-opt17 ', '-opt18 ', '-opt19 ']}\ncondition: s", cmd("tool -opt17 x"), false},
		{"cased exact set", "s: {process.command_line|cased: [Ab, Cd]}\ncondition: s", cmd("Cd"), true},
		{"cased exact set, case differs", "s: {process.command_line|cased: [Ab, Cd]}\ncondition: s", cmd("cd"), false},
		{"endswith", "s: {process.command_line|endswith: AMI}\ncondition: s", cmd("whoami"), true},
		{"list is any", "s: {process.command_line: [a, whoami]}\ncondition: s", cmd("whoami"), true},
		{"contains|all needs every value", "s: {process.command_line|contains|all: [who, ami, x]}\ncondition: s", cmd("whoami"), false},
		{"contains|all", "s: {process.command_line|contains|all: [who, ami]}\ncondition: s", cmd("whoami"), true},
		{"wildcard *", "s: {process.command_line: 'who*i'}\ncondition: s", cmd("whoami"), true},
		{"wildcard ?", "s: {process.command_line: 'who?mi'}\ncondition: s", cmd("whoami"), true},
		{"wildcard ? is one character", "s: {process.command_line: 'who?i'}\ncondition: s", cmd("whoami"), false},
		{"escaped * is literal", `s: {process.command_line: 'a\*b'}` + "\ncondition: s", cmd("a*b"), true},
		{"escaped * does not wildcard", `s: {process.command_line: 'a\*b'}` + "\ncondition: s", cmd("axxb"), false},
		{"escaped backslash", `s: {process.command_line: 'C:\\Windows\\*'}` + "\ncondition: s", cmd(`c:\windows\x`), true},
		{"plain backslash is literal", `s: {process.command_line|endswith: '\cmd.exe'}` + "\ncondition: s", cmd(`C:\Windows\cmd.exe`), true},
		{"cased", "s: {process.command_line|cased: Whoami}\ncondition: s", cmd("whoami"), false},
		{"cased matches exact case", "s: {process.command_line|contains|cased: hoAm}\ncondition: s", cmd("whoAmi"), true},
		{"re", "s: {process.command_line|re: 'who.mi$'}\ncondition: s", cmd("whoami"), true},
		{"re is case-sensitive", "s: {process.command_line|re: 'WHO'}\ncondition: s", cmd("whoami"), false},
		{"re|i", "s: {process.command_line|re|i: 'WHO'}\ncondition: s", cmd("whoami"), true},
		{"re|m", "s: {process.command_line|re|m: '^b$'}\ncondition: s", cmd("a\nb"), true},
		{"re|s", "s: {process.command_line|re|s: 'a.b'}\ncondition: s", cmd("a\nb"), true},
		{"re without s", "s: {process.command_line|re: 'a.b'}\ncondition: s", cmd("a\nb"), false},
		{"base64", "s: {process.command_line|base64: 'abc'}\ncondition: s", cmd("YWJj"), true},
		{"base64|contains", "s: {process.command_line|base64|contains: 'abc'}\ncondition: s", cmd("xxYWJjxx"), true},
		{"base64offset offset 0", "s: {process.command_line|base64offset|contains: 'http'}\ncondition: s", cmd("aHR0cDovL2V4"), true},
		{"base64offset offset 1", "s: {process.command_line|base64offset|contains: 'http'}\ncondition: s", cmd("eGh0dHA6Ly9l"), true},
		{"base64offset offset 2", "s: {process.command_line|base64offset|contains: 'http'}\ncondition: s", cmd("eHhodHRwOi8v"), true},
		{"utf16le|base64offset", "s: {process.command_line|utf16le|base64offset|contains: 'ab'}\ncondition: s", cmd("YQBiAA=="), true},
		{"wide|base64", "s: {process.command_line|wide|base64: 'ab'}\ncondition: s", cmd("YQBiAA=="), true},
		{"utf16be|base64", "s: {process.command_line|utf16be|base64: 'ab'}\ncondition: s", cmd("AGEAYg=="), true},
		{"utf16 (with BOM)|base64", "s: {process.command_line|utf16|base64: 'ab'}\ncondition: s", cmd("//5hAGIA"), true},
		{"windash -", "s: {process.command_line|windash|contains: ' -exec '}\ncondition: s", cmd("x -exec y"), true},
		{"windash /", "s: {process.command_line|windash|contains: ' -exec '}\ncondition: s", cmd("x /exec y"), true},
		{"windash en dash", "s: {process.command_line|contains|windash: ' -exec '}\ncondition: s", cmd("x –exec y"), true},
		{"windash keeps other characters", "s: {process.command_line|windash|contains: 'é -x'}\ncondition: s", cmd("aé /x"), true},
		{"windash not mid-word", "s: {process.command_line|windash: 'a-b'}\ncondition: s", cmd("a/b"), false},
		{"cidr", "s: {source.ip|cidr: 10.0.0.0/8}\ncondition: s", map[string]any{"source.ip": "10.1.2.3"}, true},
		{"cidr out", "s: {source.ip|cidr: 10.0.0.0/8}\ncondition: s", map[string]any{"source.ip": "11.1.2.3"}, false},
		{"cidr v6", "s: {source.ip|cidr: '2001:db8::/32'}\ncondition: s", map[string]any{"source.ip": "2001:db8::1"}, true},
		{"lt", "s: {source.port|lt: 1024}\ncondition: s", map[string]any{"source.port": 22}, true},
		{"lte", "s: {source.port|lte: 22}\ncondition: s", map[string]any{"source.port": 22}, true},
		{"gt", "s: {source.port|gt: 22}\ncondition: s", map[string]any{"source.port": 22}, false},
		{"gte on text number", "s: {source.port|gte: 22}\ncondition: s", map[string]any{"source.port": "22"}, true},
		{"exists true", "s: {user.name|exists: true}\ncondition: s", map[string]any{"user.name": "a"}, true},
		{"exists false", "s: {user.name|exists: false}\ncondition: s", map[string]any{"user.name": "a"}, false},
		{"exists false, absent", "s: {user.name|exists: false}\ncondition: s", map[string]any{}, true},
		{"null matches absent", "s: {user.name: null}\ncondition: s", map[string]any{}, true},
		{"null matches JSON null", "s: {user.name: null}\ncondition: s", map[string]any{"user.name": nil}, true},
		{"null does not match a value", "s: {user.name: null}\ncondition: s", map[string]any{"user.name": "a"}, false},
		{"empty string is not null", "s: {user.name: ''}\ncondition: s", map[string]any{}, false},
		{"empty string", "s: {user.name: ''}\ncondition: s", map[string]any{"user.name": ""}, true},
		{"fieldref", "s: {user.name|fieldref: user.target.name}\ncondition: s", map[string]any{"user.name": "Bob", "user.target.name": "bob"}, true},
		{"fieldref differs", "s: {user.name|fieldref: user.target.name}\ncondition: s", map[string]any{"user.name": "bob", "user.target.name": "eve"}, false},
		{"fieldref|startswith", "s: {user.name|fieldref|startswith: user.target.name}\ncondition: s", map[string]any{"user.name": "bobby", "user.target.name": "bob"}, true},
		{"number compares as text", "s: {source.port: 22}\ncondition: s", map[string]any{"source.port": 22}, true},
		{"bool", "s: {auth.invalid_user: true}\ncondition: s", map[string]any{"auth.invalid_user": true}, true},
		{"list value: any element", "s: {related.ip: 10.0.0.1}\ncondition: s", map[string]any{"related.ip": []any{"1.1.1.1", "10.0.0.1"}}, true},
		{"expand", "s: {user.name|expand: '%admins%'}\ncondition: s", map[string]any{"user.name": "root"}, true},
		{"expand unknown placeholder matches nothing", "s: {user.name|expand: '%nobody%'}\ncondition: s", map[string]any{"user.name": "root"}, false},
		{"keywords", "k: [whoami, 'net user']\ncondition: k", map[string]any{"message": "ran NET USER x"}, true},
		{"keywords no", "k: [whoami]\ncondition: k", map[string]any{"message": "ran net user"}, false},
		{"keywords |all", "k: {'|all': [whoami, priv]}\ncondition: k", map[string]any{"message": "whoami", "user.name": "/priv"}, true},
		{"keywords |all needs every one", "k: {'|all': [whoami, priv]}\ncondition: k", map[string]any{"message": "whoami"}, false},
		{"keywords in original line", "k: ['Failed password']\ncondition: k", map[string]any{"original": "sshd: Failed password for root"}, true},
		{"original path", "s: {original.a.b: x}\ncondition: s", map[string]any{"original": map[string]any{"a": map[string]any{"b": "X"}}}, true},
	}
	opts := Options{Placeholders: map[string][]string{"admins": {"root", "admin*"}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := tt.doc["source"]; !ok {
				tt.doc["source"] = "json"
			}
			if got := matchesWith(t, jsonLS, tt.det, tt.doc, opts); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	det := `a: {user.name: alice}
b: {host.name: h1}
c_1: {source.ip: 10.0.0.1}
c_2: {source.port: 22}
_private: {event.action: x}
`
	doc := map[string]any{"source": "json", "user.name": "alice", "host.name": "h2", "source.ip": "10.0.0.1", "source.port": 80, "event.action": "x"}
	tests := []struct {
		cond string
		want bool
	}{
		{"a", true},
		{"b", false},
		{"a and b", false},
		{"a or b", true},
		{"not b", true},
		{"NOT a", false},
		{"a and not b", true},
		{"(a or b) and c_1", true},
		{"a and (b or c_2)", false},
		{"not (a and b)", true},
		{"1 of c_*", true},
		{"all of c_*", false},
		{"any of c_*", true},
		{"2 of them", true},
		{"all of them", false},
		{"1 of them and not _private", false},
		{"a or b and c_2", true}, // and binds tighter
		{"(a or b) and c_2", false},
		{"not not a", true},
		{"1 of c_? and a", true},
	}
	for _, tt := range tests {
		if got := matches(t, jsonLS, det+"condition: "+tt.cond, doc); got != tt.want {
			t.Errorf("%q: match = %v, want %v", tt.cond, got, tt.want)
		}
	}
	// "all of them" ignores identifiers starting with _: here they match.
	if !matches(t, jsonLS, "a: {user.name: alice}\n_x: {user.name: bob}\ncondition: all of them", doc) {
		t.Error("all of them counted an _identifier")
	}
	// A list of conditions: any may match.
	if !matches(t, jsonLS, "a: {user.name: bob}\nb: {user.name: alice}\ncondition: [a, b]", doc) {
		t.Error("condition list")
	}
}

func TestConditionErrors(t *testing.T) {
	tests := []struct{ cond, want string }{
		{"a and", "unexpected end of condition"},
		{"(a", `want ")"`},
		{"a b", `unexpected "b"`},
		{"c", `names "c"`},
		{"1 of x*", "matches no search identifier"},
		{"sel*", "needs \"1 of\""},
		{"a | count() > 5", "correlation rule"},
		{"0 of them", "want \"1 of\""},
		{"and", `unexpected "and"`},
		{"", "unexpected end of condition"},
	}
	for _, tt := range tests {
		src := "title: t\nlogsource: {product: json}\ndetection:\n  a: {x: 1}\n  condition: '" + tt.cond + "'\n"
		_, err := ParseRules([]byte(src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.cond, err, tt.want)
		}
	}
}

// TestWindowsMapping: a Sysmon and a Security 4688 event in our stored
// shape; the same process_creation rule finds Image in both.
func TestWindowsMapping(t *testing.T) {
	det := "s: {Image|endswith: '\\whoami.exe', EventID: [1, 4688]}\ncondition: s"
	sysmon := map[string]any{"source": "sysmon", "winlog.channel": "Microsoft-Windows-Sysmon/Operational", "winlog.event_id": 1,
		"winlog.event_data.Image": `C:\Windows\System32\whoami.exe`}
	security := map[string]any{"source": "windows", "winlog.channel": "Security", "winlog.event_id": 4688,
		"winlog.event_data.NewProcessName": `C:\Windows\System32\WHOAMI.EXE`}
	wrongID := map[string]any{"source": "windows", "winlog.channel": "Security", "winlog.event_id": 4689,
		"winlog.event_data.NewProcessName": `C:\Windows\System32\whoami.exe`}
	for name, tc := range map[string]struct {
		doc  map[string]any
		want bool
	}{"sysmon": {sysmon, true}, "4688 alias": {security, true}, "other event": {wrongID, false}} {
		if got := matches(t, "{product: windows, category: process_creation}", det, tc.doc); got != tc.want {
			t.Errorf("%s: match = %v, want %v", name, got, tc.want)
		}
	}
	// Windows fields go through the literal prefilter: its automata fold
	// case as they scan (non-ASCII text lower-cased first), and find the
	// literals of cased sets and of long substring lists.
	image := func(s string) map[string]any {
		m := map[string]any{}
		for k, v := range sysmon {
			m[k] = v
		}
		m["winlog.event_data.Image"] = s
		return m
	}
	for _, tc := range []struct {
		det, image string
		want       bool
	}{
		{`s: {Image|cased: ['C:\X\Ab.exe', 'C:\X\Cd.exe']}`, `C:\X\Cd.exe`, true},
		{`s: {Image|cased: ['C:\X\Ab.exe', 'C:\X\Cd.exe']}`, `c:\x\cd.exe`, false},
		{`s: {Image|contains: ['\\tool0.exe', '\\tool1.exe', '\\tool2.exe', '\\tool3.exe', '\\tool4.exe', '\\tool5.exe', '\\tool6.exe', '\\tool7.exe', '\\tool8.exe', '\\tool9.exe', '\\tool10.exe', '\\tool11.exe', '\\tool12.exe', '\\tool13.exe', '\\tool14.exe', '\\tool15.exe', '\\tool16.exe', '\\tool17.exe', '\\tool18.exe', '\\tool19.exe']}`, `C:\T\TOOL17.EXE`, true},
		{`s: {Image|contains: ['\\tool0.exe', '\\tool1.exe', '\\tool2.exe', '\\tool3.exe', '\\tool4.exe', '\\tool5.exe', '\\tool6.exe', '\\tool7.exe', '\\tool8.exe', '\\tool9.exe', '\\tool10.exe', '\\tool11.exe', '\\tool12.exe', '\\tool13.exe', '\\tool14.exe', '\\tool15.exe', '\\tool16.exe', '\\tool17.exe', '\\tool18.exe', '\\tool19.exe']}`, `C:\T\TOOL99.EXE`, false},
		{`s: {Image|contains: 'élodie\'}`, `C:\Users\ÉLODIE\x.exe`, true},
		{`s: {Image|endswith: '\WHOAMI.exe'}`, `C:\Windows\whoami.EXE`, true},
	} {
		if got := matches(t, "{product: windows, category: process_creation}", tc.det+"\ncondition: s", image(tc.image)); got != tc.want {
			t.Errorf("%s on %s: match = %v, want %v", tc.det, tc.image, got, tc.want)
		}
	}
	// System fields from the original, service channels, user data.
	doc := map[string]any{"source": "windows", "winlog.channel": "System", "winlog.event_id": 7045, "host.name": "DC1",
		"winlog.user_data.Param1": "x", "original": map[string]any{"Event": map[string]any{"System": map[string]any{"Level": 4}}}}
	if !matches(t, "{product: windows, service: system}", "s: {Computer: dc1, Level: 4, Param1: x}\ncondition: s", doc) {
		t.Error("system fields")
	}
	if matches(t, "{product: windows, service: security}", "s: {Computer: dc1}\ncondition: s", doc) {
		t.Error("a security rule matched a System channel event")
	}
}

func TestLogsourceErrors(t *testing.T) {
	for _, ls := range []string{"{product: windows, service: nosuch}", "{product: windows, category: nosuch}", "{product: aws}", "{}"} {
		rules, err := ParseRules([]byte("title: t\nlogsource: " + ls + "\ndetection:\n  a: {x: 1}\n  condition: a\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, errs := Compile(rules); len(errs) != 1 || !strings.Contains(errs[0].Error(), "no logsource mapping") {
			t.Errorf("%s: compile errors %v", ls, errs)
		}
	}
}

func TestRegexShortcuts(t *testing.T) {
	tests := []struct {
		re, value string
		want      bool
	}{
		{`.{10,}`, "0123456789", true},
		{`.{10,}`, "012345678", false},
		{`.{10,}`, "01234\n56789", false},
		{`.{3,}`, "éé\né€€", true},
		{`\s[a-f0-9]{8}\s`, " deadbeef ", true},
		{`\s[a-f0-9]{8}\s`, " dead ", false},
		{`(?i)invoke-(web|rest)`, "x INVOKE-REST y", true},
		{`(?i)invoke-(web|rest)`, "x invoke-expression", false},
		{`a|bc`, "a", true},
		// A required run of a class (byteRun), case folded or not.
		{`(?i)\s[a-f0-9]{8}\s`, " DEADBEEF ", true},
		{`(?i)\s[a-f0-9]{8}\s`, " DEADBEE ", false},
		{`x[0-9]{8,}`, "x12345678", true},
		{`x[0-9]{8,}`, "x1234567 12345678", false},
		{`([a-z]{9})`, "1abcdefghi", true},
		{`\s[a-fA-F0-9]{64}\s`, " " + strings.Repeat("aB", 32) + " ", true},
		{`\s[a-fA-F0-9]{64}\s`, " " + strings.Repeat("aB", 31) + "é ", false},
	}
	for _, tt := range tests {
		m := newRegexMatcher(regexp.MustCompile(tt.re))
		v := value{kind: kString, s: tt.value, low: strings.ToLower(tt.value)}
		if got := m.match(&v); got != tt.want {
			t.Errorf("%q on %q: %v, want %v (%T)", tt.re, tt.value, got, tt.want, m)
		}
	}
}

func TestSelects(t *testing.T) {
	rules, err := ParseRules([]byte(`title: a
logsource: {product: linux, service: sshd}
detection: {s: {a: 1}, condition: s}
---
title: b
logsource: {product: windows, service: security}
detection: {s: {a: 1}, condition: s}
`))
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := Compile(rules)
	for src, want := range map[string]bool{"auth": true, "syslog": true, "windows": true, "sysmon": true, "json": true, "zeek": false, "cowrie": false} {
		if got := rs.Selects(src); got != want {
			t.Errorf("Selects(%q) = %v, want %v", src, got, want)
		}
	}
	empty, _ := Compile(nil)
	if empty.Selects("windows") || empty.Selects("auth") {
		t.Error("an empty set selects a source")
	}
}

func TestMatchOrder(t *testing.T) {
	// Rules of different index buckets (channel+ID, channel, any), given
	// in an order the buckets do not follow: Match keeps the given order.
	rules, err := ParseRules([]byte(`title: any windows
id: r1
logsource: {product: windows}
detection: {s: {Computer: dc1}, condition: s}
---
title: security 4625
id: r2
logsource: {product: windows, service: security}
detection: {s: {EventID: 4625}, condition: s}
---
title: security
id: r3
logsource: {product: windows, service: security}
detection: {s: {TargetUserName: bob}, condition: s}
`))
	if err != nil {
		t.Fatal(err)
	}
	rs, errs := Compile(rules)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	b, _ := json.Marshal(map[string]any{"source": "windows", "winlog.channel": "Security", "winlog.event_id": 4625,
		"host.name": "DC1", "winlog.event_data.TargetUserName": "bob"})
	ev, err := NewEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rs.Match(ev, nil) {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "r1,r2,r3" {
		t.Errorf("matches %v, want r1,r2,r3", ids)
	}
}
