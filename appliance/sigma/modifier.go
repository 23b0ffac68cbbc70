package sigma

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Modifiers of the Sigma specification. Transformations rewrite the values
// in the order written; the others choose how values compare.
var modifierKinds = map[string]string{
	"contains": "compare", "startswith": "compare", "endswith": "compare",
	"re": "compare", "cidr": "compare", "lt": "compare", "lte": "compare", "gt": "compare", "gte": "compare",
	"exists": "compare", "fieldref": "compare",
	"all": "flag", "cased": "flag", "i": "reflag", "m": "reflag", "s": "reflag",
	"ignorecase": "reflag", "multiline": "reflag", "dotall": "reflag",
	"base64": "transform", "base64offset": "transform", "utf16le": "transform", "utf16be": "transform",
	"utf16": "transform", "wide": "transform", "windash": "transform", "expand": "transform",
}

// checkModifiers refuses unknown modifiers and combinations without meaning,
// at parse time, so a bad rule is reported on import.
func checkModifiers(fs *fieldSpec) error {
	var compares []string
	re := false
	for _, m := range fs.mods {
		kind, ok := modifierKinds[m]
		if !ok {
			return fmt.Errorf("unknown modifier %q", m)
		}
		switch kind {
		case "compare":
			if m == "contains" && len(compares) == 1 && (compares[0] == "fieldref") {
				compares = append(compares, m)
				continue
			}
			compares = append(compares, m)
		case "reflag":
			if !re {
				return fmt.Errorf("modifier %q is a regular expression flag: it must follow |re", m)
			}
		}
		if m == "re" {
			re = true
		}
	}
	cmp := ""
	switch len(compares) {
	case 0:
	case 1:
		cmp = compares[0]
	default:
		if !(compares[0] == "fieldref" && len(compares) == 2 && isAnchorModifier(compares[1])) {
			return fmt.Errorf("modifiers %s cannot be combined", strings.Join(compares, " and "))
		}
	}
	switch cmp {
	case "exists":
		if len(fs.values) != 1 || !fs.values[0].boolean {
			return fmt.Errorf("|exists takes true or false")
		}
		if len(fs.mods) != 1 {
			return fmt.Errorf("|exists takes no other modifier")
		}
	case "lt", "lte", "gt", "gte":
		for _, v := range fs.values {
			if _, err := strconv.ParseFloat(v.s, 64); err != nil || v.null {
				return fmt.Errorf("|%s compares numbers: %q is not a number", cmp, v.s)
			}
		}
	case "cidr":
		for _, v := range fs.values {
			if _, err := netip.ParsePrefix(v.s); err != nil {
				return fmt.Errorf("|cidr: %q is not a CIDR network", v.s)
			}
		}
	}
	if fs.field == "" && (cmp == "exists" || cmp == "fieldref") {
		return fmt.Errorf("|%s needs a field", cmp)
	}
	return nil
}

func isAnchorModifier(m string) bool {
	return m == "contains" || m == "startswith" || m == "endswith"
}

// valueSpec is what the modifiers of a field spec decide.
type valueSpec struct {
	compare    string // "", contains, startswith, endswith, re, cidr, lt…, exists, fieldref
	anchor     string // with fieldref: contains, startswith or endswith
	all, cased bool
	reFlags    string
	transforms []string
}

func specOf(fs *fieldSpec) valueSpec {
	var vs valueSpec
	for _, m := range fs.mods {
		switch modifierKinds[m] {
		case "compare":
			if vs.compare == "fieldref" {
				vs.anchor = m
			} else {
				vs.compare = m
			}
		case "reflag":
			vs.reFlags += m[:1]
		case "transform":
			vs.transforms = append(vs.transforms, m)
		case "flag":
			if m == "all" {
				vs.all = true
			} else {
				vs.cased = true
			}
		}
	}
	return vs
}

// expandValues applies the transformations to one value: the result is one
// or more patterns, any of which may match.
func expandValues(v rawValue, vs valueSpec, placeholders map[string][]string) ([]pattern, error) {
	pats := []pattern{parsePattern(v.s)}
	for _, t := range vs.transforms {
		var next []pattern
		for _, p := range pats {
			out, err := transform(t, p, placeholders)
			if err != nil {
				return nil, err
			}
			next = append(next, out...)
		}
		if len(next) > maxVariants {
			return nil, fmt.Errorf("|%s expands %q into more than %d values", t, v.s, maxVariants)
		}
		pats = next
	}
	return pats, nil
}

const maxVariants = 4096

func transform(t string, p pattern, placeholders map[string][]string) ([]pattern, error) {
	switch t {
	case "base64":
		return []pattern{literalPattern(base64.StdEncoding.EncodeToString([]byte(p.text())))}, nil
	case "base64offset":
		return base64Offsets(p.text()), nil
	case "utf16le", "wide", "utf16":
		return []pattern{literalPattern(utf16Bytes(p.text(), false, t == "utf16"))}, nil
	case "utf16be":
		return []pattern{literalPattern(utf16Bytes(p.text(), true, false))}, nil
	case "windash":
		return windash(p)
	case "expand":
		return expandPlaceholders(p, placeholders)
	}
	return nil, fmt.Errorf("unknown transformation %q", t)
}

