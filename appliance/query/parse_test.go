package query_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance/query"
)

func word(s string) query.Expr { return &query.Word{Text: s} }
func term(f string, op query.Op, v string) query.Expr {
	return &query.Term{Field: f, Op: op, Value: v}
}
func eq(f, v string) query.Expr                      { return term(f, query.OpEq, v) }
func and(xs ...query.Expr) query.Expr                { return &query.And{Terms: xs} }
func or(xs ...query.Expr) query.Expr                 { return &query.Or{Terms: xs} }
func not(x query.Expr) query.Expr                    { return &query.Not{X: x} }
func exists(f string) query.Expr                     { return term(f, query.OpPrefix, "") }
func prefix(f, v string) query.Expr                  { return term(f, query.OpPrefix, v) }
func cmp(f string, op query.Op, v string) query.Expr { return term(f, op, v) }

var validQueries = []struct {
	query string
	want  string // canonical String()
	tree  query.Expr
}{
	{"user.name:root", "user.name:root", eq("user.name", "root")},
	{"  source.ip:10.0.0.5\t", "source.ip:10.0.0.5", eq("source.ip", "10.0.0.5")},
	{"failed", "failed", word("failed")},
	{"user.name:root failed", "user.name:root AND failed", and(eq("user.name", "root"), word("failed"))},
	{"a AND b", "a AND b", and(word("a"), word("b"))},
	{"a OR b", "a OR b", or(word("a"), word("b"))},
	{"a b OR c", "a AND b OR c", or(and(word("a"), word("b")), word("c"))},
	{"a OR b c", "a OR b AND c", or(word("a"), and(word("b"), word("c")))},
	{"a OR b AND c OR d", "a OR b AND c OR d", or(word("a"), and(word("b"), word("c")), word("d"))},
	{"(a OR b) c", "(a OR b) AND c", and(or(word("a"), word("b")), word("c"))},
	{"(a OR b) AND (c OR d)", "(a OR b) AND (c OR d)", and(or(word("a"), word("b")), or(word("c"), word("d")))},
	{"a AND (b AND c) d", "a AND b AND c AND d", and(word("a"), word("b"), word("c"), word("d"))},
	{"a OR (b OR c)", "a OR b OR c", or(word("a"), word("b"), word("c"))},
	{"((a))", "a", word("a")},
	{"(a)(b)", "a AND b", and(word("a"), word("b"))},
	{"NOT a", "NOT a", not(word("a"))},
	{"NOT a b", "NOT a AND b", and(not(word("a")), word("b"))},
	{"NOT (a b)", "NOT (a AND b)", not(and(word("a"), word("b")))},
	{"NOT(a OR b)", "NOT (a OR b)", not(or(word("a"), word("b")))},
	{"NOT NOT a", "NOT NOT a", not(not(word("a")))},
	{"-user.name:root", "NOT user.name:root", not(eq("user.name", "root"))},
	{"a -b", "a AND NOT b", and(word("a"), not(word("b")))},
	{"-(a OR b)", "NOT (a OR b)", not(or(word("a"), word("b")))},
	{`-"x y"`, `NOT "x y"`, not(word("x y"))},
	{"a-b", "a-b", word("a-b")},
	{"and or not", "and AND or AND not", and(word("and"), word("or"), word("not"))},
	{`"AND" OR "-x"`, `"AND" OR "-x"`, or(word("AND"), word("-x"))},
	{"ANDROID", "ANDROID", word("ANDROID")},
	{`"failed password"`, `"failed password"`, word("failed password")},
	{`""`, `""`, word("")},
	{`message:"failed password"`, `message:"failed password"`, eq("message", "failed password")},
	{`f:"a \"b\" \\ c"`, `f:"a \"b\" \ c"`, eq("f", `a "b" \ c`)}, // minimal escapes
	{`f:"a\\"`, `f:a\`, eq("f", `a\`)},
	{`f:"x y\\"`, `f:"x y\\"`, eq("f", `x y\`)},
	{`f:"\\\\ \x"`, `f:"\\\ \x"`, eq("f", `\\ \x`)},
	{`process.executable:"C:\Windows\cmd.exe"`, `process.executable:C:\Windows\cmd.exe`, eq("process.executable", `C:\Windows\cmd.exe`)},
	{`f:"simple"`, `f:simple`, eq("f", "simple")},
	{`f:"a b\"c"`, `f:"a b\"c"`, eq("f", `a b"c`)},
	// \\ is an escape inside quotes, so a quoted UNC path loses a backslash;
	// unquoted, backslashes are always literal.
	{`f:"\\srv\share"`, `f:\srv\share`, eq("f", `\srv\share`)},
	{`f:\\srv\share`, `f:\\srv\share`, eq("f", `\\srv\share`)},
	{`f:"a*"`, `f:"a*"`, eq("f", "a*")},
	{"f:a*b", "f:a*b", eq("f", "a*b")},
	{"host.name:web*", "host.name:web*", prefix("host.name", "web")},
	{"f:a**", "f:a**", prefix("f", "a*")},
	{"user.name:*", "user.name:*", exists("user.name")},
	{`f:"*"`, `f:"*"`, eq("f", "*")},
	{"source.port>1024", "source.port>1024", cmp("source.port", query.OpGT, "1024")},
	{"source.port>=22", "source.port>=22", cmp("source.port", query.OpGTE, "22")},
	{"source.port<22", "source.port<22", cmp("source.port", query.OpLT, "22")},
	{"source.port<=-1.5", "source.port<=-1.5", cmp("source.port", query.OpLTE, "-1.5")},
	{`f>"=x"`, `f>"=x"`, cmp("f", query.OpGT, "=x")},
	{"f>5*", "f>5*", cmp("f", query.OpGT, "5*")},
	{"@timestamp>=2024-01-01T00:00:00Z", "@timestamp>=2024-01-01T00:00:00Z", cmp("@timestamp", query.OpGTE, "2024-01-01T00:00:00Z")},
	{"source.ip:::1", "source.ip:::1", eq("source.ip", "::1")},
	{"f::", "f::", eq("f", ":")},
	{"f:>5", "f:>5", eq("f", ">5")},
	{"10:30", "10:30", word("10:30")},
	{"user=root", "user=root", word("user=root")},
	{"original.Event.System.EventID:4625", "original.Event.System.EventID:4625", eq("original.Event.System.EventID", "4625")},
	{"original.id.orig_h:1.2.3.4", "original.id.orig_h:1.2.3.4", eq("original.id.orig_h", "1.2.3.4")},
	{"original.user-agent:curl*", "original.user-agent:curl*", prefix("original.user-agent", "curl")},
	{"_id:x", "_id:x", eq("_id", "x")},
	{"AND:x", "AND:x", eq("AND", "x")},
	{"benutzer.näme:jürgen", "benutzer.näme:jürgen", eq("benutzer.näme", "jürgen")},
	{"日本語 ユーザー:太郎", "日本語 AND ユーザー:太郎", and(word("日本語"), eq("ユーザー", "太郎"))},
	{"f:x\u00a0y", "f:x AND y", and(eq("f", "x"), word("y"))},
	{`"tab	inside" "new
line"`, "\"tab\tinside\" AND \"new\nline\"", and(word("tab\tinside"), word("new\nline"))},
	{`a OR "b c" OR (d -e:f*)`, `a OR "b c" OR d AND NOT e:f*`, or(word("a"), word("b c"), and(word("d"), not(prefix("e", "f"))))},
	{`x:"(" y:")"`, `x:"(" AND y:")"`, and(eq("x", "("), eq("y", ")"))},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validQueries {
		e, err := query.Parse(tc.query)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.query, err)
			continue
		}
		if got := e.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.query, got, tc.want)
		}
		if !reflect.DeepEqual(e, tc.tree) {
			t.Errorf("Parse(%q) tree = %s, want %s", tc.query, dump(e), dump(tc.tree))
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, tc := range validQueries {
		e, err := query.Parse(tc.query)
		if err != nil {
			continue // reported by TestParseValid
		}
		again, err := query.Parse(e.String())
		if err != nil {
			t.Errorf("Parse(%q) of the canonical form of %q: %v", e.String(), tc.query, err)
			continue
		}
		if again.String() != e.String() || !reflect.DeepEqual(again, e) {
			t.Errorf("round trip of %q: %s became %s", tc.query, dump(e), dump(again))
		}
	}
}

