package sigma

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Event is one stored event prepared for matching: its fields read once,
// string values kept with their lower-cased form. It is immutable after
// NewEvent (the original's fields are read on first need, safely), so one
// Event may be matched by several goroutines.
type Event struct {
	doc    string
	fields []evField

	// ID, Source and Time are the stored event's id, source and
	// @timestamp (zero when absent).
	ID, Source string
	Time       time.Time

	// Read once for the rule index.
	windows          bool   // a Windows event (has winlog.channel)
	channel, dataset string // winlog.channel, event.dataset
	eventID          int    // winlog.event_id

	origSpan [2]int // the original's JSON in doc; [0,0] if none
	origOnce sync.Once
	orig     []evField // the original flattened to "original.<path>" keys
}

type evField struct {
	key string
	v   evValue
}

type valueKind uint8

const (
	kString valueKind = iota
	kNumber
	kBool
	kNull
	kList
)

// evValue is one field value. s is the text form (a number as written in
// the document, a boolean as true/false). Match lower-cases only the
// values a rule evaluates (withLow).
type evValue struct {
	s    string
	list []evValue
	// While a document is read: an unescaped string's place in the
	// scanner's arena.
	off, n  int32
	kind    valueKind
	inArena bool
}

// Limits on a document: events come from the store, which bounds them, but
// NewEvent must not trust its input.
const (
	maxEventDepth  = 64
	maxEventFields = 100_000
)

// NewEvent reads a stored event document: flat dotted ECS keys plus
// "original", the event as received (docs/ingest.md). Nested objects outside
// "original" are flattened to dotted keys too, so a plain JSON object works.
func NewEvent(doc []byte) (*Event, error) {
	e := &Event{}
	scratch := readScratch.Get().(*eventScratch)
	defer scratch.release()
	if err := e.read(string(doc), nil, scratch, false); err != nil {
		return nil, err
	}
	return e, nil
}

// read reads doc into e (a zero Event). Its fields go into fields' memory
// when given (MatchDocument reuses it), else into a new slice sized like
// the last document's (documents of a batch look alike, so it rarely
// grows); unescaped strings into scratch's arena. The values refer to doc
// and to a copy of the arena, or, borrowed, to the arena itself: the
// event is then valid only until scratch is released, unless detached.
func (e *Event) read(doc string, fields []evField, scratch *eventScratch, borrowed bool) error {
	e.doc = doc
	work := fields[:0]
	if fields == nil {
		work = make([]evField, 0, scratch.fields+4)
	}
	sc := scanner{s: e.doc, arena: scratch.arena[:0]}
	defer func() { scratch.fields, scratch.arena = len(work), sc.arena }()
	sc.skipSpace()
	if sc.peek() != '{' {
		return fmt.Errorf("event document: want a JSON object at offset %d", sc.i)
	}
	if err := sc.object("", 0, &work, func(key string, start int) (bool, error) {
		if key != "original" {
			return false, nil
		}
		// Kept as raw JSON: flattened only if a rule needs it. A string
		// original (a text source's line) is a field, for keyword search.
		if sc.peek() == '"' {
			return false, nil
		}
		if err := sc.skipOriginal(); err != nil {
			return true, err
		}
		e.origSpan = [2]int{start, sc.i}
		return true, nil
	}); err != nil {
		e.fields = work // for MatchDocument to clear
		return fmt.Errorf("event document: %w", err)
	}
	e.fields = work
	sc.skipSpace()
	if sc.i != len(sc.s) {
		return fmt.Errorf("event document: unexpected data after the object at offset %d", sc.i)
	}
	sc.finish(work, borrowed)
	for _, f := range e.fields {
		switch f.key {
		case "id":
			e.ID = f.v.s
		case "source":
			e.Source = f.v.s
		case "winlog.channel":
			e.windows, e.channel = true, f.v.s
		case "winlog.event_id":
			e.eventID, _ = strconv.Atoi(f.v.s)
		case "event.dataset":
			e.dataset = f.v.s
		case "@timestamp":
			if t, err := time.Parse(time.RFC3339Nano, f.v.s); err == nil {
				e.Time = t
			}
		}
	}
	return nil
}

