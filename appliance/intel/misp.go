package intel

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

type mispAttribute struct {
	UUID     string          `json:"uuid"`
	Type     string          `json:"type"`
	Category string          `json:"category"`
	Value    string          `json:"value"`
	ToIDS    json.RawMessage `json:"to_ids"` // a boolean, or "0"/"1" in older exports
	Comment  string          `json:"comment"`
	Deleted  bool            `json:"deleted"`
	// first_seen bounds validity; last_seen does not, since an attribute
	// seen last long ago still names an attacker.
	FirstSeen *string `json:"first_seen"`
}

type mispTag struct {
	Name string `json:"name"`
}

type mispEvent struct {
	UUID      string          `json:"uuid"`
	Info      string          `json:"info"`
	Attribute []mispAttribute `json:"Attribute"`
	Object    []struct {
		Attribute []mispAttribute `json:"Attribute"`
	} `json:"Object"`
	Tag []mispTag `json:"Tag"`
}

type mispWrapper struct {
	Event *mispEvent `json:"Event"`
}

// parseMISP reads {"Event":…}, {"response":[{"Event":…},…]} or a bare
// array of {"Event":…}.
func parseMISP(data []byte, all bool) (*Report, []string, error) {
	var events []*mispEvent
	if strings.HasPrefix(strings.TrimSpace(string(data)), "[") {
		var ws []mispWrapper
		if err := json.Unmarshal(data, &ws); err != nil {
			return nil, nil, fmt.Errorf("not a JSON array of MISP events: %w", err)
		}
		for _, w := range ws {
			if w.Event != nil {
				events = append(events, w.Event)
			}
		}
	} else {
		var top struct {
			Event    *mispEvent    `json:"Event"`
			Response []mispWrapper `json:"response"`
		}
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, nil, fmt.Errorf("not a MISP event export: %w", err)
		}
		if top.Event != nil {
			events = append(events, top.Event)
		}
		for _, w := range top.Response {
			if w.Event != nil {
				events = append(events, w.Event)
			}
		}
		if len(events) == 0 {
			return nil, nil, fmt.Errorf(`no MISP event: want {"Event":…} or {"response":[{"Event":…}]}`)
		}
	}
	r := newReport(FormatMISP)
	var origins []string
	for _, ev := range events {
		var labels []string
		for _, t := range ev.Tag {
			labels = append(labels, t.Name)
		}
		attrs := ev.Attribute
		for _, o := range ev.Object {
			attrs = append(attrs, o.Attribute...)
		}
		for i := range attrs {
			a := &attrs[i]
			r.Read++
			where := "attribute " + a.UUID
			if a.UUID == "" {
				where = fmt.Sprintf("event %s attribute %d", ev.UUID, i)
			}
			if a.Deleted {
				r.skip("misp: deleted")
				continue
			}
			toIDS, err := mispBool(a.ToIDS)
			if err != nil {
				r.malformed(where, "to_ids: %v", err)
				continue
			}
			if !toIDS && !all {
				r.skip("misp: to_ids false (import with --all to match these too)")
				continue
			}
			in, skip := mispIndicator(a)
			if skip != "" {
				r.skip(skip)
				continue
			}
			in.Name, in.Labels = ev.Info, labels
			in.Description = strings.TrimSpace(strings.TrimSuffix(a.Category+": "+a.Comment, ": "))
			if a.FirstSeen != nil && *a.FirstSeen != "" {
				t, err := time.Parse(time.RFC3339Nano, *a.FirstSeen)
				if err != nil {
					r.malformed(where, "first_seen %q is not an RFC 3339 time", *a.FirstSeen)
					continue
				}
				in.ValidFrom = t
			}
			if r.add(where, in) {
				origins = append(origins, ev.UUID+"/"+a.UUID)
			}
		}
	}
	return r, origins, nil
}

func mispBool(raw json.RawMessage) (bool, error) {
	s := strings.Trim(string(raw), `"`)
	switch s {
	case "", "null":
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s is not a boolean", raw)
	}
	return b, nil
}

// mispIndicator maps an attribute to the indicator it holds. Of the
// composite types ("filename|sha256", "ip-dst|port") only the observable
// part is kept: a file name alone would match every copy of a benign
// program of that name.
// The second result, when not empty, is why the attribute is skipped.
func mispIndicator(a *mispAttribute) (Indicator, string) {
	first, second, _ := strings.Cut(a.Value, "|")
	switch a.Type {
	case "ip-dst", "ip-src":
		return Indicator{Type: TypeIP, Value: a.Value}, ""
	case "ip-dst|port", "ip-src|port", "domain|ip", "hostname|port":
		t := TypeIP
		if strings.HasPrefix(a.Type, "domain") || strings.HasPrefix(a.Type, "hostname") {
			t = TypeDomain
		}
		return Indicator{Type: t, Value: first}, ""
	case "domain", "hostname":
		return Indicator{Type: TypeDomain, Value: a.Value}, ""
	case "url", "uri", "link-url":
		return Indicator{Type: TypeURL, Value: a.Value}, ""
	case "md5", "sha1", "sha256":
		return Indicator{Type: Type(a.Type), Value: a.Value}, ""
	case "filename":
		if strings.ContainsAny(a.Value, `/\`) {
			// Only the base name is observed, and base names of paths
			// ("%WINDIR%\\…\\Rundll32.exe") are often those of system files.
			return Indicator{}, "misp: filename with a path"
		}
		return Indicator{Type: TypeFileName, Value: a.Value}, ""
	case "filename|md5", "filename|sha1", "filename|sha256":
		// A value without "|" leaves second empty, which Normalise reports.
		return Indicator{Type: Type(strings.TrimPrefix(a.Type, "filename|")), Value: second}, ""
	}
	return Indicator{}, "misp: type " + a.Type
}
