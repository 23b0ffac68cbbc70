package ingest

// Event times of the JSON sensors.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"
)

// sensorTime parses the event time in raw, the value of key: RFC 3339,
// RFC 3339 with a colon-less offset as Suricata writes it ("+0000"), or
// epoch seconds as a number or a string of digits. Absent or null: zero
// (receive time is used).
func sensorTime(raw []byte, key string) (time.Time, error) {
	v := sensorRaw(raw)
	if v == nil {
		return time.Time{}, nil
	}
	t, err := sensorTimeValue(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", key, err)
	}
	return t, nil
}

var errSensorTime = errors.New("not an RFC 3339 time or epoch seconds")

func sensorTimeValue(v any) (time.Time, error) {
	var t time.Time
	switch v := v.(type) {
	case string:
		var err error
		var ok bool
		if t, ok = sensorFastTime(v); !ok {
			t, err = time.Parse(time.RFC3339Nano, v)
			if err != nil {
				t, err = time.Parse("2006-01-02T15:04:05Z0700", v)
			}
		}
		if err != nil {
			// epoch seconds as text (osquery's unixTime)
			var ok bool
			if t, ok = sensorEpochText(v); !ok {
				return time.Time{}, fmt.Errorf("%q is %w", truncate(v, 64), errSensorTime)
			}
		}
	case json.Number:
		var ok bool
		if t, ok = sensorEpochText(v.String()); !ok {
			return time.Time{}, fmt.Errorf("%s is %w", truncate(v.String(), 64), errSensorTime)
		}
	case float64:
		t = sensorEpoch(v)
	default:
		return time.Time{}, errors.New("must be an RFC 3339 string or epoch number")
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, fmt.Errorf("%s is outside 1970-2261", t.UTC().Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// sensorFastTime parses the common shapes of RFC 3339 quickly, and the
// same with a colon-less offset ("2026-11-22T03:58:03.726169+0000", as
// Suricata writes it): date, 'T', time, an optional fraction of 1 to 9
// digits, and 'Z' or an offset. It accepts only what time.Parse with
// RFC3339Nano or "2006-01-02T15:04:05Z0700" accepts, with the same result;
// anything else (ok false) is left to those.
func sensorFastTime(s string) (t time.Time, ok bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return t, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > sensorDaysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return t, false
	}
	rest := s[19:]
	nsec := 0
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		digits := rest[1:i]
		if len(digits) < 1 || len(digits) > 9 {
			return t, false
		}
		for j := 0; j < 9; j++ {
			nsec *= 10
			if j < len(digits) {
				nsec += int(digits[j] - '0')
			}
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':',
		len(rest) == 5 && (rest[0] == '+' || rest[0] == '-'):
		oh, okh := num(len(s)-len(rest)+1, 2)
		om, okm := num(len(s)-2, 2)
		if !okh || !okm || oh > 23 || om > 59 {
			return t, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return t, false
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// sensorFormatTime is t.UTC().Format(time.RFC3339Nano), faster, for a time
// in 1970-2261.
func sensorFormatTime(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 1000 || year > 9999 {
		return t.Format(time.RFC3339Nano)
	}
	var b [40]byte
	put := func(i, v, n int) {
		for j := i + n - 1; j >= i; j-- {
			b[j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, year, 4)
	b[4] = '-'
	put(5, int(month), 2)
	b[7] = '-'
	put(8, day, 2)
	b[10] = 'T'
	put(11, hour, 2)
	b[13] = ':'
	put(14, minute, 2)
	b[16] = ':'
	put(17, sec, 2)
	n := 19
	if ns := t.Nanosecond(); ns != 0 {
		b[19] = '.'
		put(20, ns, 9)
		n = 29
		for b[n-1] == '0' {
			n--
		}
	}
	b[n] = 'Z'
	return string(b[:n+1])
}

func sensorDaysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// sensorEpoch is the time of f epoch seconds, or milliseconds when f is too
// large to be seconds (as parseTime). A fraction is rounded to the
// microsecond: sensors write at most six decimals, and a float64 of today's
// epoch seconds has no more precision than that.
func sensorEpoch(f float64) time.Time {
	if f > 1e11 {
		f /= 1000
	}
	if f >= 1e13 || f <= -1e13 || math.IsNaN(f) { // far outside 1970-2261, and int64 safe
		return maxTime
	}
	sec := math.Floor(f)
	us := math.Round((f - sec) * 1e6)
	return time.Unix(int64(sec), int64(us)*1000)
}

// sensorEpochText parses epoch seconds written as text: digits with an
// optional fraction exactly, other number forms through float64.
func sensorEpochText(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 40 {
		return time.Time{}, false
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if len(intPart) > 0 && len(intPart) <= 11 && sensorDigits(intPart) && sensorDigits(frac) {
		sec, err := strconv.ParseInt(intPart, 10, 64)
		if err == nil && float64(sec) <= 1e11 {
			var ns int64
			for i := 0; i < 9; i++ {
				ns *= 10
				if i < len(frac) {
					ns += int64(frac[i] - '0')
				}
			}
			return time.Unix(sec, ns), true
		}
	}
	if strings.ContainsAny(s, "xXpP_") { // no hex floats or digit separators
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	return sensorEpoch(f), true
}

func sensorDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