func TestParseEmpty(t *testing.T) {
	for _, q := range []string{"", " ", "\t\n  \u00a0"} {
		e, err := query.Parse(q)
		if e != nil || err != nil {
			t.Errorf("Parse(%q) = %v, %v; want nil, nil", q, e, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		query string
		pos   int
		msg   string
	}{
		{"(a OR b", 8, `expected ")" to close "(" at position 1, found end of query`},
		{"user.name:x (a OR (b c)", 24, `expected ")" to close "(" at position 13`},
		{"a)", 2, `unexpected ")" without a matching "("`},
		{`f:"abc`, 7, "unterminated quoted string starting at position 3"},
		{`"abc\"`, 7, "unterminated quoted string starting at position 1"},
		{`ü "ä`, 5, "unterminated quoted string starting at position 3"},
		{"a AND", 6, `expected a term after "AND", found end of query`},
		{"a OR", 5, `expected a term after "OR", found end of query`},
		{"NOT", 4, `expected a term after "NOT", found end of query`},
		{"AND a", 1, `expected a term, found "AND"`},
		{"OR a", 1, `expected a term, found "OR"`},
		{"a AND OR b", 7, `expected a term after "AND", found "OR"`},
		{"a OR )", 6, `expected a term after "OR", found ")"`},
		{"()", 2, `empty parentheses`},
		{"a ( ) b", 5, `empty parentheses`},
		{"field:", 7, `expected a value after "field:"`},
		{"field: x", 7, `expected a value after "field:"`},
		{"f:\u00a0x", 3, `expected a value after "f:"`},
		{"(field:)", 8, `expected a value after "field:"`},
		{"field:(a OR b)", 7, `expected a value after "field:"`},
		{"source.port>", 13, `expected a value after "source.port>"`},
		{"source.port>= 5", 14, `expected a value after "source.port>="`},
		{"-", 1, `expected a term after "-"`},
		{"a - b", 3, `expected a term after "-"`},
		{"-AND", 2, `expected a term after "-", found "AND"`},
		{`foo"bar"`, 4, `unexpected '"' inside a word`},
		{`f:ab"c"`, 5, `unexpected '"' inside a value`},
		{`"a"b`, 4, "unexpected text right after a closing quote"},
		{`f:"a"*`, 6, "unexpected text right after a closing quote"},
		{strings.Repeat("(", 33) + "a" + strings.Repeat(")", 33), 33, "nests too deep"},
		{strings.Repeat("NOT ", 33) + "a", 129, "nests too deep"},
		{strings.Repeat("-", 40) + "a", 33, "nests too deep"},
		{strings.Repeat("a ", 2049), 4097, "too long: 4098 bytes, the limit is 4096"},
		{strings.Repeat("é", 2049), 2049, "too long"},
	}
	for _, tc := range tests {
		e, err := query.Parse(tc.query)
		var se *query.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%.40q) = %v, %v; want a *SyntaxError", tc.query, e, err)
			continue
		}
		if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("Parse(%.40q) error = %q (pos %d), want pos %d and %q", tc.query, se.Error(), se.Pos, tc.pos, tc.msg)
		}
		if !strings.HasPrefix(se.Error(), "query: position ") {
			t.Errorf("Error() = %q, want the documented form", se.Error())
		}
	}
}

