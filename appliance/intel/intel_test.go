package intel_test

import (
	"strings"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/intel"
)

func TestParsePattern(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		err     string // part of the error; empty: valid
	}{
		{pattern: "[ipv4-addr:value = '1.2.3.4']"},
		{pattern: "[file:hashes.'SHA-256' = 'aa' AND file:name = 'x.exe']"},
		{pattern: "[a:b = 'x'] OR ([c:d != 1] AND [e:f > 2.5]) FOLLOWEDBY [g:h[*].i LIKE 'y%']"},
		{pattern: "[network-traffic:dst_port IN (22, 23)] WITHIN 300 SECONDS"},
		{pattern: "[x:y MATCHES '^a\\\\b'] REPEATS 5 TIMES START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z'"},
		{pattern: "[file:content NOT = h'ff00'] AND [artifact:payload_bin = b'AAEC']"},
		{pattern: "[process:x = true]"},
		{pattern: "", err: "want [ or ("},
		{pattern: "[ipv4-addr:value = '1.2.3.4'", err: "want ]"},
		{pattern: "[ipv4-addr = '1.2.3.4']", err: "want : after object type"},
		{pattern: "[ipv4-addr:value ~ '1']", err: "want a comparison operator"},
		{pattern: "[a:b = 'unterminated]", err: "unterminated string"},
		{pattern: "[a:b = 'bad \\n escape']", err: "bad escape"},
		{pattern: "[a:b = 'x'] trailing", err: "after the pattern"},
		{pattern: "[a:b IN ('x' 'y')]", err: "want , or )"},
		{pattern: "[a:b[x] = 'y']", err: "list index"},
		{pattern: "[a:b = 'x'] WITHIN 'x' SECONDS", err: "want a number"},
		{pattern: strings.Repeat("(", 200) + "[a:b = 'x']" + strings.Repeat(")", 200), err: "nested more than"},
	} {
		_, err := intel.ParsePattern(tc.pattern)
		if tc.err == "" && err != nil {
			t.Errorf("ParsePattern(%q): %v", tc.pattern, err)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParsePattern(%q) = %v, want error with %q", tc.pattern, err, tc.err)
		}
	}
}

func TestNormalise(t *testing.T) {
	for _, tc := range []struct {
		typ       intel.Type
		in, want  string
		malformed bool
	}{
		{typ: intel.TypeIP, in: "10.1.2.3", want: "10.1.2.3"},
		{typ: intel.TypeIP, in: "223.167.1.1/15", want: "223.166.0.0/15"},
		{typ: intel.TypeIP, in: "::ffff:1.2.3.4", want: "1.2.3.4"},
		{typ: intel.TypeIP, in: "10.0.0.1/32", want: "10.0.0.1"},
		{typ: intel.TypeIP, in: "2001:DB8::1", want: "2001:db8::1"},
		{typ: intel.TypeIP, in: "300.1.1.1", malformed: true},
		{typ: intel.TypeDomain, in: "Evil.Example.COM.", want: "evil.example.com"},
		{typ: intel.TypeDomain, in: "localhost", malformed: true},
		{typ: intel.TypeDomain, in: "107.183.86", malformed: true},
		{typ: intel.TypeDomain, in: "domain autuo.xicp.net", malformed: true},
		{typ: intel.TypeURL, in: "HTTP://X4Z9ARB.cn/4712/", want: "x4z9arb.cn/4712/"},
		{typ: intel.TypeURL, in: "https://a.example.org:443", want: "a.example.org/"},
		{typ: intel.TypeURL, in: "http://198.55.120.143:7386/B/ResN32.dll", want: "198.55.120.143:7386/B/ResN32.dll"},
		{typ: intel.TypeURL, in: "www.kcico.com.tw/data/wthk.txt?x=1", want: "www.kcico.com.tw/data/wthk.txt?x=1"},
		{typ: intel.TypeURL, in: "Data/dtl.dat", malformed: true},
		{typ: intel.TypeMD5, in: "001DD76872D80801692FF942308C64E6", want: "001dd76872d80801692ff942308c64e6"},
		{typ: intel.TypeMD5, in: "001dd7", malformed: true},
		{typ: intel.TypeSHA256, in: strings.Repeat("g", 64), malformed: true},
		{typ: intel.TypeFileName, in: "Evil.EXE", want: "evil.exe"},
		{typ: intel.TypeFileName, in: `C:\x\evil.exe`, malformed: true},
		{typ: "ja3", in: "x", malformed: true},
	} {
		got, err := intel.Normalise(tc.typ, tc.in)
		if tc.malformed != (err != nil) || got != tc.want {
			t.Errorf("Normalise(%s, %q) = %q, %v; want %q malformed=%v", tc.typ, tc.in, got, err, tc.want, tc.malformed)
		}
	}
}

