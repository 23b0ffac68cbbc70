package query

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tErr         // a lexical error; the parser reports it when it reaches it
	tLParen
	tRParen
	tAnd
	tOr
	tNot
	tMinus // a leading '-': NOT for the term that follows
	tWord
	tTerm
)

type token struct {
	kind   tokKind
	off    int    // byte offset of the token (of the error for tErr)
	text   string // tWord: the word; tTerm: the value; tErr: the message
	field  string // tTerm
	op     Op     // tTerm
	quoted bool   // tWord, tTerm: written in quotes
}

// lexer splits a query into tokens. It never fails outright: an error becomes
// a tErr token so that the parser reports whichever problem comes first.
type lexer struct {
	src string
	pos int
}

// lexOne lexes s and reports its first token and whether s holds nothing
// else. String uses it to decide whether text can be written unquoted.
func lexOne(s string) (token, bool) {
	lx := lexer{src: s}
	tok := lx.next()
	if tok.kind == tErr || tok.kind == tEOF {
		return tok, false
	}
	return tok, lx.next().kind == tEOF
}

func (lx *lexer) next() token {
	lx.skipSpace()
	start := lx.pos
	if start >= len(lx.src) {
		return token{kind: tEOF, off: start}
	}
	switch c := lx.src[start]; c {
	case '(':
		lx.pos++
		return token{kind: tLParen, off: start}
	case ')':
		lx.pos++
		return token{kind: tRParen, off: start}
	case '"':
		text, err := lx.quoted()
		if err.kind == tErr {
			return err
		}
		return token{kind: tWord, off: start, text: text, quoted: true}
	case '-':
		lx.pos++
		if lx.atDelimiter() {
			return lx.errAt(start, `expected a term after "-"`)
		}
		return token{kind: tMinus, off: start}
	}

	if end := lx.fieldEnd(start); end > start && end < len(lx.src) && isOpChar(lx.src[end]) {
		return lx.term(start, end)
	}

	end, bad := lx.runEnd(start)
	if bad {
		return lx.errAt(end, `unexpected '"' inside a word; quote the whole phrase`)
	}
	lx.pos = end
	word := lx.src[start:end]
	switch word {
	case "AND":
		return token{kind: tAnd, off: start}
	case "OR":
		return token{kind: tOr, off: start}
	case "NOT":
		return token{kind: tNot, off: start}
	}
	return token{kind: tWord, off: start, text: word}
}

// term lexes field, operator and value; the field is src[start:fieldEnd].
func (lx *lexer) term(start, fieldEnd int) token {
	field := lx.src[start:fieldEnd]
	var op Op
	i := fieldEnd
	switch lx.src[i] {
	case ':':
		op = OpEq
		i++
	case '>':
		op = OpGT
		i++
		if i < len(lx.src) && lx.src[i] == '=' {
			op = OpGTE
			i++
		}
	case '<':
		op = OpLT
		i++
		if i < len(lx.src) && lx.src[i] == '=' {
			op = OpLTE
			i++
		}
	}
	lx.pos = i
	if lx.atDelimiter() || lx.src[i] == '(' {
		return lx.errAt(i, `expected a value after "`+lx.src[start:i]+`"`)
	}
	if lx.src[i] == '"' {
		value, err := lx.quoted()
		if err.kind == tErr {
			return err
		}
		return token{kind: tTerm, off: start, field: field, op: op, text: value, quoted: true}
	}
	end, bad := lx.runEnd(i)
	if bad {
		return lx.errAt(end, `unexpected '"' inside a value; quote the whole value`)
	}
	lx.pos = end
	value := lx.src[i:end]
	if op == OpEq && strings.HasSuffix(value, "*") {
		op, value = OpPrefix, value[:len(value)-1]
	}
	return token{kind: tTerm, off: start, field: field, op: op, text: value}
}

// quoted lexes a quoted string starting at lx.pos. Only \" and \\ are
// escapes; any other backslash is literal, because Windows paths are the
// commonest thing people quote.
func (lx *lexer) quoted() (string, token) {
	open := lx.pos
	i := open + 1
	var b *strings.Builder // only when there is an escape to undo
	segment := i
	for i < len(lx.src) {
		switch lx.src[i] {
		case '"':
			var s string
			if b == nil {
				s = lx.src[segment:i]
			} else {
				b.WriteString(lx.src[segment:i])
				s = b.String()
			}
			lx.pos = i + 1
			if !lx.atDelimiter() && lx.src[lx.pos] != '(' {
				return "", lx.errAt(lx.pos, "unexpected text right after a closing quote; separate terms with a space")
			}
			return s, token{}
		case '\\':
			if i+1 < len(lx.src) && (lx.src[i+1] == '"' || lx.src[i+1] == '\\') {
				if b == nil {
					b = &strings.Builder{}
				}
				b.WriteString(lx.src[segment:i])
				segment = i + 1 // keep the escaped character, drop the backslash
				i += 2
				continue
			}
		}
		i++
	}
	lx.pos = len(lx.src)
	return "", lx.errAt(len(lx.src), "unterminated quoted string starting at position "+strconv.Itoa(runePos(lx.src, open)))
}

func (lx *lexer) errAt(off int, msg string) token {
	lx.pos = len(lx.src) // nothing after an error is lexed
	return token{kind: tErr, off: off, text: msg}
}

func (lx *lexer) skipSpace() {
	for lx.pos < len(lx.src) {
		r, n := utf8.DecodeRuneInString(lx.src[lx.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		lx.pos += n
	}
}

// atDelimiter reports whether lx.pos is at the end, a space or a ')': a place
// where nothing that needs an operand can stop.
func (lx *lexer) atDelimiter() bool {
	if lx.pos >= len(lx.src) {
		return true
	}
	if lx.src[lx.pos] == ')' {
		return true
	}
	r, _ := utf8.DecodeRuneInString(lx.src[lx.pos:])
	return unicode.IsSpace(r)
}

// runEnd finds the end of an unquoted word or value starting at i: the next
// space, parenthesis or end. bad reports a '"' found first, at end.
func (lx *lexer) runEnd(i int) (end int, bad bool) {
	for i < len(lx.src) {
		c := lx.src[i]
		switch c {
		case '(', ')':
			return i, false
		case '"':
			return i, true
		}
		if c < utf8.RuneSelf {
			if asciiSpace(c) {
				return i, false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(lx.src[i:])
		if unicode.IsSpace(r) {
			return i, false
		}
		i += n
	}
	return i, false
}

// fieldEnd returns the end of the field name starting at i, or i when there
// is none.
func (lx *lexer) fieldEnd(i int) int {
	start := i
	for i < len(lx.src) {
		r, n := utf8.DecodeRuneInString(lx.src[i:])
		if !isFieldRune(r, i == start) {
			break
		}
		i += n
	}
	return i
}

func isFieldRune(r rune, first bool) bool {
	switch {
	case r == '_' || r == '@':
		return true
	case r == '.' || r == '-' || unicode.IsDigit(r):
		return !first
	case r == utf8.RuneError:
		return false
	}
	return unicode.IsLetter(r)
}

func isOpChar(c byte) bool { return c == ':' || c == '>' || c == '<' }

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// runePos converts a byte offset into the 1-based rune position SyntaxError
// reports.
func runePos(s string, off int) int {
	if off > len(s) {
		off = len(s)
	}
	return utf8.RuneCountInString(s[:off]) + 1
}
