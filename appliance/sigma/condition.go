package sigma

import (
	"fmt"
	"strconv"
	"strings"
)

// The condition language of a detection:
//
//	expr    = or
//	or      = and { "or" and }
//	and     = not { "and" not }
//	not     = "not" not | primary
//	primary = "(" expr ")" | quant "of" target | identifier
//	quant   = "1" | "any" | "all" | N
//	target  = "them" | identifier pattern ("*" wildcards)
//
// Keywords are case-insensitive. The Sigma 1 aggregation form
// ("… | count() by X > N") is refused with a pointer to correlation rules.

type condOp uint8

const (
	opIdent condOp = iota
	opOf
	opAnd
	opOr
	opNot
)

// condExpr is a node of a parsed condition.
type condExpr struct {
	op      condOp
	name    string // opIdent: the search identifier; opOf: the pattern or "them"
	quant   int    // opOf: at least this many; quantAll for "all of"
	kids    []*condExpr
	pos     int // byte offset in the condition, for messages
	pattern bool
}

const quantAll = -1

const maxConditionLen = 64 << 10
const maxConditionDepth = 200

// parseCondition parses one condition expression.
func parseCondition(s string) (*condExpr, error) {
	if len(s) > maxConditionLen {
		return nil, fmt.Errorf("condition is %d bytes, over the limit of %d", len(s), maxConditionLen)
	}
	toks, err := lexCondition(s)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks, src: s}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		if t.kind == tokPipe {
			return nil, fmt.Errorf("at %d: aggregation expressions (| count() …) are Sigma 1 syntax; write a correlation rule instead", t.pos+1)
		}
		return nil, fmt.Errorf("at %d: unexpected %s after the end of the expression", t.pos+1, t.desc())
	}
	return e, nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokLParen
	tokRParen
	tokPipe
)

type condToken struct {
	kind tokKind
	text string
	pos  int
}

func (t condToken) desc() string {
	switch t.kind {
	case tokEOF:
		return "end of condition"
	case tokLParen:
		return `"("`
	case tokRParen:
		return `")"`
	case tokPipe:
		return `"|"`
	}
	return strconv.Quote(t.text)
}

func lexCondition(s string) ([]condToken, error) {
	var toks []condToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, condToken{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, condToken{tokRParen, ")", i})
			i++
		case c == '|':
			toks = append(toks, condToken{tokPipe, "|", i})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()|", rune(s[j])) {
				j++
			}
			toks = append(toks, condToken{tokWord, s[i:j], i})
			i = j
		}
	}
	return append(toks, condToken{kind: tokEOF, pos: len(s)}), nil
}

type condParser struct {
	toks []condToken
	i    int
	src  string
}

func (p *condParser) peek() condToken { return p.toks[p.i] }
func (p *condParser) next() condToken {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func isKeyword(t condToken, kw string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, kw)
}

func (p *condParser) or(depth int) (*condExpr, error) {
	left, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "or") {
		t := p.next()
		right, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		left = join(opOr, left, right, t.pos)
	}
	return left, nil
}

func (p *condParser) and(depth int) (*condExpr, error) {
	left, err := p.not(depth)
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "and") {
		t := p.next()
		right, err := p.not(depth)
		if err != nil {
			return nil, err
		}
		left = join(opAnd, left, right, t.pos)
	}
	return left, nil
}

// join flattens chains of the same operator, so a long "a or b or c …"
// evaluates without deep recursion.
func join(op condOp, left, right *condExpr, pos int) *condExpr {
	if left.op == op {
		left.kids = append(left.kids, right)
		return left
	}
	return &condExpr{op: op, kids: []*condExpr{left, right}, pos: pos}
}

func (p *condParser) not(depth int) (*condExpr, error) {
	if depth > maxConditionDepth {
		return nil, fmt.Errorf("at %d: condition nested deeper than %d", p.peek().pos+1, maxConditionDepth)
	}
	if t := p.peek(); isKeyword(t, "not") {
		p.next()
		e, err := p.not(depth + 1)
		if err != nil {
			return nil, err
		}
		return &condExpr{op: opNot, kids: []*condExpr{e}, pos: t.pos}, nil
	}
	return p.primary(depth)
}