// base64Offsets gives the three encodings of s as it may sit at any offset
// within a longer base64 text, with the characters that depend on the
// neighbours cut off (the Sigma base64offset definition).
func base64Offsets(s string) []pattern {
	start := [3]int{0, 2, 3}
	endTrim := [3]int{0, 3, 2}
	out := make([]pattern, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + s))
		end := len(enc) - endTrim[(len(s)+i)%3]
		if start[i] >= end {
			continue
		}
		out = append(out, literalPattern(enc[start[i]:end]))
	}
	return out
}

// utf16Bytes encodes s as UTF-16 (bom: with a little-endian byte order mark).
func utf16Bytes(s string, bigEndian, bom bool) string {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(units)+2)
	if bom {
		b = append(b, 0xff, 0xfe)
	}
	for _, u := range units {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return string(b)
}

// windashChars are the characters Windows command lines accept where a
// dash introduces an option.
var windashChars = []string{"-", "/", "–", "—", "―"}

// windash expands every dash or slash that starts an option (preceded by
// a non-word character or the start, followed by a word character) into all
// the windashChars, in every combination.
func windash(p pattern) ([]pattern, error) {
	out := []pattern{nil}
	prevWord := false // the character before is a word character
	for pi, part := range p {
		if part.wild != 0 {
			for i := range out {
				out[i] = append(out[i], part)
			}
			prevWord = false
			continue
		}
		cur := []string{""} // the variants of this literal so far
		s := part.lit
		for i := 0; i < len(s); i++ {
			c := s[i]
			nextWord := false
			if i+1 < len(s) {
				nextWord = isWordByte(s[i+1])
			} else if pi+1 < len(p) && p[pi+1].wild == 0 && p[pi+1].lit != "" {
				nextWord = isWordByte(p[pi+1].lit[0])
			}
			if (c == '-' || c == '/') && !prevWord && nextWord {
				if len(cur)*len(windashChars) > maxVariants {
					return nil, fmt.Errorf("|windash gives more than %d values", maxVariants)
				}
				var next []string
				for _, v := range cur {
					for _, d := range windashChars {
						next = append(next, v+d)
					}
				}
				cur = next
			} else {
				for j := range cur {
					cur[j] += s[i : i+1]
				}
			}
			prevWord = isWordByte(c)
		}
		if len(out)*len(cur) > maxVariants {
			return nil, fmt.Errorf("|windash gives more than %d values", maxVariants)
		}
		var next []pattern
		for _, o := range out {
			for _, v := range cur {
				q := append(append(pattern(nil), o...), patPart{lit: v})
				next = append(next, q)
			}
		}
		out = next
	}
	return out, nil
}

func isWordByte(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c >= 0x80
}

// expandPlaceholders replaces %name% in literal text with each of the
// placeholder's values. An unknown placeholder is an empty set: the value
// matches nothing (documented in docs/detection.md).
func expandPlaceholders(p pattern, placeholders map[string][]string) ([]pattern, error) {
	out := []pattern{nil}
	for _, part := range p {
		if part.wild != 0 {
			for i := range out {
				out[i] = append(out[i], part)
			}
			continue
		}
		variants := []string{""}
		s := part.lit
		for {
			i := strings.IndexByte(s, '%')
			j := -1
			if i >= 0 {
				j = strings.IndexByte(s[i+1:], '%')
			}
			if i < 0 || j < 0 {
				for k := range variants {
					variants[k] += s
				}
				break
			}
			name := s[i+1 : i+1+j]
			vals := placeholders[name]
			if len(variants)*len(vals) > maxVariants {
				return nil, fmt.Errorf("|expand: placeholders give more than %d values", maxVariants)
			}
			var next []string
			for _, v := range variants {
				for _, r := range vals {
					next = append(next, v+s[:i]+r)
				}
			}
			variants = next
			s = s[i+2+j:]
		}
		if len(out)*len(variants) > maxVariants {
			return nil, fmt.Errorf("|expand: placeholders give more than %d values", maxVariants)
		}
		var next []pattern
		for _, o := range out {
			for _, v := range variants {
				next = append(next, append(append(pattern(nil), o...), parsePattern(v)...))
			}
		}
		out = next
	}
	return out, nil
}

// compileRegexp compiles a |re value. Sigma's regular expressions are
// PCRE-like; Go's RE2 refuses look-around and back-references, and the
// rule is then reported as not compiling.
func compileRegexp(expr, flags string) (*regexp.Regexp, error) {
	if flags != "" {
		expr = "(?" + flags + ")" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("|re: %v", err)
	}
	return re, nil
}