// detach gives an event read borrowed (MatchDocument) its own copies of
// the document and of the arena: every string pointing into either moves
// to the copy, so the event outlives the caller's bytes and the scratch.
// The original, if flattened, is flattened again from the copy on need.
func (e *Event) detach(arena []byte) {
	doc, ownDoc := e.doc, strings.Clone(e.doc)
	ownArena := string(arena)
	rebase := func(s string) string {
		if s == "" {
			return s
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		if d := p - uintptr(unsafe.Pointer(unsafe.StringData(doc))); doc != "" && d < uintptr(len(doc)) {
			return ownDoc[d : int(d)+len(s)]
		}
		if d := p - uintptr(unsafe.Pointer(unsafe.SliceData(arena))); len(arena) > 0 && d < uintptr(len(arena)) {
			return ownArena[d : int(d)+len(s)]
		}
		return s // a constant or a string of its own
	}
	var fix func(v *evValue)
	fix = func(v *evValue) {
		v.s = rebase(v.s)
		for i := range v.list {
			fix(&v.list[i])
		}
	}
	for i := range e.fields {
		e.fields[i].key = rebase(e.fields[i].key)
		fix(&e.fields[i].v)
	}
	e.ID, e.Source, e.channel, e.dataset = rebase(e.ID), rebase(e.Source), rebase(e.channel), rebase(e.dataset)
	e.doc = ownDoc
	e.orig, e.origOnce = nil, sync.Once{}
}

// eventScratch is a reader's reused memory.
type eventScratch struct {
	fields int // how many the last document had
	arena  []byte
}

var readScratch = sync.Pool{New: func() any { return &eventScratch{fields: 28} }}

func (s *eventScratch) release() {
	if cap(s.arena) <= 1<<20 {
		s.arena = s.arena[:0]
		readScratch.Put(s)
	}
}

// original returns the original's fields as "original.<path>" keys.
func (e *Event) original() []evField {
	e.origOnce.Do(func() {
		if e.origSpan[1] == 0 {
			return
		}
		sc := scanner{s: e.doc[:e.origSpan[1]], i: e.origSpan[0]}
		// A malformed original (NewEvent only skipped over it) keeps the
		// fields read before the error: rules see what there is.
		switch sc.peek() {
		case '{':
			_ = sc.object("original", 1, &e.orig, nil)
		case '[':
			_ = sc.value("original", 1, &e.orig)
		}
		sc.finish(e.orig, false)
	})
	return e.orig
}

// Field returns the text of a field of the stored document (a dotted key,
// or "original.<path>"), and whether it is present and not null. A list
// gives its elements joined by commas.
func (e *Event) Field(name string) (string, bool) {
	v := e.lookup(name)
	if v == nil || v.kind == kNull {
		return "", false
	}
	if v.kind == kList {
		parts := make([]string, 0, len(v.list))
		for _, x := range v.list {
			parts = append(parts, x.s)
		}
		return strings.Join(parts, ","), true
	}
	return v.s, true
}

func (e *Event) lookup(name string) *evValue {
	for i := range e.fields {
		if e.fields[i].key == name {
			return &e.fields[i].v
		}
	}
	if strings.HasPrefix(name, "original.") {
		orig := e.original()
		for i := range orig {
			if orig[i].key == name {
				return &orig[i].v
			}
		}
	}
	return nil
}

// scanner reads JSON from s, flattening objects into dotted keys.
type scanner struct {
	s     string
	i     int
	arena []byte // decoded escaped strings (read once finished)
}

func (sc *scanner) peek() byte {
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

func (sc *scanner) skipSpace() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", sc.i, fmt.Sprintf(format, args...))
}

// object reads an object at sc.i into out with keys under prefix. hook, if
// set, may consume a top-level member's value itself (returning true).
func (sc *scanner) object(prefix string, depth int, out *[]evField, hook func(key string, start int) (bool, error)) error {
	if depth > maxEventDepth {
		return sc.errorf("nested deeper than %d", maxEventDepth)
	}
	sc.i++ // {
	sc.skipSpace()
	if sc.peek() == '}' {
		sc.i++
		return nil
	}
	for {
		sc.skipSpace()
		if sc.peek() != '"' {
			return sc.errorf("want a member name")
		}
		key, err := sc.str()
		if err != nil {
			return err
		}
		sc.skipSpace()
		if sc.peek() != ':' {
			return sc.errorf("want ':' after member name")
		}
		sc.i++
		sc.skipSpace()
		if prefix != "" {
			key = prefix + "." + key
		}
		done := false
		if hook != nil {
			if done, err = hook(key, sc.i); err != nil {
				return err
			}
		}
		if !done {
			if err := sc.value(key, depth+1, out); err != nil {
				return err
			}
		}
		sc.skipSpace()
		switch sc.peek() {
		case ',':
			sc.i++
		case '}':
			sc.i++
			return nil
		default:
			return sc.errorf("want ',' or '}'")
		}
	}
}

// value reads any value; objects flatten into out, others become a field.
func (sc *scanner) value(key string, depth int, out *[]evField) error {
	n := len(*out)
	if n >= maxEventFields {
		return sc.errorf("more than %d fields", maxEventFields)
	}
	if sc.peek() == '{' {
		return sc.object(key, depth, out, nil)
	}
	// Read in place: an evValue is large, copies of it cost.
	*out = append(*out, evField{key: key})
	if err := sc.scalarOrList(depth, &(*out)[n].v); err != nil {
		*out = (*out)[:n]
		return err
	}
	return nil
}

// scalarOrList reads a value other than an object into v (zero).
func (sc *scanner) scalarOrList(depth int, v *evValue) error {
	if depth > maxEventDepth {
		return sc.errorf("nested deeper than %d", maxEventDepth)
	}
	switch c := sc.peek(); {
	case c == '"':
		return sc.strValue(v)
	case c == '[':
		sc.i++
		v.kind = kList
		sc.skipSpace()
		if sc.peek() == ']' {
			sc.i++
			return nil
		}
		var list []evValue
		for {
			sc.skipSpace()
			if sc.peek() == '{' {
				// Objects in lists carry nothing a field can name: skip.
				if err := sc.skipValue(depth + 1); err != nil {
					return err
				}
			} else {
				list = append(list, evValue{})
				e := &list[len(list)-1]
				if err := sc.scalarOrList(depth+1, e); err != nil {
					return err
				}
				if e.kind == kList {
					list = append(list[:len(list)-1], e.list...)
				}
			}
			sc.skipSpace()
			switch sc.peek() {
			case ',':
				sc.i++
			case ']':
				sc.i++
				v.list = list
				return nil
			default:
				return sc.errorf("want ',' or ']'")
			}
		}
	case c == 't' && strings.HasPrefix(sc.s[sc.i:], "true"):
		sc.i += 4
		v.kind, v.s = kBool, "true"
		return nil
	case c == 'f' && strings.HasPrefix(sc.s[sc.i:], "false"):
		sc.i += 5
		v.kind, v.s = kBool, "false"
		return nil
	case c == 'n' && strings.HasPrefix(sc.s[sc.i:], "null"):
		sc.i += 4
		v.kind = kNull
		return nil
	case c == '-' || ('0' <= c && c <= '9'):
		start := sc.i
		for sc.i < len(sc.s) && strings.IndexByte("+-0123456789.eE", sc.s[sc.i]) >= 0 {
			sc.i++
		}
		num := sc.s[start:sc.i]
		if !validNumber(num) {
			return sc.errorf("invalid number %q", num)
		}
		v.kind, v.s = kNumber, num
		return nil
	}
	return sc.errorf("want a value")
}

// skipOriginal moves past the original: an object or array by its
// strings and brackets alone (the grammar between them is checked when
// original reads it, if a rule ever needs it), anything else as a value.
func (sc *scanner) skipOriginal() error {
	if c := sc.peek(); c != '{' && c != '[' {
		return sc.skipValue(1)
	}
	var open [maxEventDepth]byte
	depth := 0
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; c {
		case '"':
			if err := sc.skipString(); err != nil {
				return err
			}
			continue
		case '{', '[':
			if depth == len(open) {
				return sc.errorf("nested deeper than %d", maxEventDepth)
			}
			open[depth] = c
			depth++
		case '}', ']':
			if depth == 0 || open[depth-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
				return sc.errorf("unbalanced %q", c)
			}
			if depth--; depth == 0 {
				sc.i++
				return nil
			}
		}
		sc.i++
	}
	return sc.errorf("unterminated original")
}

