package ingest

// sensorFlatten: one pass over a sensor line into flat fields.

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	json "github.com/goccy/go-json"
)

// sensorFlatten stores the object b (valid JSON) under prefix as flat dotted
// names, like flatten, but keeps what flatten drops: an array of objects
// becomes one list per key inside the objects (as a search engine flattens
// object arrays), so {"answers":[{"rdata":"a"},{"rdata":"b"}]} gives
// answers.rdata ["a","b"]; arrays nested in arrays are flattened into their
// parent's list; null is left out. Within an object, plain keys are stored
// before dotted ones, so a dotted key wins over the nested one naming the
// same field, as in ParseJSON. Nesting deeper than maxDepth is an error.
// On the way it sets top[i] to the raw JSON of the top-level member named
// names[i], as sensorTop does.
func sensorFlatten(b []byte, prefix string, out map[string]any, names []string, top [][]byte) (err error) {
	in := sensorInterns.Get().(*sensorIntern)
	defer func() {
		// b is valid JSON, so the scanner stays within it; should json.Valid
		// ever accept what the scanner does not expect, the line is refused
		// rather than the process brought down.
		if r := recover(); r != nil {
			err = errors.New("malformed JSON object")
			in = &sensorIntern{m: map[string]string{}, vals: map[string]any{}}
		}
		sensorInterns.Put(in)
	}()
	d := sensorFlat{b: b, out: out, key: in.buf[:0], intern: in.m, vals: in.vals, names: names, top: top}
	d.key = append(d.key, prefix...)
	_, err = d.value(0, 0, false)
	in.buf = d.key[:0]
	return err
}

type sensorFlat struct {
	b      []byte
	out    map[string]any
	key    []byte // the dotted name of the current value
	intern map[string]string
	vals   map[string]any
	names  []string // top-level members to capture into top
	top    [][]byte
	// strict reads as ParseJSON's tree walk (flatten) does, for the json
	// source's single pass: an array keeps its scalars only, and what that
	// walk could read otherwise (a key twice in an object, a name past
	// maxFieldName) stops the pass with errNotSimple.
	strict bool
}

// sensorIntern keeps the field names seen lately, so that the names every
// line of a source has are not allocated again for each line. One per P
// in practice (a sync.Pool), bounded in size: when full it starts afresh,
// so names that stopped coming do not keep out those that come now.
type sensorIntern struct {
	m    map[string]string
	vals map[string]any // short string values, boxed
	buf  []byte
}

const (
	maxSensorInterned, maxSensorInternLen = 4096, 96
	// Short string values repeat (protocols, states, names): they are kept
	// boxed, so storing one allocates nothing.
	maxSensorInternedVals, maxSensorInternValLen = 4096, 24
)

var sensorInterns = sync.Pool{New: func() any {
	return &sensorIntern{m: make(map[string]string, 256), vals: make(map[string]any, 256), buf: make([]byte, 0, 256)}
}}

// internValue returns s boxed: from vals when a short s is there, else
// copied (so that it keeps no line alive) and kept there. Storing a boxed
// string in a field map then allocates nothing.
func internValue(vals map[string]any, s string) any {
	if len(s) > maxSensorInternValLen {
		return s
	}
	if v, ok := vals[s]; ok {
		return v
	}
	if len(vals) >= maxSensorInternedVals {
		clear(vals)
	}
	var v any = strings.Clone(s)
	vals[v.(string)] = v
	return v
}

// name is the current key as a string.
func (d *sensorFlat) name() string {
	if s, ok := d.intern[string(d.key)]; ok {
		return s
	}
	s := string(d.key)
	if len(s) <= maxSensorInternLen {
		if len(d.intern) >= maxSensorInterned {
			clear(d.intern)
		}
		d.intern[s] = s
	}
	return s
}

