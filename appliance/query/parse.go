package query

import (
	"strconv"
	"unicode/utf8"
)

// Limits against hostile input. The depth limit also bounds the recursion of
// everything that walks the tree (Match, String, the storage planner).
const (
	maxQueryBytes = 4096
	maxDepth      = 32
)

// Parse parses a query. An empty or blank query yields nil, nil; every error
// is a *SyntaxError.
func Parse(q string) (Expr, error) {
	if len(q) > maxQueryBytes {
		cut := maxQueryBytes
		for cut > 0 && !utf8.RuneStart(q[cut]) {
			cut--
		}
		return nil, &SyntaxError{
			Pos: runePos(q, cut),
			Msg: "query is too long: " + strconv.Itoa(len(q)) + " bytes, the limit is " + strconv.Itoa(maxQueryBytes),
		}
	}
	p := parser{lx: lexer{src: q}}
	p.advance()
	if p.tok.kind == tEOF {
		return nil, nil
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tEOF:
		return e, nil
	case tRParen:
		return nil, p.errAt(p.tok.off, `unexpected ")" without a matching "("`)
	default: // parseOr stops only at the end or a ')'
		return nil, p.errAt(p.tok.off, "unexpected "+describe(p.tok))
	}
}

// parser is a recursive-descent parser with one token of lookahead:
//
//	or    = and { "OR" and }
//	and   = unary { ["AND"] unary }
//	unary = ("NOT" | "-") unary | "(" or ")" | term | word
type parser struct {
	lx    lexer
	tok   token
	depth int
}

func (p *parser) advance() { p.tok = p.lx.next() }

func (p *parser) errAt(off int, msg string) *SyntaxError {
	return &SyntaxError{Pos: runePos(p.lx.src, off), Msg: msg}
}

func (p *parser) parseOr() (Expr, error) {
	first, err := p.parseAnd(nil)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tOr {
		return first, nil
	}
	var terms []Expr
	terms = appendOr(terms, first)
	for p.tok.kind == tOr {
		op := p.tok
		p.advance()
		next, err := p.parseAnd(&op)
		if err != nil {
			return nil, err
		}
		terms = appendOr(terms, next)
	}
	return &Or{Terms: terms}, nil
}

// parseAnd parses a run of unary expressions joined by AND or by nothing.
// after is the operator token the first operand follows, for error messages.
func (p *parser) parseAnd(after *token) (Expr, error) {
	first, err := p.parseUnary(after)
	if err != nil {
		return nil, err
	}
	var terms []Expr
	for {
		var next Expr
		switch p.tok.kind {
		case tAnd:
			op := p.tok
			p.advance()
			next, err = p.parseUnary(&op)
		case tWord, tTerm, tNot, tMinus, tLParen, tErr:
			next, err = p.parseUnary(nil) // juxtaposition means AND
		default:
			if terms == nil {
				return first, nil
			}
			return &And{Terms: terms}, nil
		}
		if err != nil {
			return nil, err
		}
		if terms == nil {
			terms = appendAnd(terms, first)
		}
		terms = appendAnd(terms, next)
	}
}

func (p *parser) parseUnary(after *token) (Expr, error) {
	tok := p.tok
	switch tok.kind {
	case tTerm:
		p.advance()
		return &Term{Field: tok.field, Op: tok.op, Value: tok.text}, nil
	case tWord:
		p.advance()
		return &Word{Text: tok.text}, nil
	case tNot, tMinus:
		if err := p.enter(tok); err != nil {
			return nil, err
		}
		p.advance()
		x, err := p.parseUnary(&tok)
		p.depth--
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	case tLParen:
		if err := p.enter(tok); err != nil {
			return nil, err
		}
		p.advance()
		if p.tok.kind == tRParen {
			return nil, p.errAt(p.tok.off, `empty parentheses "()"`)
		}
		x, err := p.parseOr()
		p.depth--
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.errAt(p.tok.off, `expected ")" to close "(" at position `+strconv.Itoa(runePos(p.lx.src, tok.off))+", found "+describe(p.tok))
		}
		p.advance()
		return x, nil
	case tErr:
		return nil, p.errAt(tok.off, tok.text)
	}
	msg := "expected a term"
	if after != nil {
		msg += " after " + describe(*after)
	}
	return nil, p.errAt(tok.off, msg+", found "+describe(tok))
}

func (p *parser) enter(tok token) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(tok.off, "query nests too deep: more than "+strconv.Itoa(maxDepth)+" levels of parentheses and NOT")
	}
	return nil
}

// appendAnd and appendOr splice a parenthesised group of the same kind into
// the list being built, which keeps the tree flat as documented.
func appendAnd(terms []Expr, e Expr) []Expr {
	if a, ok := e.(*And); ok {
		return append(terms, a.Terms...)
	}
	return append(terms, e)
}

func appendOr(terms []Expr, e Expr) []Expr {
	if o, ok := e.(*Or); ok {
		return append(terms, o.Terms...)
	}
	return append(terms, e)
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tLParen:
		return `"("`
	case tRParen:
		return `")"`
	case tAnd:
		return `"AND"`
	case tOr:
		return `"OR"`
	case tNot:
		return `"NOT"`
	case tMinus:
		return `"-"`
	case tWord:
		return "word " + strconv.Quote(t.text)
	case tTerm:
		return "term " + strconv.Quote(t.field)
	}
	return "invalid input"
}
