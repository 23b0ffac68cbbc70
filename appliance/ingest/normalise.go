package ingest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/minixdr/xdr/appliance"
)

// Parsed is one input line turned into normalised fields. Timestamp is zero
// when the line carries none (receive time is used then).
type Parsed struct {
	Timestamp time.Time
	Fields    map[string]any // flat ECS dotted names -> string, float64, bool or []any of those
	Original  []byte         // JSON: the parsed object, or the raw line as a JSON string
}

// Parser turns one line of a source into a Parsed event. received is when
// the line arrived: sources whose timestamps lack a year or a zone (BSD
// syslog) resolve them against it. The error message is shown to the sender
// with the line number, so it says what is wrong.
type Parser func(line []byte, received time.Time) (Parsed, error)

// ecsGroups are the top-level ECS field sets lifted out of generic JSON into
// normalised fields. Other keys stay in the original only.
var ecsGroups = map[string]bool{
	"agent": true, "client": true, "cloud": true, "container": true, "destination": true, "dns": true,
	"error": true, "event": true, "file": true, "group": true, "host": true, "http": true, "log": true,
	"network": true, "observer": true, "process": true, "registry": true, "related": true, "rule": true,
	"server": true, "service": true, "source": true, "threat": true, "tls": true, "url": true,
	"user": true, "user_agent": true, "vulnerability": true, "winlog": true,
	"message": true, "tags": true, "labels": true,
}

const maxDepth = 16

// ParseJSON is the parser of the generic "json" source: one JSON object per
// line; ECS-shaped content (nested or dotted keys) becomes normalised fields,
// @timestamp (RFC 3339, or epoch seconds/milliseconds) the event time.
// Most lines take a single pass (json_fast.go); the rest, and every line
// with something wrong, are read into a tree first.
func ParseJSON(line []byte) (Parsed, error) {
	if p, ok := parseJSONFast(line); ok {
		return p, nil
	}
	return parseJSONTree(line)
}

// parseJSONTree is ParseJSON by way of the decoded tree.
func parseJSONTree(line []byte) (Parsed, error) {
	obj, err := decodeObject(line)
	if err != nil {
		return Parsed{}, err
	}
	var fields int
	if err := checkNames(0, obj, 0, &fields); err != nil {
		return Parsed{}, err
	}
	p := Parsed{Fields: newFields(16), Original: bytes.TrimSpace(line)}
	if !utf8.Valid(p.Original) {
		// Stored documents are valid UTF-8, as JSON requires.
		p.Original = bytes.ToValidUTF8(p.Original, []byte("\uFFFD"))
	}
	// Plain keys first, dotted keys second (at every level), so that when a
	// nested and a dotted key name the same field the dotted one wins, every
	// time, whatever the map's order.
	for _, dotted := range [2]bool{false, true} {
		for k, v := range obj {
			if strings.Contains(k, ".") != dotted {
				continue
			}
			if k == appliance.FieldTimestamp {
				ts, err := parseTime(v)
				if err != nil {
					return Parsed{}, err
				}
				p.Timestamp = ts
				continue
			}
			group, _, _ := strings.Cut(k, ".")
			if ecsGroups[group] {
				if err := flatten(p.Fields, k, v, 0); err != nil {
					return Parsed{}, err
				}
			}
		}
	}
	normaliseOutcome(p.Fields)
	return p, nil
}

// decodeObject decodes a line holding exactly one JSON object. The line is
// stored verbatim as the event's original, so anything after the object
// (a stray bracket could otherwise splice JSON into the stored document) is
// refused. The fast path is a plain Unmarshal of a line that is valid JSON;
// anything else takes the streaming decoder, which says what is wrong.
func decodeObject(line []byte) (map[string]any, error) {
	var obj map[string]any
	valid := json.Valid(line)
	if valid {
		if err := json.Unmarshal(line, &obj); err == nil {
			if obj == nil {
				return nil, fmt.Errorf("not a JSON object: null")
			}
			return obj, nil
		}
		obj = nil
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("not a JSON object: %s", jsonErrorText(err))
	}
	if obj == nil {
		return nil, fmt.Errorf("not a JSON object: null")
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value on the line")
	}
	if !valid {
		return nil, fmt.Errorf("unexpected characters after the JSON object")
	}
	return obj, nil
}

