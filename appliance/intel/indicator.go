package intel

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Type is the kind of observable an indicator matches.
type Type string

const (
	TypeIP       Type = "ip" // an address or a CIDR range, v4 or v6
	TypeDomain   Type = "domain"
	TypeURL      Type = "url"
	TypeMD5      Type = "md5"
	TypeSHA1     Type = "sha1"
	TypeSHA256   Type = "sha256"
	TypeFileName Type = "filename"
)

// Types lists every indicator type, for reports and documentation.
var Types = []Type{TypeIP, TypeDomain, TypeURL, TypeMD5, TypeSHA1, TypeSHA256, TypeFileName}

// Indicator is one observable value to look for, with its context.
type Indicator struct {
	ID    string `json:"id"`    // stable: derived from where it came from and its value
	Type  Type   `json:"type"`  // what it matches
	Value string `json:"value"` // normalised (see Normalise)
	// Group ties the comparisons of a STIX AND expression: the indicator
	// matches only when every member of its group (GroupSize of them)
	// matches the same event. Empty for a standalone indicator.
	Group     string `json:"group,omitempty"`
	GroupSize int    `json:"group_size,omitempty"`

	Source      string    `json:"source"`                // the feed or file it was imported from
	Name        string    `json:"name,omitempty"`        // the STIX indicator's or MISP event's name
	Description string    `json:"description,omitempty"` // comment, description, list count
	Labels      []string  `json:"labels,omitempty"`      // STIX labels, MISP tags
	Severity    string    `json:"severity,omitempty"`    // of the alerts it raises; empty: high
	ValidFrom   time.Time `json:"valid_from,omitzero"`   // zero: always
	ValidUntil  time.Time `json:"valid_until,omitzero"`  // zero: never expires
}

// ValidAt reports whether the indicator applies to an event at t.
func (in *Indicator) ValidAt(t time.Time) bool {
	if !in.ValidFrom.IsZero() && t.Before(in.ValidFrom) {
		return false
	}
	return in.ValidUntil.IsZero() || t.Before(in.ValidUntil)
}

// indicatorID derives a stable ID: re-importing the same feed yields the
// same IDs, so an import replaces rather than duplicates.
func indicatorID(source, origin string, t Type, value string) string {
	h := sha256.Sum256([]byte(source + "\x00" + origin + "\x00" + string(t) + "\x00" + value))
	return hex.EncodeToString(h[:12])
}

// Normalise validates value as an observable of type t and returns the form
// the matcher compares: lower-case hosts and hashes, canonical addresses and
// prefixes, URLs without scheme, default port or fragment.
func Normalise(t Type, value string) (string, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return "", fmt.Errorf("empty %s", t)
	}
	switch t {
	case TypeIP:
		return normaliseIP(v)
	case TypeDomain:
		return normaliseDomain(v)
	case TypeURL:
		return normaliseURL(v)
	case TypeMD5:
		return normaliseHash(v, 32, t)
	case TypeSHA1:
		return normaliseHash(v, 40, t)
	case TypeSHA256:
		return normaliseHash(v, 64, t)
	case TypeFileName:
		if strings.ContainsAny(v, "/\\\x00") {
			return "", fmt.Errorf("file name %q holds a path separator", v)
		}
		return strings.ToLower(v), nil
	}
	return "", fmt.Errorf("unknown indicator type %q", t)
}

func normaliseIP(v string) (string, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return "", fmt.Errorf("%q is not an IP address or CIDR range", v)
		}
		p = p.Masked()
		if p.Bits() == p.Addr().BitLen() {
			return p.Addr().String(), nil
		}
		return p.String(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return "", fmt.Errorf("%q is not an IP address or CIDR range", v)
	}
	return a.Unmap().WithZone("").String(), nil
}

// normaliseDomain accepts a DNS name of at least two labels whose last
// label is alphabetic (so "107.183.86" is not taken for a name).
func normaliseDomain(v string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(v, "."))
	if len(d) > 253 {
		return "", fmt.Errorf("domain of %d characters is too long", len(d))
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%q is not a domain name (one label)", v)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("%q is not a domain name (empty or long label)", v)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%q is not a domain name (character %q)", v, c)
			}
		}
	}
	tld := labels[len(labels)-1]
	for _, c := range tld {
		if !(c >= 'a' && c <= 'z' || c == '-') {
			return "", fmt.Errorf("%q is not a domain name (top-level label %q)", v, tld)
		}
	}
	return d, nil
}

// normaliseURL keeps host, port and path, so that http and https
// requests for the same resource match one indicator. A value without a
// scheme ("www.example.top/a.txt", as MISP feeds often publish them) is read
// as http when its host is a valid domain or address.
func normaliseURL(v string) (string, error) {
	raw := v
	if !strings.Contains(v, "://") {
		raw = "http://" + v
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", v)
	}
	host := u.Hostname()
	if host == "" {
		return "", fmt.Errorf("%q is not a URL (no host)", v)
	}
	if h, err := normaliseIP(host); err == nil && !strings.Contains(h, "/") {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	} else if host, err = normaliseDomain(host); err != nil {
		return "", fmt.Errorf("%q is not a URL: host: %v", v, err)
	}
	port := u.Port()
	if port != "" && !(port == "80" && u.Scheme == "http" || port == "443" && u.Scheme == "https") {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	return host + path, nil
}

func normaliseHash(v string, n int, t Type) (string, error) {
	if len(v) != n {
		return "", fmt.Errorf("%s %q: want %d hex digits, got %d characters", t, v, n, len(v))
	}
	if _, err := hex.DecodeString(v); err != nil {
		return "", fmt.Errorf("%s %q is not hex", t, v)
	}
	return strings.ToLower(v), nil
}

// guessType infers the type of a bare value in a list: an address or
// range, a hash by its length, a URL by its scheme, else a domain.
func guessType(v string) Type {
	if _, err := normaliseIP(v); err == nil {
		return TypeIP
	}
	if _, err := hex.DecodeString(v); err == nil {
		switch len(v) {
		case 32:
			return TypeMD5
		case 40:
			return TypeSHA1
		case 64:
			return TypeSHA256
		}
	}
	if strings.Contains(v, "://") || strings.Contains(v, "/") {
		return TypeURL
	}
	return TypeDomain
}