func TestImportFormats(t *testing.T) {
	for _, tc := range []struct {
		name, data, format  string
		imported, malformed int
		err                 string
	}{
		{name: "csv", data: "value,type,description,valid_until\n1.2.3.4,,scanner,\nevil.example.com,domain,c2,2030-01-01T00:00:00Z\nbad,ip,x,\n9.9.9.9,,x,tomorrow\n",
			format: "csv", imported: 2, malformed: 2},
		{name: "csv bad severity", data: "indicator,severity\n1.2.3.4,urgent\n", format: "csv", malformed: 1},
		{name: "list", data: "# comment\n\n1.2.3.4\t7\n10.0.0.0/8, internal\nhttp://x.example.com/a\nnot_a_thing\n", format: "list", imported: 3, malformed: 1},
		{name: "stix single indicator", data: `{"type":"indicator","id":"indicator--1","pattern_type":"stix","pattern":"[url:value = 'http://a.example.com/']"}`, format: "stix", imported: 1},
		{name: "stix bad time", data: `[{"type":"indicator","id":"indicator--1","pattern":"[url:value = 'http://a.example.com/']","valid_until":"soon"}]`, format: "stix", malformed: 1},
		{name: "stix bad pattern", data: `{"type":"bundle","objects":[{"type":"indicator","id":"i","pattern":"[url:value = "}]}`, format: "stix", malformed: 1},
		{name: "misp bare array", data: `[{"Event":{"uuid":"e","Attribute":[{"uuid":"a","type":"ip-src","value":"1.2.3.4","to_ids":"1"},{"uuid":"b","type":"ip-src","value":"x","to_ids":true},{"type":"md5","value":"0","to_ids":"maybe"}]}}]`,
			format: "misp", imported: 1, malformed: 2},
		{name: "not json", data: `{"Event":`, format: "misp", err: "not a MISP event export"},
		{name: "no event", data: `{"response":[]}`, format: "misp", err: "no MISP event"},
		{name: "unknown format", data: "x", format: "yara", err: "unknown intel format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := intel.Import([]byte(tc.data), intel.Options{Format: tc.format})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Imported != tc.imported || r.Malformed != tc.malformed {
				t.Errorf("imported %d malformed %d, want %d %d; problems %v", r.Imported, r.Malformed, tc.imported, tc.malformed, r.Problems)
			}
		})
	}
}

func TestDetectFormat(t *testing.T) {
	for data, want := range map[string]string{
		`{"type": "bundle", "objects": []}`: "stix",
		`{"Event": {}}`:                     "misp",
		`{"response": []}`:                  "misp",
		"value,type\n1.2.3.4,ip\n":          "csv",
		"# x\n1.2.3.4\t5\n":                 "list",
	} {
		if got := intel.DetectFormat([]byte(data)); got != want {
			t.Errorf("DetectFormat(%q) = %s, want %s", data, got, want)
		}
	}
}

func fields(m map[string][]string) intel.Lookup {
	return func(f string) []string { return m[f] }
}

func TestMatcher(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	csv := "value,type,valid_from,valid_until\n" +
		"203.0.113.7,ip,,\n" +
		"198.51.100.0/24,ip,,\n" +
		"evil.example.com,domain,,\n" +
		"old.example.net,domain,,2020-01-01T00:00:00Z\n" +
		"future.example.net,domain,2030-01-01T00:00:00Z,\n" +
		"http://x4z9arb.cn/4712/,url,,\n" +
		"ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c,sha256,,\n"
	r, err := intel.Import([]byte(csv), intel.Options{Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	stix := `{"type":"indicator","id":"indicator--and","pattern":"[file:name = 'drop.exe' AND file:hashes.MD5 = '001dd76872d80801692ff942308c64e6']"}`
	r2, err := intel.Import([]byte(stix), intel.Options{Format: "stix"})
	if err != nil || r2.Imported != 2 {
		t.Fatalf("stix AND: %v %+v", err, r2)
	}
	m := intel.NewMatcher(append(r.Indicators, r2.Indicators...))
	for _, tc := range []struct {
		name   string
		fields map[string][]string
		want   []string // matched indicator values
	}{
		{"source ip", map[string][]string{"source.ip": {"203.0.113.7"}}, []string{"203.0.113.7"}},
		{"cidr", map[string][]string{"destination.ip": {"198.51.100.200"}}, []string{"198.51.100.0/24"}},
		{"mapped v6", map[string][]string{"source.ip": {"::ffff:203.0.113.7"}}, []string{"203.0.113.7"}},
		{"other ip", map[string][]string{"source.ip": {"192.0.2.1", "not an ip"}}, nil},
		{"subdomain", map[string][]string{"dns.question.name": {"A.B.Evil.Example.com."}}, []string{"evil.example.com"}},
		{"lookalike", map[string][]string{"dns.question.name": {"notevil.example.com"}}, nil},
		{"expired", map[string][]string{"url.domain": {"old.example.net"}}, nil},
		{"not yet valid", map[string][]string{"url.domain": {"future.example.net"}}, nil},
		{"url with host field", map[string][]string{"url.original": {"/4712/"}, "url.domain": {"x4z9arb.cn"}}, []string{"x4z9arb.cn/4712/"}},
		{"https url", map[string][]string{"url.original": {"https://X4Z9ARB.cn/4712/"}}, []string{"x4z9arb.cn/4712/"}},
		{"hash upper", map[string][]string{"file.hash.sha256": {"EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C"}}, []string{"ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"}},
		{"and: one half", map[string][]string{"file.name": {"drop.exe"}}, nil},
		{"and: both", map[string][]string{"file.name": {"DROP.exe"}, "file.hash.md5": {"001dd76872d80801692ff942308c64e6"}}, []string{"drop.exe"}},
		{"two fields once each", map[string][]string{"source.ip": {"203.0.113.7"}, "destination.ip": {"203.0.113.7"}}, []string{"203.0.113.7"}},
	} {
		var got []string
		for _, h := range m.Match(fields(tc.fields), now) {
			got = append(got, h.Indicator.Value)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: matched %v, want %v", tc.name, got, tc.want)
		}
	}
	if (intel.NewMatcher(nil)).Match(fields(nil), now) != nil {
		t.Error("empty matcher matched")
	}
}