func jsonErrorText(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// Bounds on what one line may become: objects nested under long keys
// repeat those keys in every field name, so without them a 1 MiB line could
// turn into gigabytes of names.
const (
	maxFieldName = 1024
	maxFields    = 10_000
)

// checkNames refuses an object whose flattened field names would be too
// long or too many, before anything is built from it.
func checkNames(prefix int, v any, depth int, fields *int) error {
	m, ok := v.(map[string]any)
	if !ok || depth > maxDepth {
		*fields++
		if *fields > maxFields {
			return fmt.Errorf("more than %d fields", maxFields)
		}
		return nil
	}
	for k, sub := range m {
		n := prefix + len(k)
		if prefix > 0 {
			n++ // the dot
		}
		if n > maxFieldName {
			return fmt.Errorf("field name of %d bytes (under %q) is longer than %d bytes", n, truncate(k, 32), maxFieldName)
		}
		if err := checkNames(n, sub, depth+1, fields); err != nil {
			return err
		}
	}
	return nil
}

// flatten stores v under key, descending into objects with dotted names.
func flatten(out map[string]any, key string, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("field %q nests deeper than %d levels", truncate(key, 64), maxDepth)
	}
	switch v := v.(type) {
	case map[string]any:
		for _, dotted := range [2]bool{false, true} { // as in ParseJSON
			for k, sub := range v {
				if strings.Contains(k, ".") != dotted {
					continue
				}
				if err := flatten(out, key+"."+k, sub, depth+1); err != nil {
					return err
				}
			}
		}
	case []any:
		vals := make([]any, 0, len(v))
		for _, e := range v {
			if s, ok := scalar(e); ok {
				vals = append(vals, s)
			}
		}
		out[key] = vals
	default:
		if s, ok := scalar(v); ok {
			out[key] = s
		}
	}
	return nil
}

// scalar converts a decoded JSON scalar to its stored form.
func scalar(v any) (any, bool) {
	switch v := v.(type) {
	case string, bool:
		return v, true
	case json.Number:
		if f, err := v.Float64(); err == nil && !math.IsInf(f, 0) {
			if f == 0 {
				f = 0 // -0 is stored, indexed and matched as 0
			}
			return f, true
		}
		return v.String(), true
	case float64:
		if v == 0 {
			v = 0 // -0 too, whichever decoder read it
		}
		return v, true
	}
	return nil, false
}

// Field maps are the largest allocation of parsing (a Windows event's is a
// few KiB, which the collector must also scan). The ingest path hands each
// back once its event is built (releaseFields), and the parsers take their
// next one from there, already grown.
var fieldMaps sync.Pool

// maxPooledFields is the most fields a map handed back may hold. Clearing
// a map costs its capacity, not its length, so a large one (a Suricata
// stats event has over 400 fields) is left to the collector rather than
// cleared again for every small event after it. 64 holds most events of
// every source (Suricata's median is 50) and measured a little faster than
// 128.
const maxPooledFields = 64

// newFields returns an empty field map for about hint fields.
func newFields(hint int) map[string]any {
	if m, ok := fieldMaps.Get().(map[string]any); ok {
		return m
	}
	return make(map[string]any, hint)
}

// releaseFields hands back a Parsed's map once nothing refers to it.
func releaseFields(m map[string]any) {
	if m == nil || len(m) > maxPooledFields {
		return
	}
	clear(m)
	fieldMaps.Put(m)
}

// smallNumbers are the field values 0 to 255, boxed once: codes and
// priorities are stored without an allocation each.
var smallNumbers = func() (t [256]any) {
	for i := range t {
		t[i] = float64(i)
	}
	return t
}()

// number is n as a field value.
func number(n int) any {
	if n >= 0 && n < len(smallNumbers) {
		return smallNumbers[n]
	}
	return float64(n)
}

func normaliseOutcome(f map[string]any) {
	s, ok := f["event.outcome"].(string)
	if !ok {
		return
	}
	switch appliance.ToLower(s) {
	case "success", "succeeded", "ok", "accepted", "allowed":
		f["event.outcome"] = "success"
	case "failure", "failed", "fail", "denied", "rejected", "error":
		f["event.outcome"] = "failure"
	default:
		f["event.outcome"] = "unknown"
	}
}

var (
	minTime = time.Unix(0, 0)
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC) // int64 nanoseconds end in 2262
)

