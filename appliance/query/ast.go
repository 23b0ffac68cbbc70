package query

import (
	"strconv"
	"strings"
)

// Expr is a parsed query node: one of *And, *Or, *Not, *Term, *Word.
//
// String renders canonical query text that re-parses to an equal tree.
type Expr interface{ String() string }

// And matches when all of its terms match. Parse flattens it: no *And sits
// directly inside an *And.
type And struct{ Terms []Expr }

// Or matches when any of its terms matches; flattened like And.
type Or struct{ Terms []Expr }

// Not matches when X does not.
type Not struct{ X Expr }

// Op is the operator of a Term.
type Op int

// The operators of a Term.
const (
	OpEq     Op = iota // field:value
	OpPrefix           // field:value* (Value "" means the field exists)
	OpGT               // field>value
	OpGTE              // field>=value
	OpLT               // field<value
	OpLTE              // field<=value
)

// Term is a condition on one field.
type Term struct {
	Field string // as written, e.g. "source.ip" or "original.Event.System.EventID"
	Op    Op
	Value string // unescaped; for OpPrefix the text before the trailing '*'
}

// Word is a bare word or quoted phrase, unescaped, matched against the whole
// event text.
type Word struct{ Text string }

func (e *And) String() string  { return render(e) }
func (e *Or) String() string   { return render(e) }
func (e *Not) String() string  { return render(e) }
func (t *Term) String() string { return render(t) }
func (w *Word) String() string { return render(w) }

// render writes the canonical form: explicit AND and NOT, which read best.
// When that would exceed the query length limit it falls back to the compact
// form (juxtaposition for AND, '-' for NOT, no space beside a parenthesis),
// which is never longer than a query that parses to the same tree, so the
// canonical form of anything Parse accepted parses again.
func render(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e, false)
	if b.Len() <= maxQueryBytes {
		return b.String()
	}
	b.Reset()
	writeExpr(&b, e, true)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr, compact bool) {
	switch x := e.(type) {
	case *And:
		if x != nil {
			writeList(b, x.Terms, "AND", compact)
			return
		}
	case *Or:
		if x != nil {
			writeList(b, x.Terms, "OR", compact)
			return
		}
	case *Not:
		if x != nil {
			if compact {
				b.WriteByte('-')
			} else {
				b.WriteString("NOT ")
			}
			writeOperand(b, x.X, inNot, compact)
			return
		}
	case *Term:
		if x != nil {
			writeTerm(b, x)
			return
		}
	case *Word:
		if x != nil {
			writeWord(b, x.Text)
			return
		}
	}
	// Only hand-built trees get here (nil, a nil pointer, a foreign Expr). The
	// empty phrase matches everything, as Match treats nil; a foreign Expr
	// has no query syntax whatever is written.
	b.WriteString(`""`)
}

// writeList joins the terms of an And or Or.
func writeList(b *strings.Builder, terms []Expr, keyword string, compact bool) {
	for i, t := range terms {
		var item strings.Builder
		place := inOr
		if keyword == "AND" {
			place = inAnd
		}
		writeOperand(&item, t, place, compact)
		text := item.String()
		if i > 0 {
			afterParen := strings.HasSuffix(b.String(), ")")
			beforeParen := strings.HasPrefix(text, "(")
			switch {
			case !compact:
				b.WriteString(" " + keyword + " ")
			case keyword == "AND":
				if !afterParen && !beforeParen {
					b.WriteByte(' ')
				}
			default:
				if !afterParen {
					b.WriteByte(' ')
				}
				b.WriteString(keyword)
				if !beforeParen {
					b.WriteByte(' ')
				}
			}
		}
		b.WriteString(text)
	}
}

// Binding strength of the place an operand is written in.
const (
	inOr = iota
	inAnd
	inNot
)

// writeOperand writes an operand, parenthesising what binds more loosely than
// its place: an OR under AND or NOT, an AND under NOT. An unflattened list
// inside one of its own kind (hand-built) reads the same without them.
func writeOperand(b *strings.Builder, e Expr, place int, compact bool) {
	paren := false
	switch e.(type) {
	case *Or:
		paren = place >= inAnd
	case *And:
		paren = place >= inNot
	}
	if paren {
		b.WriteByte('(')
	}
	writeExpr(b, e, compact)
	if paren {
		b.WriteByte(')')
	}
}

func writeTerm(b *strings.Builder, t *Term) {
	op := opText(t.Op)
	value := t.Value
	if t.Op == OpPrefix {
		value += "*"
	}
	bare := t.Field + op + value
	// Re-lexing the bare form is the simplest way to be sure it means the
	// same term: values like "a*", "=5" or "x y" only survive quoted.
	if tok, ok := lexOne(bare); ok && tok.kind == tTerm && tok.field == t.Field && tok.op == t.Op && tok.text == t.Value {
		b.WriteString(bare)
		return
	}
	b.WriteString(t.Field)
	b.WriteString(op)
	writeQuoted(b, t.Value)
	// An OpPrefix value that cannot be written bare has no query syntax
	// (quoted values are never wildcards); Parse never builds one.
	if t.Op == OpPrefix {
		b.WriteByte('*')
	}
}

func writeWord(b *strings.Builder, text string) {
	if tok, ok := lexOne(text); ok && tok.kind == tWord && !tok.quoted && tok.text == text {
		b.WriteString(text)
		return
	}
	writeQuoted(b, text)
}

func opText(op Op) string {
	switch op {
	case OpGT:
		return ">"
	case OpGTE:
		return ">="
	case OpLT:
		return "<"
	case OpLTE:
		return "<="
	default: // OpEq, OpPrefix, and anything hand-built and invalid
		return ":"
	}
}

// writeQuoted quotes s with as few escapes as the lexer needs: '"' always, a
// backslash only where it would otherwise start an escape (before '"', '\'
// or the closing quote). Minimal escaping keeps the canonical form no longer
// than any quoting the user could have written.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			if i+1 == len(s) || s[i+1] == '"' || s[i+1] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// SyntaxError reports where a query is wrong.
type SyntaxError struct {
	Pos int    // 1-based character (rune) offset
	Msg string // what is wrong, fit to show the user
}

func (e *SyntaxError) Error() string {
	return "query: position " + strconv.Itoa(e.Pos) + ": " + e.Msg
}
