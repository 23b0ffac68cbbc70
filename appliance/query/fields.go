package query

import (
	"encoding/json"
	"strings"
	"sync"
)

// DocFields adapts a decoded stored document (a map from encoding/json or
// goccy/go-json Unmarshal into map[string]any, numbers as float64 or
// json.Number) plus its raw bytes to Fields. When raw is nil, Text marshals
// doc on first use.
//
// The result caches the lower-cased text, so evaluating several queries
// against one document (as a rule engine does) lowers it once. It is safe for
// concurrent use as long as nobody modifies doc or raw.
func DocFields(doc map[string]any, raw []byte) Fields {
	return &docFields{doc: doc, raw: raw}
}

type docFields struct {
	doc map[string]any

	textOnce sync.Once
	raw      []byte

	lowerOnce sync.Once
	lower     string
}

func (d *docFields) Lookup(field string) []any {
	var out []any
	d.visit(field, func(v any) bool {
		out = append(out, v)
		return false
	})
	return out
}

func (d *docFields) Text() []byte {
	d.textOnce.Do(func() {
		if d.raw == nil && d.doc != nil {
			d.raw, _ = json.Marshal(d.doc) // unmarshalled data always marshals
		}
	})
	return d.raw
}

func (d *docFields) lowerText() string {
	d.lowerOnce.Do(func() { d.lower = strings.ToLower(string(d.Text())) })
	return d.lower
}

// visit calls fn with each value of field until fn returns true, and reports
// whether it did. Match uses it to stop at the first matching value and to
// avoid building the slice Lookup returns.
func (d *docFields) visit(field string, fn func(any) bool) bool {
	if d.doc == nil {
		return false
	}
	return visitMap(d.doc, field, fn)
}

// visitPath visits the values found by following path from v. At every map it
// tries the longest remaining dotted key first, then shorter ones, using all
// that exist: the stored document has flat keys like "source.ip" at the top,
// and sources like zeek put dotted keys ("id.orig_h") inside the original.
// Each branch ends at a distinct node of the document, so the work stays
// proportional to the document, however the keys are crafted.
func visitPath(v any, path string, fn func(any) bool) bool {
	if path == "" {
		return visitValue(v, fn)
	}
	switch x := v.(type) {
	case map[string]any:
		return visitMap(x, path, fn)
	case []any:
		for _, e := range x {
			if visitPath(e, path, fn) {
				return true
			}
		}
	}
	return false
}

func visitMap(m map[string]any, path string, fn func(any) bool) bool {
	end := len(path)
	for {
		if child, ok := m[path[:end]]; ok {
			rest := ""
			if end < len(path) {
				rest = path[end+1:]
			}
			if visitPath(child, rest, fn) {
				return true
			}
		}
		i := strings.LastIndexByte(path[:end], '.')
		if i < 0 {
			return false
		}
		end = i
	}
}

// visitValue visits v, flattening arrays; null is absent, not a value.
func visitValue(v any, fn func(any) bool) bool {
	switch x := v.(type) {
	case nil:
		return false
	case []any:
		for _, e := range x {
			if visitValue(e, fn) {
				return true
			}
		}
		return false
	case []string:
		for _, e := range x {
			if fn(e) {
				return true
			}
		}
		return false
	}
	return fn(v)
}