// value flattens the value at b[i] under d.key and returns the index after
// it. inList says that the value is inside an array, so its scalars are
// appended to lists.
func (d *sensorFlat) value(i, depth int, inList bool) (int, error) {
	if depth > maxDepth {
		return 0, fmt.Errorf("field %q nests deeper than %d levels", truncate(string(d.key), 128), maxDepth)
	}
	switch d.b[i] {
	case '{':
		return d.object(i, depth, inList)
	case '[':
		return d.array(i, depth, inList)
	}
	if d.b[i] == '"' {
		end, esc := sensorStrEnd(d.b, i)
		if inner := d.b[i+1 : end-1]; !esc && len(inner) <= maxSensorInternValLen {
			if v, ok := d.vals[string(inner)]; ok {
				d.put(v, inList)
				return end, nil
			}
			if utf8.Valid(inner) {
				var v any = string(inner)
				if len(d.vals) >= maxSensorInternedVals {
					clear(d.vals)
				}
				d.vals[v.(string)] = v
				d.put(v, inList)
				return end, nil
			}
		}
	}
	v, ok, end := sensorScalarAt(d.b, i)
	if ok {
		d.put(v, inList)
	}
	return end, nil
}

func (d *sensorFlat) put(v any, inList bool) {
	if !inList {
		d.out[d.name()] = v
		return
	}
	switch cur := d.out[string(d.key)].(type) {
	case nil:
		d.out[d.name()] = []any{v}
	case []any:
		d.out[d.name()] = append(cur, v)
	default:
		d.out[d.name()] = []any{cur, v}
	}
}

func (d *sensorFlat) object(i, depth int, inList bool) (int, error) {
	base := len(d.key)
	var dotted []int // where the members with a dotted key start
	i = sensorWS(d.b, i+1)
	if d.b[i] == '}' {
		return i + 1, nil
	}
	var seenArr [16][]byte
	seen := seenArr[:0]
	for {
		ke, key := sensorKey(d.b, i)
		vs := sensorWS(d.b, sensorWS(d.b, ke)+1)
		if d.strict {
			if len(d.key)+1+len(key) > maxFieldName {
				return 0, errNotSimple
			}
			for _, k := range seen {
				if bytes.Equal(k, key) {
					return 0, errNotSimple
				}
			}
			seen = append(seen, key)
		}
		var end int
		if bytes.IndexByte(key, '.') >= 0 {
			dotted = append(dotted, i)
			end = sensorSkip(d.b, vs)
		} else {
			d.key = append(append(d.key, '.'), key...)
			var err error
			if end, err = d.value(vs, depth+1, inList); err != nil {
				return 0, err
			}
			d.key = d.key[:base]
		}
		if depth == 0 {
			for n, name := range d.names {
				if string(key) == name {
					d.top[n] = d.b[vs:end]
				}
			}
		}
		i = sensorWS(d.b, end)
		if d.b[i] != ',' {
			break
		}
		i = sensorWS(d.b, i+1)
	}
	end := i + 1
	for _, s := range dotted {
		ke, key := sensorKey(d.b, s)
		d.key = append(append(d.key, '.'), key...)
		if _, err := d.value(sensorWS(d.b, sensorWS(d.b, ke)+1), depth+1, inList); err != nil {
			return 0, err
		}
		d.key = d.key[:base]
	}
	return end, nil
}

// sensorKey returns the index after the member key starting at b[i] and
// the key, decoded.
func sensorKey(b []byte, i int) (int, []byte) {
	end, esc := sensorStrEnd(b, i)
	key := b[i+1 : end-1]
	if esc || !utf8.Valid(key) {
		key = []byte(sensorStr(b[i:end], esc))
	}
	return end, key
}

