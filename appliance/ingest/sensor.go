package ingest

// Helpers the JSON sensor parsers (cowrie.go, suricata.go, zeek.go,
// osquery.go) share: each checks the line (beginSensor), keeps every source
// field flattened under its own prefix (sensorFlatten, sensor_flat.go) and
// derives ECS fields from those flattened values (sensorMap).

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"
)

// The sensor parsers do not build the decoded tree of a line: json.Valid
// checks the line (the check decodeObject makes, so the same lines are
// refused, with decodeObject's reasons), then one pass over the bytes
// (sensorFlatten) writes the flattened fields straight into the output map
// and picks out the few top-level values a parser needs (its kind, its
// time). Field names and short string values that repeat from line to line
// are interned. This is about twice as fast as decodeObject followed by a
// walk of its tree, with the same result: the differential fuzz test
// FuzzSensorFlatten checks it against decodeObject and a tree walk.

// beginSensor checks a sensor line and starts its Parsed: Original is the
// trimmed line, made valid UTF-8 as ParseJSON does. It returns the trimmed
// line, a JSON object. ecs is about how many normalised fields the parser
// adds to the source's, to size the map.
func beginSensor(line []byte, ecs int) ([]byte, Parsed, error) {
	// JSON white space only: TrimSpace would also take Unicode spaces,
	// which make a line invalid JSON. Once the line is valid, it trims the
	// same.
	if i := sensorWS(line, 0); i == len(line) || line[i] != '{' || !json.Valid(line) {
		if _, err := decodeObject(line); err != nil {
			return nil, Parsed{}, err
		}
		return nil, Parsed{}, errors.New("not a JSON object")
	}
	b := bytes.TrimSpace(line)
	// Room for the source's fields (about one per ':') and the ECS ones: a
	// map that has to grow costs more than one a little too large.
	p := Parsed{Fields: newFields(bytes.Count(b, []byte(":")) + ecs), Original: b}
	if !utf8.Valid(b) {
		p.Original = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	return b, p, nil
}

// sensorTop sets raw[i] to the raw JSON of the top-level member named
// names[i] of the object b (nil when absent; the last one when repeated,
// as decoding into a map keeps). b must be valid JSON.
func sensorTop(b []byte, names []string, raw [][]byte) { sensorTopScan(b, names, raw, false) }

// sensorTopFirst is sensorTop that stops once it has found every name: the
// first one when a name is repeated.
func sensorTopFirst(b []byte, names []string, raw [][]byte) { sensorTopScan(b, names, raw, true) }

func sensorTopScan(b []byte, names []string, raw [][]byte, first bool) {
	defer func() { _ = recover() }() // as in sensorFlatten: b is valid JSON
	found := 0
	i := sensorWS(b, 1)
	if b[i] == '}' {
		return
	}
	for {
		ke, key := sensorKey(b, i)
		i = sensorWS(b, sensorWS(b, ke)+1)
		end := sensorSkip(b, i)
		for n, name := range names {
			if string(key) == name {
				if raw[n] == nil {
					found++
				}
				raw[n] = b[i:end]
			}
		}
		if first && found == len(names) {
			return
		}
		i = sensorWS(b, end)
		if b[i] != ',' {
			return
		}
		i = sensorWS(b, i+1)
	}
}

// sensorObject and sensorArray stand for a top-level object or array value.
type (
	sensorObject struct{}
	sensorArray  struct{}
)

// sensorRaw decodes a raw top-level value: a string, float64 (or the text
// of a number too large for one), bool, nil for null or absent,
// sensorObject or sensorArray.
func sensorRaw(raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '{':
		return sensorObject{}
	case '[':
		return sensorArray{}
	}
	v, _, _ := sensorScalarAt(raw, 0)
	return v
}

// maxSensorName bounds a name that becomes part of field names and of
// event.dataset (Suricata's event_type, Zeek's _path).
const maxSensorName = 64

// sensorName returns the string in raw, the value of key, which must be
// present and a short name of letters, digits, '_' and '-'.
func sensorName(raw []byte, key, what string) (string, error) {
	v := sensorRaw(raw)
	if v == nil {
		return "", fmt.Errorf("not %s: no %q", what, key)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%q must be a string", key)
	}
	if !validSensorName(s) {
		return "", fmt.Errorf("%q %q is not a name of letters, digits, '_' and '-' (1 to %d characters)", key, truncate(s, 64), maxSensorName)
	}
	return s, nil
}

func validSensorName(s string) bool {
	if s == "" || len(s) > maxSensorName {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// sensorMap reads the flattened source fields under prefix p of a sensor
// event and sets normalised fields in the same map.
type sensorMap struct {
	f map[string]any
	p string // the source prefix with its trailing dot ("zeek.dns."), or "" when keys are full names
}

// get is the source value at k (under the prefix, if any).
func (m sensorMap) get(k string) any {
	if m.p == "" {
		return m.f[k]
	}
	return m.f[m.p+k]
}

// str is the non-empty string at k.
func (m sensorMap) str(k string) (string, bool) {
	s, ok := m.get(k).(string)
	return s, ok && s != ""
}

// firstStr is the string at k, or the first non-empty string of a list.
func (m sensorMap) firstStr(k string) (string, bool) {
	switch v := m.get(k).(type) {
	case string:
		return v, v != ""
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				return s, true
			}
		}
	}
	return "", false
}

// list is the list at k (a scalar is a list of one), nil if absent or empty.
func (m sensorMap) list(k string) []any {
	switch v := m.get(k).(type) {
	case nil:
		return nil
	case []any:
		if len(v) == 0 {
			return nil
		}
		return v
	default:
		return []any{v}
	}
}

