package ingest

// The generic json source's single pass: ParseJSON's result without the
// decoded tree. It takes the lines it can vouch for and leaves the others
// (bad JSON, a key twice in an object, names near the length limit, a bad
// @timestamp, deep nesting) to the tree reader, parseJSONTree, which says
// what is wrong; FuzzParseJSONFast checks that both give the same fields.

import (
	"bytes"
	"errors"

	"github.com/minixdr/xdr/appliance"
)

// errNotSimple stops the single pass: the line goes to the tree reader.
var errNotSimple = errors.New("left to the tree reader")

// parseJSONFast is ParseJSON's single pass; ok is false when the line is
// left to the tree reader.
func parseJSONFast(line []byte) (Parsed, bool) {
	b, p, err := beginSensor(line, 0)
	// A line of at most 2*maxFields bytes cannot have more than maxFields
	// fields (each takes at least two bytes), so only names need checking.
	if err != nil || len(b) > 2*maxFields {
		return Parsed{}, false
	}
	in := sensorInterns.Get().(*sensorIntern)
	d := sensorFlat{b: b, out: p.Fields, key: in.buf[:0], intern: in.m, vals: in.vals, strict: true}
	ok := d.jsonObject(&p)
	in.buf = d.key[:0]
	sensorInterns.Put(in)
	if !ok {
		releaseFields(p.Fields)
		return Parsed{}, false
	}
	normaliseOutcome(p.Fields)
	return p, true
}

// jsonObject stores the ECS members of the top-level object into d.out and
// reads its @timestamp: plain keys first, then dotted ones, as ParseJSON.
func (d *sensorFlat) jsonObject(p *Parsed) (ok bool) {
	defer func() {
		if recover() != nil { // as in sensorFlatten: b is valid JSON
			ok = false
		}
	}()
	b := d.b
	var seenArr [32][]byte
	var dottedArr [8]int
	seen, dotted := seenArr[:0], dottedArr[:0] // where the dotted members start
	i := sensorWS(b, 1)
	if b[i] == '}' {
		return true
	}
	for {
		ke, key := sensorKey(b, i)
		vs := sensorWS(b, sensorWS(b, ke)+1)
		for _, k := range seen {
			if bytes.Equal(k, key) {
				return false // a key twice: the tree keeps the last one
			}
		}
		seen = append(seen, key)
		var end int
		switch {
		case bytes.IndexByte(key, '.') >= 0:
			dotted = append(dotted, i)
			end = sensorSkip(b, vs)
		case d.isJSONField(key):
			var err error
			if end, err = d.jsonMember(key, vs, p); err != nil {
				return false
			}
		default:
			end = sensorSkip(b, vs)
		}
		// Names inside a member kept in the original only are not built,
		// but the tree reader checks their length: none can be longer than
		// the key and the value's bytes.
		if len(key)+end-vs >= maxFieldName {
			return false
		}
		i = sensorWS(b, end)
		if b[i] != ',' {
			break
		}
		i = sensorWS(b, i+1)
	}
	for _, s := range dotted {
		ke, key := sensorKey(b, s)
		if d.isJSONField(key) {
			if _, err := d.jsonMember(key, sensorWS(b, sensorWS(b, ke)+1), p); err != nil {
				return false
			}
		}
	}
	return true
}

// isJSONField reports whether a top-level key becomes fields: @timestamp or
// a member of an ECS group.
func (d *sensorFlat) isJSONField(key []byte) bool {
	if string(key) == appliance.FieldTimestamp {
		return true
	}
	group, _, _ := bytes.Cut(key, []byte("."))
	return ecsGroups[string(group)]
}

// jsonMember takes the value at b[vs] of a key isJSONField accepts and
// returns the index after it.
func (d *sensorFlat) jsonMember(key []byte, vs int, p *Parsed) (int, error) {
	if string(key) == appliance.FieldTimestamp {
		if c := d.b[vs]; c == '{' || c == '[' || c == 'n' {
			return 0, errNotSimple
		}
		v, _, end := sensorScalarAt(d.b, vs)
		ts, err := parseTime(v)
		if err != nil {
			return 0, errNotSimple
		}
		p.Timestamp = ts
		return end, nil
	}
	d.key = append(d.key[:0], key...)
	return d.value(vs, 1, false)
}
