package pages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// TimeLayout is how event times are shown.
const TimeLayout = "2006-01-02 15:04:05.000 UTC"

// MaxMessageRunes is the longest message shown in the results table,
// including the trailing "…" of a truncated one.
const MaxMessageRunes = 160

// EventRowFromDoc builds a results row from a stored event document: a JSON
// object with flat dotted keys ("id", "source", "@timestamp", "event.action",
// "event.outcome", "source.ip", "user.name", "host.name", "message", ...).
// Missing fields are "". The time is shown in UTC as TimeLayout (a value
// that is not RFC 3339 is shown as it is), the message is cut to
// MaxMessageRunes, and DetailURL is "/events/<id>" ("" without an id).
func EventRowFromDoc(doc []byte) (EventRow, error) {
	m, err := decodeDoc(doc)
	if err != nil {
		return EventRow{}, err
	}
	row := EventRow{
		ID:       text(m["id"]),
		Time:     showTime(text(m["@timestamp"])),
		Source:   text(m["source"]),
		Action:   text(m["event.action"]),
		Outcome:  text(m["event.outcome"]),
		SourceIP: text(m["source.ip"]),
		User:     text(m["user.name"]),
		Host:     text(m["host.name"]),
		Message:  Truncate(text(m["message"]), MaxMessageRunes),
	}
	if row.ID != "" {
		row.DetailURL = "/events/" + url.PathEscape(row.ID)
	}
	return row, nil
}

// fieldsFirst are shown first on the detail page, in this order.
var fieldsFirst = []string{"id", "@timestamp", "received", "source", "tenant"}

// EventDetailFromDoc builds the detail page of a stored event document.
// Fields holds every top-level key except "original": fieldsFirst in that
// order, then the rest alphabetically; strings are shown as they are, other
// values as compact JSON. Original is the "original" value indented by two
// spaces, or the string itself when it is a JSON string (a raw line).
func EventDetailFromDoc(chrome Chrome, doc []byte, backURL string) (EventDetailVM, error) {
	m, err := decodeDoc(doc)
	if err != nil {
		return EventDetailVM{}, err
	}
	names := make([]string, 0, len(m))
	for k := range m {
		if k != "original" {
			names = append(names, k)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		ra, rb := rank(a), rank(b)
		if ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	vm := EventDetailVM{
		Chrome:  chrome,
		ID:      text(m["id"]),
		Fields:  make([]Field, 0, len(names)),
		BackURL: backURL,
	}
	for _, k := range names {
		vm.Fields = append(vm.Fields, Field{Name: k, Value: text(m[k])})
	}
	if orig := m["original"]; isString(orig) {
		vm.Original = text(orig)
	} else if len(orig) > 0 && string(orig) != "null" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, orig, "", "  "); err != nil {
			return EventDetailVM{}, fmt.Errorf("pages: event original: %w", err)
		}
		vm.Original = buf.String()
	}
	return vm, nil
}

// rank orders fieldsFirst before every other name.
func rank(name string) int {
	if i := slices.Index(fieldsFirst, name); i >= 0 {
		return i
	}
	return len(fieldsFirst)
}

// decodeDoc decodes a JSON object into its top-level values.
func decodeDoc(doc []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("pages: event document: %w", err)
	}
	if m == nil {
		return nil, errors.New("pages: event document is null, not an object")
	}
	return m, nil
}

func isString(v json.RawMessage) bool { return len(v) > 0 && v[0] == '"' }

// text shows a JSON value: a string as itself, a missing value or null as "",
// anything else (numbers, booleans, arrays, objects) as compact JSON.
func text(v json.RawMessage) string {
	switch {
	case len(v) == 0 || string(v) == "null":
		return ""
	case isString(v):
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil {
		return string(v)
	}
	return buf.String()
}

// showTime formats an RFC 3339 time in UTC as TimeLayout; anything else is
// returned unchanged so the analyst still sees what was stored.
func showTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format(TimeLayout)
}

// Truncate cuts s to at most n runes, the last being "…" when it was cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n-1]), unicode.IsSpace) + "…"
}
