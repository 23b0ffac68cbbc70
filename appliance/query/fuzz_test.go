package query_test

import (
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/minixdr/xdr/appliance/query"
)

func FuzzParse(f *testing.F) {
	for _, tc := range validQueries {
		f.Add(tc.query)
	}
	for _, s := range []string{
		"", "(", ")", `"`, `\`, "-", "a:", "a>", "a>=", "a:*", "a:**", `a:"*"`,
		"NOT", "AND OR", "((((a))))", `"a\"b\\c"`, "a\x00b", "\xff\xfe:x", "é:\u00a0",
		"-(-a OR -b) c:d*", `f:"x"(y)`, "@timestamp>=2024-01-01T00:00:00Z",
	} {
		f.Add(s)
	}
	// The near-limit queries of TestCanonicalNearLimit are left out on
	// purpose: minimising 4 KB inputs stalls the fuzzer for minutes.
	doc := decode(f, sshEvent, true)
	fields := query.DocFields(doc, []byte(sshEvent))
	f.Fuzz(func(t *testing.T, q string) {
		e, err := query.Parse(q)
		if err != nil {
			var se *query.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): error %T is not a *SyntaxError", q, err)
			}
			if se.Pos < 1 || se.Pos > utf8.RuneCountInString(q)+1 {
				t.Fatalf("Parse(%q): position %d out of range", q, se.Pos)
			}
			return
		}
		query.Match(e, fields) // must not panic
		if e == nil {
			return
		}
		s := e.String()
		again, err := query.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %s, whose canonical form %q does not parse: %v", q, dump(e), s, err)
		}
		if again == nil || again.String() != s {
			t.Fatalf("Parse(%q): canonical %q re-parsed as %v", q, s, again)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("Parse(%q): tree %s re-parsed as %s", q, dump(e), dump(again))
		}
	})
}