func (d *sensorFlat) array(i, depth int, inList bool) (int, error) {
	i = sensorWS(d.b, i+1)
	if inList {
		if d.b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = d.value(i, depth+1, true); err != nil {
				return 0, err
			}
			i = sensorWS(d.b, i)
			if d.b[i] != ',' {
				return i + 1, nil
			}
			i = sensorWS(d.b, i+1)
		}
	}
	// Not in a list: the array's scalars are the list at this key, and its
	// objects and arrays then add to lists (their scalars to this one;
	// strict: they are left out).
	vals := []any{}
	var nested []int
	if d.b[i] != ']' {
		for {
			if c := d.b[i]; c == '{' || c == '[' {
				if !d.strict {
					nested = append(nested, i)
				}
				i = sensorSkip(d.b, i)
			} else {
				v, ok, end := sensorScalarAt(d.b, i)
				if ok {
					vals = append(vals, v)
				}
				i = end
			}
			i = sensorWS(d.b, i)
			if d.b[i] != ',' {
				break
			}
			i = sensorWS(d.b, i+1)
		}
	}
	if nested == nil || len(vals) > 0 || d.strict {
		d.out[d.name()] = vals
	}
	for _, s := range nested {
		if _, err := d.value(s, depth+1, true); err != nil {
			return 0, err
		}
	}
	return i + 1, nil
}

func sensorWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// sensorStrEnd returns the index after the string starting at b[i] (a
// quote) and whether it has escapes.
func sensorStrEnd(b []byte, i int) (end int, esc bool) {
	i++
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b), esc // not reached on valid JSON
		}
		bs := bytes.IndexByte(b[i:i+q], '\\')
		if bs < 0 {
			return i + q + 1, esc
		}
		esc = true
		i += bs + 2 // past the backslash and the character it escapes
	}
}

// sensorStr decodes the JSON string raw (with its quotes). Escapes and
// invalid UTF-8 are decoded by the JSON package, so the result is what
// decoding the line would give (invalid UTF-8 becomes U+FFFD).
func sensorStr(raw []byte, esc bool) string {
	inner := raw[1 : len(raw)-1]
	if !esc && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return string(bytes.ToValidUTF8(inner, []byte("\uFFFD"))) // not reached on valid JSON
	}
	return s
}

// sensorSkip returns the index after the value starting at b[i].
func sensorSkip(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := sensorStrEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i, _ = sensorStrEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// sensorScalarAt decodes the string, number, true, false or null at b[i]
// into its stored form, as scalar does with a decoded value: ok is false
// for null. end is the index after it.
func sensorScalarAt(b []byte, i int) (v any, ok bool, end int) {
	switch b[i] {
	case '"':
		end, esc := sensorStrEnd(b, i)
		return sensorStr(b[i:end], esc), true, end
	case 't':
		return sensorTrue, true, i + 4
	case 'f':
		return sensorFalse, true, i + 5
	case 'n':
		return nil, false, i + 4
	}
	end = sensorSkip(b, i)
	return sensorNum(b[i:end]), true, end
}

var (
	sensorTrue  any = true
	sensorFalse any = false
	sensorZero  any = float64(0)
	// sensorSmall are the boxed whole numbers 0-1023 (ports, counts, flags),
	// so that storing one allocates nothing.
	sensorSmall = func() (s [1024]any) {
		for i := range s {
			s[i] = float64(i)
		}
		return s
	}()
)

// sensorNum is the stored form of a JSON number: a float64, or its text
// when it is too large for one (as scalar does with a json.Number).
func sensorNum(raw []byte) any {
	// Whole numbers of up to 15 digits are exact in a float64.
	neg := len(raw) > 0 && raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	if len(digits) > 0 && len(digits) <= 15 {
		n := int64(0)
		whole := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				whole = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if whole {
			switch {
			case n == 0:
				return sensorZero // -0 is stored as 0
			case n < int64(len(sensorSmall)) && !neg:
				return sensorSmall[n]
			case neg:
				return -float64(n)
			}
			return float64(n)
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) {
		return string(raw)
	}
	if f == 0 {
		return sensorZero
	}
	return f
}