// parseTime accepts RFC 3339 text or a number of epoch seconds (or
// milliseconds, when the number is too large to be seconds).
func parseTime(v any) (time.Time, error) {
	var t time.Time
	switch v := v.(type) {
	case string:
		var err error
		t, err = time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return t, fmt.Errorf("@timestamp %q is not an RFC 3339 time", truncate(v, 64))
		}
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return t, fmt.Errorf("@timestamp %s is not a number", truncate(v.String(), 64))
		}
		return parseTime(f)
	case float64:
		millis := v > 1e11 // past year 5138 as seconds: it is milliseconds
		switch {
		case v == math.Trunc(v) && math.Abs(v) < 1<<53 && millis:
			t = time.UnixMilli(int64(v)) // integers exactly, without float rounding
		case v == math.Trunc(v) && math.Abs(v) < 1<<53:
			t = time.Unix(int64(v), 0)
		default:
			if millis {
				v /= 1000
			}
			sec, frac := math.Modf(v)
			t = time.Unix(int64(sec), int64(frac*1e9))
		}
	default:
		return t, fmt.Errorf("@timestamp must be an RFC 3339 string or epoch number")
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return t, fmt.Errorf("@timestamp %s is outside 1970-2261", t.UTC().Format(time.RFC3339))
	}
	return t.UTC(), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// header is what the ingest path knows about a line beyond its content.
type header struct {
	tenant, source string
	received       time.Time
}

// docBuilder renders the stored documents and index terms of a batch's
// events. Its scratch space is reused from event to event, and the
// documents and terms are carved from blocks shared by many events, so a
// batch makes a few large allocations instead of several per event (the
// blocks live as long as the batch's command, which is encoded and dropped).
type docBuilder struct {
	buf      []byte
	shape    []shapeField // sorted fields of the last event rendered
	terms    []appliance.Term
	docs     []byte           // block the next documents are carved from
	termSlab []appliance.Term // block the next events' terms are carved from
	recvAt   time.Time        // received time rendered in recvText
	recvText []byte
}

// Block sizes grow from small (a one-line request stays cheap) to large.
const (
	minDocBlock  = 4 << 10
	maxDocBlock  = 256 << 10
	maxTermBlock = 4096
)

// keepDoc copies the rendered document into the current block.
func (d *docBuilder) keepDoc(doc []byte) []byte {
	if len(doc) > maxDocBlock/4 {
		return bytes.Clone(doc)
	}
	if cap(d.docs)-len(d.docs) < len(doc) {
		d.docs = make([]byte, 0, min(max(2*cap(d.docs), minDocBlock), maxDocBlock))
	}
	start := len(d.docs)
	d.docs = append(d.docs, doc...)
	return d.docs[start:len(d.docs):len(d.docs)]
}

// keepTerms copies the event's terms into the current block.
func (d *docBuilder) keepTerms(terms []appliance.Term) []appliance.Term {
	if cap(d.termSlab)-len(d.termSlab) < len(terms) {
		d.termSlab = make([]appliance.Term, 0, min(max(2*cap(d.termSlab), 64, len(terms)), max(maxTermBlock, len(terms))))
	}
	start := len(d.termSlab)
	d.termSlab = append(d.termSlab, terms...)
	return d.termSlab[start:len(d.termSlab):len(d.termSlab)]
}

// received returns h.received as the document shows it, rendered once per
// batch.
func (d *docBuilder) received(t time.Time) []byte {
	if d.recvText == nil || !t.Equal(d.recvAt) || t.Location() != d.recvAt.Location() {
		d.recvAt, d.recvText = t, t.AppendFormat(d.recvText[:0], time.RFC3339Nano)
	}
	return d.recvText
}

