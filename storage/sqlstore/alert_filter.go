package sqlstore

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minixdr/xdr/appliance/query"
)

// The alert query (docs/api.md) is evaluated in two steps: a SQL condition
// narrows the alerts read, then query.Match over alertFields decides. The
// SQL side never has to be exact, only never to drop an alert Match would
// keep, so a term it cannot express is simply left to Go. When every term
// translates exactly, the Go step is skipped.
//
// Each node of the query gets two conditions: sup, true for every alert the
// node matches (and maybe more), and sub, true only for alerts it matches
// (maybe fewer). NOT swaps them: NOT x holds at least where sub(x) fails and
// only where sup(x) fails. Every condition is NULL-free, so NOT is the
// complement.

// cond is a SQL boolean expression with its parameters.
type cond struct {
	sql  string
	args []any
}

var (
	condTrue  = cond{sql: "1"}
	condFalse = cond{sql: "0"}
)

// bounds are a node's two conditions; exact when they are the same.
type bounds struct {
	sup, sub cond
	exact    bool
}

func exactly(c cond) bounds { return bounds{sup: c, sub: c, exact: true} }

// unknown is a term SQL cannot judge: any alert may match it.
var unknown = bounds{sup: condTrue, sub: condFalse}

// alertString is a string field of the stored alert: col is a SQL
// expression for its value, never NULL, with ” for an absent field when
// omitEmpty (the JSON leaves the key out).
type alertString struct {
	col       string
	omitEmpty bool
	entity    string // for the entity aliases: the entity type
}

// alertStrings are the fields SQL can judge. source.ip, user.name and
// host.name are not keys of the alert document: they name the alert's
// entity of that type (an alert has at most one of each, from the event
// fields of the same names; appliance/detect/alerts.go), so that
// `source.ip:198.51.100.*` finds the alerts about those addresses.
var alertStrings = map[string]alertString{
	"id":         {col: "id"},
	"rule_id":    {col: "rule_id"},
	"severity":   {col: "severity"},
	"incident":   {col: "incident", omitEmpty: true},
	"rule_title": {col: "coalesce(json_extract(doc, '$.rule_title'), '')"},
	"source":     {col: "coalesce(json_extract(doc, '$.source'), '')", omitEmpty: true},
	"group_key":  {col: "coalesce(json_extract(doc, '$.group_key'), '')", omitEmpty: true},
	"source.ip":  {col: "ip", omitEmpty: true, entity: "ip"},
	"user.name":  {col: "user_name", omitEmpty: true, entity: "user"},
	"host.name":  {col: "host", omitEmpty: true, entity: "host"},
}

// alertArrays are the string-array fields of the stored alert, as JSON
// paths of the document.
var alertArrays = map[string]string{"attack": "$.attack", "tactics": "$.tactics"}

// alertEntityValue is entities.value: the values of the three entity
// columns.
const alertEntityValue = "entities.value"

// alertFilter translates a parsed alert query.
func alertFilter(e query.Expr) bounds {
	switch x := e.(type) {
	case nil:
		return exactly(condTrue)
	case *query.And:
		if x == nil {
			return exactly(condTrue)
		}
		return combine(x.Terms, " AND ", condTrue, condFalse)
	case *query.Or:
		if x == nil {
			return exactly(condTrue)
		}
		return combine(x.Terms, " OR ", condFalse, condTrue)
	case *query.Not:
		if x == nil {
			return exactly(condTrue)
		}
		b := alertFilter(x.X)
		return bounds{sup: negate(b.sub), sub: negate(b.sup), exact: b.exact}
	case *query.Term:
		if x == nil {
			return exactly(condTrue)
		}
		return termFilter(x)
	case *query.Word:
		if x == nil {
			return exactly(condTrue)
		}
	}
	// Bare words match the document's text, which SQL does not see the way
	// Match does (Unicode lower-casing, JSON escapes).
	return unknown
}