func TestParseLimitsAccept(t *testing.T) {
	deep := strings.Repeat("(", 32) + "a" + strings.Repeat(")", 32)
	if _, err := query.Parse(deep); err != nil {
		t.Errorf("32 levels: %v", err)
	}
	long := strings.Repeat("a", 4096)
	if _, err := query.Parse(long); err != nil {
		t.Errorf("4096 bytes: %v", err)
	}
	// Depth is nesting, not count: many siblings are fine.
	if _, err := query.Parse(strings.Repeat("-a ", 1000)); err != nil {
		t.Errorf("1000 negated siblings: %v", err)
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	_, err := query.Parse("user.name:x (a b")
	want := `query: position 17: expected ")" to close "(" at position 13, found end of query`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// dump renders a tree with its node types, which String deliberately hides.
func dump(e query.Expr) string {
	switch x := e.(type) {
	case *query.And:
		return "And" + dumpList(x.Terms)
	case *query.Or:
		return "Or" + dumpList(x.Terms)
	case *query.Not:
		return "Not(" + dump(x.X) + ")"
	case *query.Term:
		return "Term(" + x.Field + " " + []string{":", "prefix", ">", ">=", "<", "<="}[x.Op] + " " + x.Value + ")"
	case *query.Word:
		return "Word(" + x.Text + ")"
	case nil:
		return "nil"
	}
	return "?"
}

func dumpList(xs []query.Expr) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = dump(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// nearLimit are queries just under the length limit whose readable canonical
// form (explicit AND and NOT) would be over it.
var nearLimit = []string{
	strings.Repeat("-a ", 1365),
	strings.Repeat("(a OR b)c", 455),
	strings.Repeat("x OR(-(a b))", 341),
	strings.Repeat("0 ", 2048),
}

func TestCanonicalNearLimit(t *testing.T) {
	for _, q := range nearLimit {
		e, err := query.Parse(q)
		if err != nil {
			t.Fatalf("Parse(%.20q...): %v", q, err)
		}
		s := e.String()
		if len(s) > len(q) {
			t.Errorf("canonical form of %.20q... is %d bytes, longer than the %d-byte query", q, len(s), len(q))
		}
		again, err := query.Parse(s)
		if err != nil {
			t.Fatalf("canonical form %.40q...: %v", s, err)
		}
		if !reflect.DeepEqual(again, e) {
			t.Errorf("canonical form of %.20q... parses to a different tree", q)
		}
	}
	// Below the limit the readable form is used.
	e, _ := query.Parse("-a (b OR c)d")
	if got, want := e.String(), "NOT a AND (b OR c) AND d"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