// num is the number at k: a JSON number or a string holding one (osquery
// writes numbers as strings).
func (m sensorMap) num(k string) (float64, bool) {
	return sensorNumber(m.get(k))
}

func (m sensorMap) firstNum(k string) (float64, bool) {
	v := m.get(k)
	if l, ok := v.([]any); ok {
		if len(l) == 0 {
			return 0, false
		}
		v = l[0]
	}
	return sensorNumber(v)
}

func sensorNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case string:
		s := strings.TrimSpace(v)
		if s == "" || len(s) > 32 {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(s, "xXpP_") {
			return 0, false
		}
		if f == 0 {
			f = 0
		}
		return f, true
	}
	return 0, false
}

// count is a non-negative whole number at k.
func (m sensorMap) count(k string) (float64, bool) {
	n, ok := m.num(k)
	if !ok || n < 0 || n != math.Trunc(n) {
		return 0, false
	}
	return n, true
}

// time is the time at k, when it parses.
func (m sensorMap) time(k string) (time.Time, bool) {
	v := m.get(k)
	if v == nil {
		return time.Time{}, false
	}
	t, err := sensorTimeValue(v)
	return t, err == nil
}

func (m sensorMap) set(ecs string, v any) { m.f[ecs] = v }

// traffic maps a flow's byte and packet counters, each direction's source
// key given, to source.*/destination.* and their network.* sums.
func (m sensorMap) traffic(srcBytes, dstBytes, srcPkts, dstPkts string) {
	for _, counter := range [...]struct{ src, dst, ecsSrc, ecsDst, ecsTotal string }{
		{srcBytes, dstBytes, "source.bytes", "destination.bytes", "network.bytes"},
		{srcPkts, dstPkts, "source.packets", "destination.packets", "network.packets"},
	} {
		var total float64
		var have bool
		for _, c := range [...]struct{ ecs, key string }{{counter.ecsSrc, counter.src}, {counter.ecsDst, counter.dst}} {
			if n, ok := m.count(c.key); ok {
				m.setNum(c.ecs, c.key, n) // the source's value, boxed already
				total += n
				have = true
			}
		}
		if have {
			m.set(counter.ecsTotal, sensorCount(total))
		}
	}
}

// sensorCount boxes a count, small ones without allocating.
func sensorCount(n float64) any {
	if n >= 0 && n < float64(len(sensorSmall)) && n == math.Trunc(n) {
		return sensorSmall[int(n)]
	}
	return n
}

// setStr sets ecs to s unless s is empty.
func (m sensorMap) setStr(ecs, s string) {
	if s != "" {
		m.f[ecs] = s
	}
}

// copyStr copies the non-empty string at k. It stores the value as it is
// (no new interface value is allocated), as do the other copy methods.
func (m sensorMap) copyStr(ecs, k string) {
	v := m.get(k)
	if s, ok := v.(string); ok && s != "" {
		m.f[ecs] = v
	}
}

func (m sensorMap) copyNum(ecs, k string) {
	if n, ok := m.num(k); ok {
		m.setNum(ecs, k, n)
	}
}

func (m sensorMap) copyCount(ecs, k string) {
	if n, ok := m.count(k); ok {
		m.setNum(ecs, k, n)
	}
}

// setNum sets ecs to n, which was read from k: the stored value itself when
// it is that number.
func (m sensorMap) setNum(ecs, k string, n float64) {
	v := m.get(k)
	if f, ok := v.(float64); ok && f == n {
		m.f[ecs] = v
		return
	}
	m.f[ecs] = n
}

// copyNumText copies a number or string identifier at k as text (ECS keeps
// identifiers such as rule.id as keywords).
func (m sensorMap) copyNumText(ecs, k string) {
	switch v := m.get(k).(type) {
	case string:
		m.setStr(ecs, v)
	case float64:
		m.f[ecs] = strconv.FormatFloat(v, 'f', -1, 64)
	}
}

// copyIP copies the string at k when it is an IP address.
func (m sensorMap) copyIP(ecs, k string) {
	v := m.get(k)
	if s, ok := v.(string); ok && sensorIsIP(s) {
		m.f[ecs] = v
	}
}

// copyPort copies the port number at k when it is a whole number 0-65535.
func (m sensorMap) copyPort(ecs, k string) {
	if n, ok := m.count(k); ok && n <= 65535 {
		m.setNum(ecs, k, n)
	}
}

// copyDuration sets ecs (ECS event.duration, nanoseconds) from seconds at k.
func (m sensorMap) copyDuration(ecs, k string) {
	if n, ok := m.num(k); ok && n >= 0 && n < 1e9 {
		m.f[ecs] = math.Round(n * 1e9)
	}
}

func sensorIsIP(s string) bool {
	if len(s) > 64 {
		return false
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// sensorIPs is the IP addresses among vals, nil if none.
func sensorIPs(vals []any) []any {
	var ips []any
	for _, v := range vals {
		if s, ok := v.(string); ok && sensorIsIP(s) {
			ips = append(ips, s)
		}
	}
	return ips
}

// sensorSSHSoftware splits an SSH identification string ("SSH-2.0-OpenSSH_7.6")
// into its protocol version and software.
func sensorSSHSoftware(s string) (proto, software string) {
	if rest, ok := strings.CutPrefix(s, "SSH-"); ok {
		if p, sw, ok := strings.Cut(rest, "-"); ok {
			return p, sw
		}
	}
	return "", s
}