// skipValue moves past one value without keeping it, checking its syntax.
func (sc *scanner) skipValue(depth int) error {
	if depth > maxEventDepth {
		return sc.errorf("nested deeper than %d", maxEventDepth)
	}
	switch sc.peek() {
	case '{':
		return sc.object("", depth, nil, func(string, int) (bool, error) {
			return true, sc.skipValue(depth + 1)
		})
	case '"':
		return sc.skipString()
	}
	var v evValue
	return sc.scalarOrList(depth, &v)
}

func (sc *scanner) skipString() error {
	sc.i++
	for {
		j := strings.IndexByte(sc.s[sc.i:], '"')
		if j < 0 {
			sc.i = len(sc.s)
			return sc.errorf("unterminated string")
		}
		sc.i += j + 1
		// The quote ends the string unless an odd run of backslashes
		// escapes it.
		bs := 0
		for k := sc.i - 2; k >= 0 && sc.s[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			return nil
		}
	}
}

// quoteOrEscape is the offset in s of its first '"' or '\\', or -1.
func quoteOrEscape(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return -1
}

// str reads a JSON string at sc.i (a member name). Stored documents are
// valid JSON: the fast path only looks for the closing quote and escapes.
func (sc *scanner) str() (string, error) {
	sc.i++
	start := sc.i
	j := strings.IndexByte(sc.s[start:], '"')
	if j < 0 {
		return "", sc.errorf("unterminated string")
	}
	if k := strings.IndexByte(sc.s[start:start+j], '\\'); k >= 0 {
		sc.i = start + k
		b, err := sc.unescape(start, nil)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	sc.i = start + j + 1
	return sc.s[start : start+j], nil
}

// strValue reads a string value: a substring of the document, or, with
// escapes, decoded into the arena (one allocation per document, in finish).
func (sc *scanner) strValue(v *evValue) error {
	sc.i++
	start := sc.i
	j := strings.IndexByte(sc.s[start:], '"')
	if j < 0 {
		return sc.errorf("unterminated string")
	}
	v.kind = kString
	if k := strings.IndexByte(sc.s[start:start+j], '\\'); k >= 0 {
		sc.i = start + k
		off := len(sc.arena)
		var err error
		if sc.arena, err = sc.unescape(start, sc.arena); err != nil {
			return err
		}
		v.off, v.n, v.inArena = int32(off), int32(len(sc.arena)-off), true
		return nil
	}
	sc.i = start + j + 1
	v.s = sc.s[start : start+j]
	return nil
}

// finish gives the values read from the arena their final strings: in a
// copy of the arena (one allocation per document), or, borrowed, in the
// arena itself. Values are not lower-cased here: Match lower-cases only
// the few fields a rule evaluates (matchState.get), and the prefilter's
// automata fold case as they scan.
func (sc *scanner) finish(fields []evField, borrowed bool) {
	if len(sc.arena) == 0 {
		return
	}
	var arena string
	if borrowed {
		arena = unsafe.String(unsafe.SliceData(sc.arena), len(sc.arena))
	} else {
		arena = string(sc.arena)
	}
	var fix func(v *evValue)
	fix = func(v *evValue) {
		if v.inArena {
			v.s, v.inArena = arena[v.off:v.off+v.n], false
		}
		for i := range v.list {
			fix(&v.list[i])
		}
	}
	for i := range fields {
		fix(&fields[i].v)
	}
}

// appendLower appends strings.ToLower(s): ASCII in place after a copy,
// anything else through the library.
func appendLower(dst []byte, s string) []byte {
	start := len(dst)
	dst = append(dst, s...)
	seg := dst[start:]
	for i, c := range seg {
		if c >= utf8.RuneSelf {
			return append(dst[:start], strings.ToLower(s)...)
		}
		if 'A' <= c && c <= 'Z' {
			seg[i] = c + 'a' - 'A'
		}
	}
	return dst
}

// unescape decodes the string from start (sc.i at its first backslash)
// to its closing quote, appending to dst.
func (sc *scanner) unescape(start int, b []byte) ([]byte, error) {
	b = append(b, sc.s[start:sc.i]...)
	for sc.i < len(sc.s) {
		// Copy the run up to the next quote or backslash at once (a
		// byte loop: runs are short, path components between backslashes).
		j := quoteOrEscape(sc.s[sc.i:])
		if j < 0 {
			break
		}
		b = append(b, sc.s[sc.i:sc.i+j]...)
		sc.i += j
		if sc.s[sc.i] == '"' {
			sc.i++
			return b, nil
		}
		if sc.i+1 >= len(sc.s) {
			break
		}
		esc := sc.s[sc.i+1]
		sc.i += 2
		switch esc {
		case '"', '\\', '/':
			b = append(b, esc)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := sc.hex4()
			if !ok {
				return b, sc.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if strings.HasPrefix(sc.s[sc.i:], `\u`) {
					sc.i += 2
					if lo, ok := sc.hex4(); ok {
						r2 = utf16.DecodeRune(r, lo)
					}
				}
				r = r2
			}
			b = utf8.AppendRune(b, r)
		default:
			return b, sc.errorf("invalid escape \\%c", esc)
		}
	}
	return b, sc.errorf("unterminated string")
}

func (sc *scanner) hex4() (rune, bool) {
	if sc.i+4 > len(sc.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(sc.s[sc.i:sc.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	sc.i += 4
	return rune(n), true
}

// validNumber checks a JSON number cheaply: integers (the usual case)
// directly, anything else with ParseFloat.
func validNumber(n string) bool {
	d := n
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if d == "" {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			_, err := strconv.ParseFloat(n, 64)
			return err == nil
		}
	}
	return true
}
