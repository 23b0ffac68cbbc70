package intel

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

type stixObject struct {
	Type           string          `json:"type"`
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	Pattern        string          `json:"pattern"`
	PatternType    string          `json:"pattern_type"`
	ValidFrom      string          `json:"valid_from"`
	ValidUntil     string          `json:"valid_until"`
	Labels         []string        `json:"labels"`
	IndicatorTypes []string        `json:"indicator_types"`
	Revoked        bool            `json:"revoked"`
	Objects        json.RawMessage `json:"objects"` // of a bundle
}

// maxConjunctions bounds the expansion of a pattern into indicators.
const maxConjunctions = 1024

// parseSTIX reads a bundle, a single object or a JSON array of objects.
func parseSTIX(data []byte) (*Report, []string, error) {
	var objs []stixObject
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "[") {
		if err := json.Unmarshal(data, &objs); err != nil {
			return nil, nil, fmt.Errorf("not a JSON array of STIX objects: %w", err)
		}
	} else {
		var top stixObject
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, nil, fmt.Errorf("not a STIX JSON object: %w", err)
		}
		if top.Type == "bundle" {
			if err := json.Unmarshal(top.Objects, &objs); err != nil && len(top.Objects) > 0 {
				return nil, nil, fmt.Errorf("bundle objects: %w", err)
			}
		} else {
			objs = []stixObject{top}
		}
	}
	r := newReport(FormatSTIX)
	var origins []string
	for i := range objs {
		o := &objs[i]
		if o.Type != "indicator" {
			continue
		}
		r.Read++
		origins = r.stixIndicator(o, origins)
	}
	return r, origins, nil
}

func (r *Report) stixIndicator(o *stixObject, origins []string) []string {
	where := o.ID
	if where == "" {
		where = fmt.Sprintf("indicator %d", r.Read)
	}
	if o.Revoked {
		r.skip("stix: revoked indicator")
		return origins
	}
	if o.PatternType != "" && o.PatternType != "stix" {
		r.skip("stix: pattern_type " + o.PatternType)
		return origins
	}
	base := Indicator{Name: o.Name, Description: o.Description, Labels: append(o.Labels, o.IndicatorTypes...)}
	for _, f := range []struct {
		name string
		text string
		dst  *time.Time
	}{{"valid_from", o.ValidFrom, &base.ValidFrom}, {"valid_until", o.ValidUntil, &base.ValidUntil}} {
		if f.text == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.text)
		if err != nil {
			r.malformed(where, "%s %q is not an RFC 3339 time", f.name, f.text)
			return origins
		}
		*f.dst = t
	}
	p, err := ParsePattern(o.Pattern)
	if err != nil {
		r.malformed(where+" pattern", "%v", err)
		return origins
	}
	conjs, reason := observable(p.Root)
	if reason != "" {
		r.skip("stix: " + reason)
		return origins
	}
	for ci, conj := range conjs {
		origin := where + "#" + strconv.Itoa(ci)
		group := make([]Indicator, 0, len(conj))
		unsupported := ""
		for _, c := range conj {
			t, ok := stixType(c)
			if !ok {
				unsupported = c.ObjectType + ":" + strings.Join(c.Path, ".")
				break
			}
			in := base
			in.Type, in.Value = t, c.Values[0].Text
			group = append(group, in)
		}
		if unsupported != "" {
			r.skip("stix: " + unsupported)
			continue
		}
		if len(group) > 1 {
			group = r.checkGroup(where, origin, group)
		}
		for _, in := range group {
			if r.add(where+" pattern", in) {
				origins = append(origins, origin)
			}
		}
	}
	return origins
}

// checkGroup validates every member of an AND group first: one malformed
// member makes the whole group unusable, rather than a looser indicator.
func (r *Report) checkGroup(where, origin string, group []Indicator) []Indicator {
	for _, in := range group {
		if _, err := Normalise(in.Type, in.Value); err != nil {
			r.malformed(where+" pattern", "%v (the AND expression it is part of is dropped)", err)
			return nil
		}
	}
	for i := range group {
		group[i].Group = indicatorID("", origin, "group", "")
		group[i].GroupSize = len(group)
	}
	return group
}

// observable reduces a pattern to what one event can show: a disjunction
// of conjunctions of equality comparisons. It returns why not, otherwise.
func observable(n PatternNode) ([][]*Comparison, string) {
	switch n := n.(type) {
	case *Bool:
		if n.Op != "OR" {
			return nil, "observations joined by " + n.Op + " (they span several events)"
		}
		l, why := observable(n.Left)
		if why != "" {
			return nil, why
		}
		rr, why := observable(n.Right)
		if why != "" {
			return nil, why
		}
		return append(l, rr...), ""
	case *Observation:
		if len(n.Qualifiers) > 0 {
			return nil, "qualified observation (" + n.Qualifiers[0] + ")"
		}
		return dnf(n.Expr)
	}
	return nil, "unexpected pattern node"
}

func dnf(n PatternNode) ([][]*Comparison, string) {
	switch n := n.(type) {
	case *Comparison:
		if n.Not {
			return nil, "negated comparison"
		}
		switch n.Op {
		case "=", "ISSUBSET":
			if n.Values[0].Kind != "string" {
				return nil, "comparison with a " + n.Values[0].Kind + " value"
			}
			return [][]*Comparison{{n}}, ""
		case "IN":
			var out [][]*Comparison
			for _, v := range n.Values {
				if v.Kind != "string" {
					return nil, "IN list with a " + v.Kind + " value"
				}
				c := *n
				c.Op, c.Values = "=", []Value{v}
				out = append(out, []*Comparison{&c})
			}
			return out, ""
		}
		return nil, "operator " + n.Op
	case *Bool:
		l, why := dnf(n.Left)
		if why != "" {
			return nil, why
		}
		rr, why := dnf(n.Right)
		if why != "" {
			return nil, why
		}
		if n.Op == "OR" {
			if len(l)+len(rr) > maxConjunctions {
				return nil, "too many alternatives"
			}
			return append(l, rr...), ""
		}
		if len(l)*len(rr) > maxConjunctions {
			return nil, "too many alternatives"
		}
		var out [][]*Comparison
		for _, a := range l {
			for _, b := range rr {
				out = append(out, append(append([]*Comparison(nil), a...), b...))
			}
		}
		return out, ""
	case *Observation:
		return dnf(n.Expr)
	}
	return nil, "unexpected pattern node"
}

// stixType maps an object path to the indicator type that matches it.
func stixType(c *Comparison) (Type, bool) {
	path := strings.Join(c.Path, ".")
	switch c.ObjectType {
	case "ipv4-addr", "ipv6-addr":
		return TypeIP, path == "value"
	case "domain-name":
		return TypeDomain, path == "value"
	case "url":
		return TypeURL, path == "value"
	case "file":
		if path == "name" {
			return TypeFileName, true
		}
		if len(c.Path) == 2 && c.Path[0] == "hashes" {
			switch strings.ReplaceAll(strings.ToUpper(c.Path[1]), "-", "") {
			case "MD5":
				return TypeMD5, true
			case "SHA1":
				return TypeSHA1, true
			case "SHA256":
				return TypeSHA256, true
			}
		}
	case "network-traffic":
		return TypeIP, path == "dst_ref.value" || path == "src_ref.value"
	}
	return "", false
}
