package intel

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The STIX 2.1 patterning language (STIX 2.1 part 9), parsed in full so
// that any valid pattern is read and anything else is refused with the
// position of the fault. Only part of what it can say is observable in one
// event; Atoms says which.

// Pattern is a parsed STIX pattern: an observation expression.
type Pattern struct{ Root PatternNode }

// PatternNode is an observation or comparison expression.
type PatternNode interface{ patternNode() }

// Observation is "[ comparison expression ]" with its qualifiers.
type Observation struct {
	Expr       PatternNode
	Qualifiers []string // e.g. "WITHIN 600 SECONDS", kept as text
}

// Bool joins two expressions; at the observation level Op may also be
// FOLLOWEDBY.
type Bool struct {
	Op          string // AND, OR, FOLLOWEDBY
	Left, Right PatternNode
}

// Comparison is "object-path [NOT] operator value".
type Comparison struct {
	ObjectType string   // "ipv4-addr"
	Path       []string // property path: ["value"], ["hashes", "SHA-256"]
	Not        bool
	Op         string  // =, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET
	Values     []Value // one, or several for IN
}

// Value is a literal; Kind is "string", "int", "float", "bool",
// "timestamp", "hex" or "binary".
type Value struct {
	Kind string
	Text string
}

func (*Observation) patternNode() {}
func (*Bool) patternNode()        {}
func (*Comparison) patternNode()  {}

// maxPatternDepth bounds nesting, so a hostile pattern cannot exhaust the
// stack.
const maxPatternDepth = 100

// PatternError is a syntax error at a byte offset of the pattern.
type PatternError struct {
	Offset int
	Msg    string
}

func (e *PatternError) Error() string { return fmt.Sprintf("pattern offset %d: %s", e.Offset, e.Msg) }

// ParsePattern parses a STIX 2.1 pattern.
func ParsePattern(s string) (*Pattern, error) {
	p := &patternParser{s: s}
	root, err := p.observationExpr(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, p.errorf("unexpected %q after the pattern", p.rest(10))
	}
	return &Pattern{Root: root}, nil
}

type patternParser struct {
	s   string
	pos int
}

func (p *patternParser) errorf(format string, args ...any) error {
	return &PatternError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *patternParser) rest(n int) string {
	r := p.s[p.pos:]
	if len(r) > n {
		r = r[:n]
	}
	return r
}

func (p *patternParser) space() {
	for p.pos < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[p.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		p.pos += n
	}
}

