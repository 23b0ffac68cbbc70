package query

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// number keeps integers exact: event IDs and counters above 2^53 must not
// compare equal to their neighbours just because float64 cannot tell them
// apart.
type number struct {
	f     float64
	i     int64
	isInt bool
}

func (a number) cmp(b number) int {
	if a.isInt && b.isInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	switch {
	case a.f < b.f:
		return -1
	case a.f > b.f:
		return 1
	}
	return 0
}

func floatNumber(f float64) number {
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return number{f: f, i: int64(f), isInt: true}
	}
	return number{f: f}
}

// parseNumber accepts decimal numbers as JSON writes them (plus a leading
// '+'). It is stricter than strconv.ParseFloat on purpose: "0x10", "Inf" and
// "1_000" are words, not numbers, in an event.
func parseNumber(s string) (number, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i, digits = i+1, digits+1
	}
	integral := true
	if i < len(s) && s[i] == '.' {
		integral = false
		i++
		for i < len(s) && isDigit(s[i]) {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return number{}, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		integral = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && isDigit(s[i]) {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return number{}, false
		}
	}
	if i != len(s) {
		return number{}, false
	}
	if integral {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return number{f: float64(n), i: n, isInt: true}, true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return number{}, false
	}
	return floatNumber(f), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// numberOf reads a document value as a number: JSON numbers in their decoded
// forms, Go integers from hand-built documents, and numeric strings (sources
// often quote ports and event codes).
func numberOf(v any) (number, bool) {
	switch x := v.(type) {
	case float64:
		return floatNumber(x), !math.IsNaN(x) // NaN would compare equal to everything
	case json.Number:
		return parseNumber(string(x))
	case string:
		return parseNumber(x)
	case float32:
		return numberOf(float64(x))
	case int:
		return number{f: float64(x), i: int64(x), isInt: true}, true
	case int64:
		return number{f: float64(x), i: x, isInt: true}, true
	case int32:
		return number{f: float64(x), i: int64(x), isInt: true}, true
	case uint64:
		if x > math.MaxInt64 {
			return number{f: float64(x)}, true
		}
		return number{f: float64(x), i: int64(x), isInt: true}, true
	case uint32:
		return number{f: float64(x), i: int64(x), isInt: true}, true
	case uint:
		return numberOf(uint64(x))
	}
	return number{}, false
}

// stringOf is the text form of a scalar document value; false for null,
// maps and anything else without one.
func stringOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return formatFloat(x), true
	case float32:
		return formatFloat(float64(x)), true
	case int, int64, int32, uint64, uint32, uint:
		n, _ := numberOf(x)
		if !n.isInt {
			return formatFloat(n.f), true
		}
		return strconv.FormatInt(n.i, 10), true
	}
	return "", false
}

// formatFloat writes a float the way encoding/json does, so that a prefix
// query sees the same digits as the stored document.
func formatFloat(f float64) string {
	if n := floatNumber(f); n.isInt && math.Abs(f) < 1e21 {
		return strconv.FormatInt(n.i, 10)
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// parseTime reads an RFC 3339 time (fractional seconds optional) or a bare
// YYYY-MM-DD date as midnight UTC.
func parseTime(s string) (time.Time, bool) {
	// Cheap rejection first: most strings compared are not times at all.
	if len(s) < 10 || !isDigit(s[0]) || s[4] != '-' {
		return time.Time{}, false
	}
	if len(s) == 10 {
		t, err := time.Parse(time.DateOnly, s)
		return t, err == nil
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// hasPrefixFold is strings.HasPrefix under Unicode simple case folding,
// without lower-casing copies of either side.
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(prefix)
		if !equalFoldRune(r1, r2) {
			return false
		}
		s, prefix = s[n1:], prefix[n2:]
	}
	return true
}

func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return lowerASCII(a) == lowerASCII(b)
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}