// combine joins the bounds of an AND (identity true, absorbing false) or
// an OR (identity false, absorbing true).
func combine(terms []query.Expr, op string, identity, absorbing cond) bounds {
	var sups, subs []cond
	exact := true
	for _, t := range terms {
		b := alertFilter(t)
		sups, subs = append(sups, b.sup), append(subs, b.sub)
		exact = exact && b.exact
	}
	return bounds{sup: join(sups, op, identity, absorbing), sub: join(subs, op, identity, absorbing), exact: exact}
}

func join(cs []cond, op string, identity, absorbing cond) cond {
	var kept []cond
	for _, c := range cs {
		switch c.sql {
		case identity.sql:
			continue
		case absorbing.sql:
			return absorbing
		}
		kept = append(kept, c)
	}
	switch len(kept) {
	case 0:
		return identity
	case 1:
		return kept[0]
	}
	var parts []string
	var args []any
	for _, c := range kept {
		parts = append(parts, "("+c.sql+")")
		args = append(args, c.args...)
	}
	return cond{sql: strings.Join(parts, op), args: args}
}

func negate(c cond) cond {
	switch c.sql {
	case "1":
		return condFalse
	case "0":
		return condTrue
	}
	return cond{sql: "NOT (" + c.sql + ")", args: c.args}
}

func termFilter(t *query.Term) bounds {
	if f, ok := alertStrings[t.Field]; ok {
		return stringTerm(t, f.col, f.omitEmpty)
	}
	if path, ok := alertArrays[t.Field]; ok {
		return arrayTerm(t, path)
	}
	switch t.Field {
	case alertEntityValue:
		// entities.value is any of the three entity columns.
		var sups, subs []cond
		var b bounds
		for _, f := range []string{"source.ip", "user.name", "host.name"} {
			b = stringTerm(t, alertStrings[f].col, true)
			sups, subs = append(sups, b.sup), append(subs, b.sub)
		}
		return bounds{sup: join(sups, " OR ", condFalse, condTrue), sub: join(subs, " OR ", condFalse, condTrue), exact: b.exact}
	case "@timestamp":
		return timeTerm(t)
	}
	return unknown
}

// stringTerm is a term on a string field: Match compares strings under
// Unicode simple case folding, SQL's NOCASE and LIKE fold ASCII only.
// Both agree but for the two non-ASCII letters that fold to ASCII ones
// (K, the Kelvin sign; s, the long s) and for non-ASCII letters, which
// fold in Go and not in SQLite: the superset lets any character stand in
// their place ('_'), and the subset compares them as written.
func stringTerm(t *query.Term, col string, omitEmpty bool) bounds {
	if strings.IndexByte(t.Value, 0) >= 0 {
		// SQLite's LIKE reads its pattern up to a NUL.
		return unknown
	}
	present := condTrue
	if omitEmpty {
		present = cond{sql: col + " <> ''"}
	}
	var b bounds
	switch t.Op {
	case query.OpEq:
		sub := cond{sql: col + " = ? COLLATE NOCASE", args: []any{t.Value}}
		if isQueryTime(t.Value) {
			// A stored string equal in time to the value also matches.
			b = bounds{sup: condTrue, sub: sub}
			break
		}
		pattern, folds := likePattern(t.Value)
		if !folds {
			b = exactly(sub)
			break
		}
		b = bounds{sup: cond{sql: col + ` LIKE ? ESCAPE '\'`, args: []any{pattern}}, sub: sub}
	case query.OpPrefix:
		if t.Value == "" {
			return exactly(present)
		}
		pattern, folds := likePattern(t.Value)
		sup := cond{sql: col + ` LIKE ? ESCAPE '\'`, args: []any{pattern + "%"}}
		if !folds {
			b = exactly(sup)
			break
		}
		b = bounds{sup: sup, sub: cond{sql: col + ` LIKE ? ESCAPE '\'`, args: []any{likeEscape(t.Value) + "%"}}}
	default:
		// Match orders strings by number, time or bytes, as the values
		// allow: left to Go.
		return unknown
	}
	if omitEmpty {
		b.sup = join([]cond{present, b.sup}, " AND ", condTrue, condFalse)
		b.sub = join([]cond{present, b.sub}, " AND ", condTrue, condFalse)
	}
	return b
}