// keyword consumes kw (case-sensitive, as the grammar is) when it stands as
// a whole word at the current position.
func (p *patternParser) keyword(kw string) bool {
	p.space()
	if !strings.HasPrefix(p.s[p.pos:], kw) {
		return false
	}
	end := p.pos + len(kw)
	if end < len(p.s) && isWordByte(p.s[end]) {
		return false
	}
	p.pos = end
	return true
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *patternParser) punct(c byte) bool {
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// observationExpr: precedence OR < AND < FOLLOWEDBY, left-associative.
func (p *patternParser) observationExpr(depth int) (PatternNode, error) {
	return p.binary(depth, []string{"OR", "AND", "FOLLOWEDBY"}, p.observation)
}

func (p *patternParser) comparisonExpr(depth int) (PatternNode, error) {
	return p.binary(depth, []string{"OR", "AND"}, p.comparisonTerm)
}

// binary parses operand (ops[0] operand)* with ops[1:] binding tighter.
func (p *patternParser) binary(depth int, ops []string, operand func(int) (PatternNode, error)) (PatternNode, error) {
	if len(ops) == 0 {
		return operand(depth)
	}
	left, err := p.binary(depth, ops[1:], operand)
	if err != nil {
		return nil, err
	}
	for p.keyword(ops[0]) {
		right, err := p.binary(depth, ops[1:], operand)
		if err != nil {
			return nil, err
		}
		left = &Bool{Op: ops[0], Left: left, Right: right}
	}
	return left, nil
}

func (p *patternParser) observation(depth int) (PatternNode, error) {
	if depth > maxPatternDepth {
		return nil, p.errorf("nested more than %d deep", maxPatternDepth)
	}
	var node PatternNode
	switch {
	case p.punct('['):
		e, err := p.comparisonExpr(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.punct(']') {
			return nil, p.errorf("want ] to close the observation, got %q", p.rest(10))
		}
		node = &Observation{Expr: e}
	case p.punct('('):
		e, err := p.observationExpr(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.punct(')') {
			return nil, p.errorf("want ) to close the observation expression, got %q", p.rest(10))
		}
		node = &Observation{Expr: e}
	default:
		return nil, p.errorf("want [ or ( to start an observation, got %q", p.rest(10))
	}
	obs := node.(*Observation)
	for {
		q, ok, err := p.qualifier()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		obs.Qualifiers = append(obs.Qualifiers, q)
	}
	return obs, nil
}

func (p *patternParser) qualifier() (string, bool, error) {
	switch {
	case p.keyword("WITHIN"):
		return p.countQualifier("WITHIN", "SECONDS")
	case p.keyword("REPEATS"):
		return p.countQualifier("REPEATS", "TIMES")
	case p.keyword("START"):
		start, err := p.literal()
		if err != nil || start.Kind != "timestamp" {
			return "", false, p.errorf("want a t'…' timestamp after START")
		}
		if !p.keyword("STOP") {
			return "", false, p.errorf("want STOP after START t'%s'", start.Text)
		}
		stop, err := p.literal()
		if err != nil || stop.Kind != "timestamp" {
			return "", false, p.errorf("want a t'…' timestamp after STOP")
		}
		return "START t'" + start.Text + "' STOP t'" + stop.Text + "'", true, nil
	}
	return "", false, nil
}

// countQualifier reads the rest of "WITHIN n SECONDS" or "REPEATS n TIMES".
func (p *patternParser) countQualifier(kw, unit string) (string, bool, error) {
	v, err := p.number()
	if err != nil {
		return "", false, err
	}
	if !p.keyword(unit) {
		return "", false, p.errorf("want %s after %s %s", unit, kw, v)
	}
	return kw + " " + v + " " + unit, true, nil
}

func (p *patternParser) number() (string, error) {
	v, err := p.literal()
	if err != nil {
		return "", err
	}
	if v.Kind != "int" && v.Kind != "float" {
		return "", p.errorf("want a number, got %s %q", v.Kind, v.Text)
	}
	return v.Text, nil
}

func (p *patternParser) comparisonTerm(depth int) (PatternNode, error) {
	if depth > maxPatternDepth {
		return nil, p.errorf("nested more than %d deep", maxPatternDepth)
	}
	if p.punct('(') {
		e, err := p.comparisonExpr(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.punct(')') {
			return nil, p.errorf("want ) to close the comparison expression, got %q", p.rest(10))
		}
		return e, nil
	}
	return p.comparison()
}

var comparisonOps = []string{"<=", ">=", "!=", "=", "<", ">", "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"}

func (p *patternParser) comparison() (PatternNode, error) {
	c := &Comparison{}
	var err error
	if c.ObjectType, c.Path, err = p.objectPath(); err != nil {
		return nil, err
	}
	c.Not = p.keyword("NOT")
	p.space()
	for _, op := range comparisonOps {
		if op[0] >= 'A' && op[0] <= 'Z' {
			if p.keyword(op) {
				c.Op = op
				break
			}
		} else if strings.HasPrefix(p.s[p.pos:], op) {
			p.pos += len(op)
			c.Op = op
			break
		}
	}
	if c.Op == "" {
		return nil, p.errorf("want a comparison operator after %s:%s, got %q", c.ObjectType, strings.Join(c.Path, "."), p.rest(10))
	}
	if c.Op == "IN" {
		if !p.punct('(') {
			return nil, p.errorf("want ( after IN")
		}
		for {
			v, err := p.literal()
			if err != nil {
				return nil, err
			}
			c.Values = append(c.Values, v)
			if p.punct(')') {
				break
			}
			if !p.punct(',') {
				return nil, p.errorf("want , or ) in the IN list, got %q", p.rest(10))
			}
		}
		return c, nil
	}
	v, err := p.literal()
	if err != nil {
		return nil, err
	}
	c.Values = []Value{v}
	return c, nil
}

// objectPath reads "type:prop(.prop|[n]|[*])*" where a property may be a
// quoted 'name'.
func (p *patternParser) objectPath() (string, []string, error) {
	p.space()
	start := p.pos
	for p.pos < len(p.s) && isWordByte(p.s[p.pos]) {
		p.pos++
	}
	typ := p.s[start:p.pos]
	if typ == "" {
		return "", nil, p.errorf("want an object type, got %q", p.rest(10))
	}
	if p.pos >= len(p.s) || p.s[p.pos] != ':' {
		return "", nil, p.errorf("want : after object type %q", typ)
	}
	p.pos++
	var path []string
	for {
		name, err := p.propertyName()
		if err != nil {
			return "", nil, err
		}
		path = append(path, name)
		for p.pos < len(p.s) && p.s[p.pos] == '[' {
			end := strings.IndexByte(p.s[p.pos:], ']')
			if end < 0 {
				return "", nil, p.errorf("unclosed [ in object path")
			}
			idx := p.s[p.pos+1 : p.pos+end]
			if idx != "*" && strings.Trim(idx, "0123456789") != "" || idx == "" {
				return "", nil, p.errorf("list index %q is not a number or *", idx)
			}
			path = append(path, "["+idx+"]")
			p.pos += end + 1
		}
		if p.pos >= len(p.s) || p.s[p.pos] != '.' {
			return typ, path, nil
		}
		p.pos++
	}
}

func (p *patternParser) propertyName() (string, error) {
	if p.pos < len(p.s) && p.s[p.pos] == '\'' {
		v, err := p.quoted()
		return v, err
	}
	start := p.pos
	for p.pos < len(p.s) && isWordByte(p.s[p.pos]) {
		p.pos++
	}
	if start == p.pos {
		return "", p.errorf("want a property name, got %q", p.rest(10))
	}
	return p.s[start:p.pos], nil
}

// quoted reads a '…' string with \' and \\ escapes.
func (p *patternParser) quoted() (string, error) {
	p.pos++ // the opening quote
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch c {
		case '\\':
			if p.pos+1 >= len(p.s) || p.s[p.pos+1] != '\'' && p.s[p.pos+1] != '\\' {
				return "", p.errorf("bad escape in string: only \\' and \\\\ are allowed")
			}
			b.WriteByte(p.s[p.pos+1])
			p.pos += 2
		case '\'':
			p.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *patternParser) literal() (Value, error) {
	p.space()
	if p.pos >= len(p.s) {
		return Value{}, p.errorf("want a value, got the end of the pattern")
	}
	c := p.s[p.pos]
	if c == '\'' {
		v, err := p.quoted()
		return Value{Kind: "string", Text: v}, err
	}
	if (c == 't' || c == 'h' || c == 'b') && p.pos+1 < len(p.s) && p.s[p.pos+1] == '\'' {
		p.pos++
		v, err := p.quoted()
		kind := map[byte]string{'t': "timestamp", 'h': "hex", 'b': "binary"}[c]
		return Value{Kind: kind, Text: v}, err
	}
	if p.keyword("true") {
		return Value{Kind: "bool", Text: "true"}, nil
	}
	if p.keyword("false") {
		return Value{Kind: "bool", Text: "false"}, nil
	}
	start := p.pos
	if c == '-' || c == '+' {
		p.pos++
	}
	digits, dot := 0, false
	for p.pos < len(p.s) {
		d := p.s[p.pos]
		if d >= '0' && d <= '9' {
			digits++
		} else if d == '.' && !dot {
			dot = true
		} else {
			break
		}
		p.pos++
	}
	if digits == 0 {
		p.pos = start
		return Value{}, p.errorf("want a value, got %q", p.rest(10))
	}
	if dot {
		return Value{Kind: "float", Text: p.s[start:p.pos]}, nil
	}
	return Value{Kind: "int", Text: p.s[start:p.pos]}, nil
}