func (p *condParser) primary(depth int) (*condExpr, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, fmt.Errorf("at %d: want \")\" to close the \"(\" at %d, got %s", c.pos+1, t.pos+1, c.desc())
		}
		return e, nil
	case tokWord:
		for _, kw := range []string{"and", "or", "not", "of", "them"} {
			if isKeyword(t, kw) {
				return nil, fmt.Errorf("at %d: unexpected %q: want a search identifier, \"(\" or \"1 of\"/\"all of\"", t.pos+1, t.text)
			}
		}
		if isKeyword(p.peek(), "of") {
			return p.quantified(t)
		}
		if strings.ContainsAny(t.text, "*?") {
			return nil, fmt.Errorf("at %d: wildcard identifier %q needs \"1 of\" or \"all of\" before it", t.pos+1, t.text)
		}
		return &condExpr{op: opIdent, name: t.text, pos: t.pos}, nil
	}
	return nil, fmt.Errorf("at %d: unexpected %s: want a search identifier, \"(\" or \"1 of\"/\"all of\"", t.pos+1, t.desc())
}

func (p *condParser) quantified(q condToken) (*condExpr, error) {
	p.next() // "of"
	e := &condExpr{op: opOf, pos: q.pos}
	switch {
	case isKeyword(q, "all"):
		e.quant = quantAll
	case isKeyword(q, "any"):
		e.quant = 1
	default:
		n, err := strconv.Atoi(q.text)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("at %d: want \"1 of\", \"all of\" or \"N of\", got %q of", q.pos+1, q.text)
		}
		e.quant = n
	}
	t := p.next()
	if t.kind != tokWord || isKeyword(t, "and") || isKeyword(t, "or") || isKeyword(t, "not") {
		return nil, fmt.Errorf("at %d: want \"them\" or an identifier pattern after %q of, got %s", t.pos+1, q.text, t.desc())
	}
	if isKeyword(t, "them") {
		e.name = "them"
	} else {
		e.name = t.text
		e.pattern = true
	}
	return e, nil
}

// check verifies that every identifier the expression names, directly or
// through an "of" pattern, is one of the detection's.
func (e *condExpr) check(names []string) error {
	switch e.op {
	case opIdent:
		for _, n := range names {
			if n == e.name {
				return nil
			}
		}
		return fmt.Errorf("condition names %q, which the detection does not define", e.name)
	case opOf:
		if len(e.resolve(names)) == 0 {
			return fmt.Errorf("condition %q matches no search identifier", e.name)
		}
	}
	for _, k := range e.kids {
		if err := k.check(names); err != nil {
			return err
		}
	}
	return nil
}

// resolve lists the identifiers an "of" expression covers: "them" is every
// identifier not starting with "_"; a pattern uses * and ? wildcards.
func (e *condExpr) resolve(names []string) []string {
	var out []string
	for _, n := range names {
		if e.name == "them" {
			if !strings.HasPrefix(n, "_") {
				out = append(out, n)
			}
			continue
		}
		if globMatch(e.name, n) {
			out = append(out, n)
		}
	}
	return out
}

// globMatch matches s against a pattern of literal text, * and ?.
func globMatch(pat, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pat) || sx < len(s) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// String renders the expression in the condition language, fully
// parenthesised.
func (e *condExpr) String() string {
	switch e.op {
	case opIdent:
		return e.name
	case opOf:
		q := "all"
		if e.quant != quantAll {
			q = strconv.Itoa(e.quant)
		}
		return q + " of " + e.name
	case opNot:
		return "not (" + e.kids[0].String() + ")"
	}
	sep := " and "
	if e.op == opOr {
		sep = " or "
	}
	parts := make([]string, len(e.kids))
	for i, k := range e.kids {
		parts[i] = "(" + k.String() + ")"
	}
	return strings.Join(parts, sep)
}
