package query

import (
	"strconv"
	"strings"
	"time"
)

// Fields is what a query is evaluated against.
type Fields interface {
	// Lookup returns the values of a field: a normalised dotted field
	// (top-level key of the stored doc, which has flat dotted keys like
	// "source.ip"), or "original.<path>" navigated into the nested original.
	// Missing: nil. Arrays are flattened into several values.
	Lookup(field string) []any
	// Text is the whole event as text (e.g. the raw JSON document), for bare
	// words.
	Text() []byte
}

// Match reports whether the fields satisfy e. A nil Expr matches everything.
// Match is safe for concurrent use when f is (DocFields is).
func Match(e Expr, f Fields) bool {
	if e == nil {
		return true
	}
	if f == nil {
		f = noFields{}
	}
	m := matcher{f: f}
	m.doc, _ = f.(*docFields)
	return m.match(e)
}

// matcher holds what one Match call computes at most once.
type matcher struct {
	f         Fields
	doc       *docFields // set when values can be visited without allocating
	lower     string     // lower-cased Text, once a Word needs it
	haveLower bool
}

func (m *matcher) match(e Expr) bool {
	switch x := e.(type) {
	case nil:
		return true
	case *Term:
		return x == nil || m.term(x)
	case *Word:
		return x == nil || m.word(x)
	case *And:
		if x == nil {
			return true
		}
		for _, t := range x.Terms {
			if !m.match(t) {
				return false
			}
		}
		return true
	case *Or:
		if x == nil {
			return true
		}
		for _, t := range x.Terms {
			if m.match(t) {
				return true
			}
		}
		return false
	case *Not:
		return x == nil || !m.match(x.X)
	}
	return false // an Expr this package does not know: match nothing rather than everything
}

func (m *matcher) term(t *Term) bool {
	c := newCondition(t)
	if m.doc != nil {
		return m.doc.visit(t.Field, c.test)
	}
	for _, v := range m.f.Lookup(t.Field) {
		if visitValue(v, c.test) {
			return true
		}
	}
	return false
}

func (m *matcher) word(w *Word) bool {
	if !m.haveLower {
		if m.doc != nil {
			m.lower = m.doc.lowerText()
		} else {
			m.lower = strings.ToLower(string(m.f.Text()))
		}
		m.haveLower = true
	}
	word := strings.ToLower(w.Text)
	if strings.Contains(m.lower, word) {
		return true
	}
	// The text is usually JSON, where the word's special characters appear
	// escaped; the encoders in use escape HTML characters by default, but a
	// document may come from one that does not.
	if esc := escapeJSON(word, false); esc != word && strings.Contains(m.lower, esc) {
		return true
	}
	if esc := escapeJSON(word, true); esc != word && strings.Contains(m.lower, esc) {
		return true
	}
	return false
}

// condition is a Term with its value parsed once per Match rather than once
// per field value.
type condition struct {
	op     Op
	value  string
	num    number
	isNum  bool
	time   time.Time
	isTime bool
}

func newCondition(t *Term) condition {
	c := condition{op: t.Op, value: t.Value}
	if t.Op != OpPrefix {
		c.num, c.isNum = parseNumber(t.Value)
		c.time, c.isTime = parseTime(t.Value)
	}
	return c
}

// test reports whether one (non-array, non-null) value satisfies the
// condition.
func (c *condition) test(v any) bool {
	switch c.op {
	case OpEq:
		return c.equal(v)
	case OpPrefix:
		if c.value == "" {
			return true // exists: the caller only passes present values
		}
		s, ok := stringOf(v)
		return ok && hasPrefixFold(s, c.value)
	case OpGT, OpGTE, OpLT, OpLTE:
		r, ok := c.compare(v)
		if !ok {
			return false
		}
		switch c.op {
		case OpGT:
			return r > 0
		case OpGTE:
			return r >= 0
		case OpLT:
			return r < 0
		default:
			return r <= 0
		}
	}
	return false
}

func (c *condition) equal(v any) bool {
	switch x := v.(type) {
	case string:
		if strings.EqualFold(x, c.value) {
			return true
		}
		if c.isTime {
			t, ok := parseTime(x)
			return ok && t.Equal(c.time)
		}
		return false
	case bool:
		return strings.EqualFold(strconv.FormatBool(x), c.value)
	}
	n, ok := numberOf(v)
	if !ok {
		return false // maps and other non-scalars equal nothing
	}
	if c.isNum && n.cmp(c.num) == 0 {
		return true
	}
	s, _ := stringOf(v)
	return strings.EqualFold(s, c.value)
}

// compare orders a value against the condition's: by number, then by time,
// then by bytes, taking the first both sides support.
func (c *condition) compare(v any) (int, bool) {
	if c.isNum {
		if n, ok := numberOf(v); ok {
			return n.cmp(c.num), true
		}
	}
	s, ok := stringOf(v)
	if !ok {
		return 0, false
	}
	if c.isTime {
		if t, ok := parseTime(s); ok {
			return t.Compare(c.time), true
		}
	}
	return strings.Compare(s, c.value), true
}

// escapeJSON returns s as it appears inside a JSON string written by
// encoding/json (html) or by an encoder with HTML escaping off. s is
// returned unchanged, without allocating, when nothing needs escaping.
func escapeJSON(s string, html bool) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		var esc string
		switch {
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '\n':
			esc = `\n`
		case c == '\r':
			esc = `\r`
		case c == '\t':
			esc = `\t`
		case c == '\b':
			esc = `\b`
		case c == '\f':
			esc = `\f`
		case c < 0x20:
			esc = `\u00` + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&0xf])
		case html && (c == '<' || c == '>' || c == '&'):
			esc = `\u00` + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&0xf])
		case html && c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9):
			esc = `\u202` + string("89"[s[i+2]-0xa8])
			if b == nil {
				b = append([]byte(nil), s[:i]...)
			}
			b = append(b, esc...)
			i += 2
			continue
		}
		if esc == "" {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append([]byte(nil), s[:i]...)
		}
		b = append(b, esc...)
	}
	if b == nil {
		return s
	}
	return string(b)
}

type noFields struct{}

func (noFields) Lookup(string) []any { return nil }
func (noFields) Text() []byte        { return nil }