// buildEvent renders the stored document and the index terms of one event.
func buildEvent(h header, id appliance.EventID, p Parsed, d *docBuilder) (appliance.Event, error) {
	ts := p.Timestamp
	if ts.IsZero() {
		ts = h.received
	}
	var idText [32]byte
	hex.Encode(idText[:], id[:])
	buf := append(d.buf[:0], `{"id":"`...)
	buf = append(buf, idText[:]...)
	buf = append(buf, `","tenant":`...)
	buf = appendString(buf, h.tenant)
	buf = append(buf, `,"source":`...)
	buf = appendString(buf, h.source)
	buf = append(buf, `,"@timestamp":"`...)
	buf = ts.AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","received":"`...)
	buf = append(buf, d.received(h.received)...)
	buf = append(buf, '"')
	terms := append(d.terms[:0], appliance.Term{Field: appliance.FieldSource, Value: appliance.IndexValue(h.source)})
	var err error
	if buf, terms, err = d.appendFields(buf, terms, p.Fields); err != nil {
		d.buf = buf
		return appliance.Event{}, err
	}
	buf = append(buf, `,"original":`...)
	buf = append(buf, p.Original...)
	buf = append(buf, '}')
	d.buf, d.terms = buf, terms
	return appliance.Event{ID: id, Timestamp: ts, Doc: d.keepDoc(buf), Terms: d.keepTerms(terms)}, nil
}

// shapeField is one field of an event's shape (its set of field names),
// with what rendering it needs: its key in JSON and whether it is indexed.
type shapeField struct {
	name    string
	key     []byte // ,"name":
	indexed bool
}

// appendFields renders the fields of f in name order and their index terms.
// Consecutive events of a source mostly have the same field names, so the
// last event's shape is tried first: when every one of its names is in f
// and f has no others, the names need neither sorting nor escaping.
func (d *docBuilder) appendFields(buf []byte, terms []appliance.Term, f map[string]any) ([]byte, []appliance.Term, error) {
	if len(d.shape) == len(f) {
		out, outTerms, ok, err := appendShape(buf, terms, d.shape, f)
		if ok || err != nil {
			return out, outTerms, err
		}
		// Another shape: what was appended past buf and terms is redone.
	}
	d.setShape(f)
	buf, terms, _, err := appendShape(buf, terms, d.shape, f)
	return buf, terms, err
}

// appendShape renders the fields of shape from f; ok is false when one is
// missing from f.
func appendShape(buf []byte, terms []appliance.Term, shape []shapeField, f map[string]any) (_ []byte, _ []appliance.Term, ok bool, err error) {
	for i := range shape {
		sf := &shape[i]
		v, found := f[sf.name]
		if !found {
			return buf, terms, false, nil
		}
		buf = append(buf, sf.key...)
		if buf, err = appendValue(buf, v); err != nil {
			return buf, terms, false, fmt.Errorf("field %q: %w", sf.name, err)
		}
		if sf.indexed {
			terms = appendTerms(terms, sf.name, v)
		}
	}
	return buf, terms, true, nil
}

// setShape makes f's field names, less the reserved ones, the current shape.
func (d *docBuilder) setShape(f map[string]any) {
	names := make([]string, 0, len(f))
	for k := range f {
		switch k {
		case appliance.FieldID, appliance.FieldTenant, appliance.FieldSource, appliance.FieldReceived, appliance.FieldOriginal:
			continue // reserved: the stored shape owns these names
		}
		names = append(names, k)
	}
	slices.Sort(names)
	shape := make([]shapeField, len(names))
	ends := make([]int, len(names))
	var keys []byte
	for i, k := range names {
		keys = append(appendString(append(keys, ','), k), ':')
		ends[i] = len(keys)
		shape[i] = shapeField{name: k, indexed: appliance.IsIndexed(k)}
	}
	start := 0
	for i, end := range ends {
		shape[i].key = keys[start:end:end]
		start = end
	}
	d.shape = shape
}

func appendTerms(terms []appliance.Term, field string, v any) []appliance.Term {
	if list, ok := v.([]any); ok {
		for _, e := range list {
			terms = appendTerms(terms, field, e)
		}
		return terms
	}
	return append(terms, appliance.Term{Field: field, Value: appliance.IndexValue(appliance.IndexText(v))})
}

func appendValue(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		buf = appendString(buf, v)
	case float64:
		buf = appliance.AppendFloat(buf, v)
	case bool:
		buf = strconv.AppendBool(buf, v)
	case []any:
		buf = append(buf, '[')
		for i, e := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, e); err != nil {
				return buf, err
			}
		}
		buf = append(buf, ']')
	default:
		return buf, fmt.Errorf("unsupported value type %T", v)
	}
	return buf, nil
}

// appendString writes s as a JSON string, replacing invalid UTF-8.
func appendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, `\n`...)
			case '\r':
				buf = append(buf, `\r`...)
			case '\t':
				buf = append(buf, `\t`...)
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// jsonSafe marks the ASCII bytes a JSON string holds as they are: not
// control characters, quotes or backslashes, and not <, > or & (escaped as
// encoding/json does, so a document is safe inside HTML).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