// arrayTerm is a term on an array of strings: any element matching.
func arrayTerm(t *query.Term, path string) bounds {
	b := stringTerm(t, "v.value", false)
	exists := func(c cond) cond {
		if c.sql == "0" {
			return condFalse
		}
		return cond{sql: "EXISTS (SELECT 1 FROM json_each(doc, '" + path + "') AS v WHERE " + c.sql + ")", args: c.args}
	}
	return bounds{sup: exists(b.sup), sub: exists(b.sub), exact: b.exact}
}

// timeTerm is a term on @timestamp, stored as the time column (Unix ns).
// Match compares it in time when the value is a time and not a number.
func timeTerm(t *query.Term) bounds {
	at, ok := parseQueryTime(t.Value)
	if !ok || t.Op == query.OpPrefix {
		return unknown
	}
	ops := map[query.Op]string{query.OpEq: "=", query.OpGT: ">", query.OpGTE: ">=", query.OpLT: "<", query.OpLTE: "<="}
	return exactly(cond{sql: "time " + ops[t.Op] + " ?", args: []any{at.UnixNano()}})
}

// minQueryTime and maxQueryTime bound the times Unix nanoseconds hold.
var (
	minQueryTime = time.Unix(0, math.MinInt64)
	maxQueryTime = time.Unix(0, math.MaxInt64)
)

// parseQueryTime reads a value Match compares as a time (an RFC 3339 time
// or a date; never also a number, which has no '-' after its first digit
// but in an exponent) that fits the time column.
func parseQueryTime(v string) (time.Time, bool) {
	at, ok := queryTime(v)
	if !ok || at.Before(minQueryTime) || at.After(maxQueryTime) {
		return time.Time{}, false
	}
	return at, true
}

// isQueryTime is whether Match reads v as a time.
func isQueryTime(v string) bool {
	_, ok := queryTime(v)
	return ok
}

// queryTime reads v as Match does (parseTime in appliance/query/values.go).
func queryTime(v string) (time.Time, bool) {
	if len(v) < 10 || v[0] < '0' || v[0] > '9' || v[4] != '-' {
		return time.Time{}, false
	}
	layout := time.RFC3339
	if len(v) == len(time.DateOnly) {
		layout = time.DateOnly
	}
	at, err := time.Parse(layout, v)
	return at, err == nil
}

// likePattern is v as a LIKE pattern that matches every string equal to v
// under Unicode simple folding, and whether it may match others: each
// character SQLite does not fold as Go does becomes '_'.
func likePattern(v string) (string, bool) {
	var b strings.Builder
	folds := false
	for _, r := range v {
		switch {
		case r >= utf8.RuneSelf, r == 'k', r == 'K', r == 's', r == 'S':
			b.WriteByte('_')
			folds = true
		default:
			writeLikeChar(&b, r)
		}
	}
	return b.String(), folds
}

// likeEscape is v as a LIKE pattern matching it literally.
func likeEscape(v string) string {
	var b strings.Builder
	for _, r := range v {
		writeLikeChar(&b, r)
	}
	return b.String()
}

func writeLikeChar(b *strings.Builder, r rune) {
	if r == '%' || r == '_' || r == '\\' {
		b.WriteByte('\\')
	}
	b.WriteRune(r)
}

// alertFields is what Match sees of a stored alert: its document (doc,
// decoded), with the entity aliases answered from its entities.
type alertFields struct {
	query.Fields
	doc map[string]any
}

func (f alertFields) Lookup(field string) []any {
	if a, ok := alertStrings[field]; ok && a.entity != "" {
		// The first of its type, as the column holds (PutAlert).
		entities, _ := f.doc["entities"].([]any)
		for _, x := range entities {
			if e, _ := x.(map[string]any); e["type"] == a.entity {
				return []any{e["value"]}
			}
		}
		return nil
	}
	return f.Fields.Lookup(field)
}
