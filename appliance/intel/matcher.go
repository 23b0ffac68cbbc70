package intel

import (
	"net/netip"
	"strings"
	"time"
)

// Fields are the normalised event fields each indicator type is looked for
// in (docs/ingest.md names what each source fills).
var Fields = map[Type][]string{
	TypeIP:       {"source.ip", "destination.ip", "client.ip", "server.ip", "dns.resolved_ip"},
	TypeDomain:   {"dns.question.name", "url.domain", "destination.domain", "source.domain", "server.domain", "tls.client.server_name"},
	TypeURL:      {"url.full", "url.original"},
	TypeMD5:      {"file.hash.md5", "process.hash.md5"},
	TypeSHA1:     {"file.hash.sha1", "process.hash.sha1"},
	TypeSHA256:   {"file.hash.sha256", "process.hash.sha256"},
	TypeFileName: {"file.name"},
}

// Lookup returns the string values of one event field (none when absent).
type Lookup func(field string) []string

// Hit is one indicator found in an event.
type Hit struct {
	Indicator *Indicator
	Field     string // where it was found
	Value     string // the event's value there
}

// Matcher finds indicators in events. It is immutable once built, so one
// Matcher may serve concurrent callers.
type Matcher struct {
	inds     []Indicator
	exact    map[Type]map[string][]int32 // type → normalised value → indicators
	prefixes map[int]map[netip.Prefix][]int32
	bits     []int // prefix lengths present, longest first
}

// NewMatcher indexes indicators (as Import normalised them).
func NewMatcher(inds []Indicator) *Matcher {
	m := &Matcher{inds: inds, exact: map[Type]map[string][]int32{}, prefixes: map[int]map[netip.Prefix][]int32{}}
	for i := range inds {
		in := &inds[i]
		if in.Type == TypeIP && strings.Contains(in.Value, "/") {
			p, err := netip.ParsePrefix(in.Value)
			if err != nil {
				continue // Import normalised it; a stored row cannot be otherwise
			}
			byPrefix := m.prefixes[p.Bits()]
			if byPrefix == nil {
				byPrefix = map[netip.Prefix][]int32{}
				m.prefixes[p.Bits()] = byPrefix
				m.bits = append(m.bits, p.Bits())
			}
			byPrefix[p] = append(byPrefix[p], int32(i))
			continue
		}
		byValue := m.exact[in.Type]
		if byValue == nil {
			byValue = map[string][]int32{}
			m.exact[in.Type] = byValue
		}
		byValue[in.Value] = append(byValue[in.Value], int32(i))
	}
	return m
}

// Len is the number of indicators.
func (m *Matcher) Len() int { return len(m.inds) }

// Match returns the indicators valid at the event time at that the event's
// fields hold, each once, in a deterministic order (by field, then
// indicator). An AND group is returned (as the member that completes it)
// only when all its members match.
func (m *Matcher) Match(lookup Lookup, at time.Time) []Hit {
	if len(m.inds) == 0 {
		return nil
	}
	var hits []Hit
	seen := map[int32]bool{}
	groups := map[string]int{}
	add := func(ids []int32, field, value string) {
		for _, id := range ids {
			in := &m.inds[id]
			if seen[id] || !in.ValidAt(at) {
				continue
			}
			seen[id] = true
			if in.Group != "" {
				groups[in.Group]++
				if groups[in.Group] != in.GroupSize {
					continue
				}
			}
			hits = append(hits, Hit{Indicator: in, Field: field, Value: value})
		}
	}
	for _, t := range Types {
		if m.exact[t] == nil && (t != TypeIP || len(m.bits) == 0) {
			continue
		}
		for _, field := range Fields[t] {
			for _, v := range lookup(field) {
				m.matchValue(t, field, v, lookup, add)
			}
		}
	}
	return hits
}

func (m *Matcher) matchValue(t Type, field, v string, lookup Lookup, add func([]int32, string, string)) {
	exact := m.exact[t]
	switch t {
	case TypeIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return
		}
		a = a.Unmap().WithZone("")
		add(exact[a.String()], field, v)
		for _, b := range m.bits {
			if b > a.BitLen() {
				continue
			}
			p, err := a.Prefix(b)
			if err == nil {
				add(m.prefixes[b][p], field, v)
			}
		}
	case TypeDomain:
		// The name and each parent domain: a listed domain covers its
		// subdomains.
		d := strings.ToLower(strings.TrimSuffix(v, "."))
		for {
			add(exact[d], field, v)
			i := strings.IndexByte(d, '.')
			if i < 0 {
				return
			}
			d = d[i+1:]
		}
	case TypeURL:
		u := v
		if strings.HasPrefix(u, "/") {
			// HTTP logs give the path; the host is in url.domain.
			hosts := lookup("url.domain")
			if len(hosts) == 0 {
				return
			}
			u = hosts[0] + u
		}
		if n, err := normaliseURL(u); err == nil {
			add(exact[n], field, v)
		}
	default:
		add(exact[strings.ToLower(v)], field, v)
	}
}
