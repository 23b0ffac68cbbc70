package sigma

import (
	"strings"
	"unicode/utf8"
)

// A pattern is a Sigma string value: literal text with * (any run of
// characters) and ? (one character) wildcards. In rules, \* \? and \\ are
// escapes for the literal characters; a backslash before anything else is
// itself literal (so Windows paths need no doubling).
type pattern []patPart

// patPart is a literal run, or a wildcard when wild is '*' or '?'.
type patPart struct {
	lit  string
	wild byte
}

// parsePattern reads a value written in a rule, with wildcards and escapes.
func parsePattern(s string) pattern {
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p = append(p, patPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			lit.WriteByte(s[i+1])
			i++
		case c == '*' || c == '?':
			flush()
			if c == '*' && len(p) > 0 && p[len(p)-1].wild == '*' {
				continue // ** is *
			}
			p = append(p, patPart{wild: c})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return p
}

// literalPattern is text without wildcards, e.g. an encoded value.
func literalPattern(s string) pattern {
	if s == "" {
		return nil
	}
	return pattern{{lit: s}}
}

// text is the pattern with its wildcards as plain characters, the input of
// encoding modifiers (base64, utf16), which leave no wildcards behind.
func (p pattern) text() string {
	var b strings.Builder
	for _, part := range p {
		if part.wild != 0 {
			b.WriteByte(part.wild)
		} else {
			b.WriteString(part.lit)
		}
	}
	return b.String()
}

// wrap adds a leading and/or trailing * (contains, startswith, endswith).
func (p pattern) wrap(lead, trail bool) pattern {
	out := make(pattern, 0, len(p)+2)
	if lead && (len(p) == 0 || p[0].wild != '*') {
		out = append(out, patPart{wild: '*'})
	}
	out = append(out, p...)
	if trail && (len(out) == 0 || out[len(out)-1].wild != '*') {
		out = append(out, patPart{wild: '*'})
	}
	return out
}

func (p pattern) lower() pattern {
	out := make(pattern, len(p))
	for i, part := range p {
		out[i] = part
		out[i].lit = strings.ToLower(part.lit)
	}
	return out
}

// matchParts matches s against p, backtracking only to the last * (the
// classic linear-ish wildcard algorithm, on literal runs rather than bytes).
func matchParts(p pattern, s string) bool {
	pi, si := 0, 0
	starPi, starSi := -1, 0
	for {
		if pi < len(p) {
			part := p[pi]
			switch part.wild {
			case '*':
				starPi, starSi = pi, si
				pi++
				continue
			case '?':
				if si < len(s) {
					_, size := utf8.DecodeRuneInString(s[si:])
					si += size
					pi++
					continue
				}
			default:
				if strings.HasPrefix(s[si:], part.lit) {
					// The last literal after a * must end the string: try
					// it at the end directly.
					if pi == len(p)-1 && starPi >= 0 {
						return strings.HasSuffix(s[si:], part.lit)
					}
					si += len(part.lit)
					pi++
					continue
				}
			}
		} else if si == len(s) || (len(p) > 0 && p[len(p)-1].wild == '*') {
			return true
		}
		if starPi < 0 || starSi >= len(s) {
			return false
		}
		// Let the last * take one more character; skip to where the next
		// literal can start.
		_, size := utf8.DecodeRuneInString(s[starSi:])
		starSi += size
		if next := starPi + 1; next < len(p) && p[next].wild == 0 {
			k := strings.Index(s[starSi:], p[next].lit)
			if k < 0 {
				return false
			}
			starSi += k
		}
		pi, si = starPi+1, starSi
	}
}
