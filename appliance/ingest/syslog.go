package ingest

// The "syslog" source: one syslog message per line, in any of the shapes
// sites send or write to files:
//
//   - RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD-ID NAME="VALUE"...] MSG
//     ("-" for a field left out; a UTF-8 BOM before MSG is dropped).
//   - RFC 3164 (BSD): <PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG, also without
//     the <PRI> (as syslog daemons write files), without the HOST, with
//     fractional seconds, and with a year ("Mmm dd yyyy hh:mm:ss", Cisco).
//   - rsyslog's file format (RSYSLOG_FileFormat): an RFC 3339 timestamp in
//     place of the BSD one: 2026-11-22T03:54:00.096990+00:00 HOST TAG[PID]: MSG.
//   - <PRI> followed by anything else: RFC 3164 §4.3.3 says a relay keeps
//     such text as the message, and so does this parser.
//
// Time: a BSD timestamp has neither year nor zone. The zone is taken to be
// UTC (configure senders to log in UTC, or send RFC 5424 / RFC 3339). The
// year is the receive time's, unless that puts the event more than a day
// after the receive time: then the year before (a December line read in
// January). A line stamped a few seconds into the next year, from a clock
// slightly ahead, gets the next year. Feb 29 takes the nearest earlier leap
// year when the receive year has none.
//
// A line with neither a <PRI> nor a timestamp at its start is refused, as is
// a <PRI> out of range, a date that does not exist, a time outside 1970-2261
// and malformed RFC 5424 structured data; the error says which.

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// syslogFacilities are the RFC 5424 facility names, by code. They are
// held as field values (any), so storing one in a Parsed allocates nothing.
var syslogFacilities = [24]any{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// syslogSeverities are the RFC 5424 severity names, by code, as field values.
var syslogSeverities = [8]any{
	"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug",
}

// syslogMaxSDParams bounds the structured-data parameters lifted into fields;
// more are checked for syntax but kept in the original only.
const syslogMaxSDParams = 256

// syslogHeader is what the syslog header of a line says.
type syslogHeader struct {
	pri      int // -1 when the line has none
	version  string
	ts       time.Time // zero when the line has none
	host     string
	app      string // RFC 5424 APP-NAME or BSD TAG
	procid   string
	msgid    string
	msg      string
	sdParams int
}

// ParseSyslog is the parser of the "syslog" source. See the top of this file
// for the formats; the fields are log.syslog.priority, log.syslog.facility.*,
// log.syslog.severity.*, log.level, log.syslog.version, log.syslog.msgid,
// host.name, process.name, process.pid (log.syslog.procid when not a number),
// syslog.structured_data.<SD-ID>.<PARAM> and message. A message that is a
// recognised sshd, sudo, su or PAM line also gets the auth fields of
// ParseAuth (event.category "authentication", event.action, event.outcome,
// user.name, source.ip, ...).
func ParseSyslog(line []byte, received time.Time) (Parsed, error) {
	s, orig := syslogText(line)
	f := newFields(24) // an sshd login has 21 fields
	h, err := parseSyslogHeader(s, received, f)
	if err != nil {
		return Parsed{}, err
	}
	syslogFields(&h, f)
	authRecognise(h.app, h.msg, f)
	return Parsed{Timestamp: h.ts, Fields: f, Original: orig}, nil
}

// syslogText returns the line as valid UTF-8 text (invalid bytes replaced
// with U+FFFD) and the event's original: that text as a JSON string.
func syslogText(line []byte) (string, []byte) {
	var s string
	if utf8.Valid(line) {
		s = string(line)
	} else {
		s = string(bytes.ToValidUTF8(line, []byte("\uFFFD")))
	}
	return s, appendString(make([]byte, 0, len(s)+len(s)/16+8), s)
}

// syslogFields stores the header's fields and its message.
func syslogFields(h *syslogHeader, f map[string]any) {
	if h.pri >= 0 {
		fac, sev := h.pri>>3, h.pri&7
		f["log.syslog.priority"] = number(h.pri)
		f["log.syslog.facility.code"] = number(fac)
		f["log.syslog.facility.name"] = syslogFacilities[fac]
		f["log.syslog.severity.code"] = number(sev)
		f["log.syslog.severity.name"] = syslogSeverities[sev]
		f["log.level"] = syslogSeverities[sev]
	}
	if h.version != "" {
		f["log.syslog.version"] = h.version
	}
	if h.host != "" {
		f["host.name"] = h.host
	}
	if h.app != "" {
		f["process.name"] = h.app
	}
	if h.procid != "" {
		if pid, ok := syslogUint(h.procid, 1<<31); ok {
			f["process.pid"] = number(pid)
		} else {
			f["log.syslog.procid"] = h.procid
		}
	}
	if h.msgid != "" {
		f["log.syslog.msgid"] = h.msgid
	}
	if h.msg != "" {
		f["message"] = h.msg
	}
}

// parseSyslogHeader parses s (valid UTF-8) into its header and message,
// storing structured data into f.
func parseSyslogHeader(s string, received time.Time, f map[string]any) (syslogHeader, error) {
	h := syslogHeader{pri: -1}
	s = strings.TrimPrefix(s, "\uFEFF")
	s = strings.TrimRight(s, " \t\r\n\x00")
	if strings.HasPrefix(s, "<") {
		pri, n, err := syslogPRI(s)
		if err != nil {
			return h, err
		}
		h.pri, s = pri, s[n:]
		if len(s) >= 2 && s[0] == '1' && s[1] == ' ' {
			return h, parseRFC5424(&h, s[2:], f)
		}
	}
	ts, rest, ok, err := syslogTimestamp(s, received)
	if err != nil {
		return h, err
	}
	if !ok {
		if h.pri < 0 {
			return h, fmt.Errorf("not a syslog line: expected <PRI>, a timestamp such as \"Nov 22 03:54:00\" or an RFC 3339 timestamp at the start, found %q", truncate(s, 32))
		}
		// RFC 3164 §4.3.3: no timestamp after the PRI, the rest is the
		// message (perhaps with a tag).
		h.app, h.procid, h.msg = syslogTag(strings.TrimLeft(s, " "))
		return h, nil
	}
	h.ts = ts
	if rest != "" && rest[0] != ' ' {
		return h, fmt.Errorf("syslog timestamp is followed by %q, not a space", truncate(rest, 16))
	}
	rest = strings.TrimLeft(rest, " ")
	tok, after, _ := strings.Cut(rest, " ")
	if syslogIsTag(tok) {
		// No HOST: "Nov 22 03:54:00 sshd[1]: ..."
		h.app, h.procid, h.msg = syslogTag(rest)
		return h, nil
	}
	h.host = tok
	h.app, h.procid, h.msg = syslogTag(strings.TrimLeft(after, " "))
	return h, nil
}

// syslogPRI parses "<N>" at the start of s: the priority and its length.
func syslogPRI(s string) (int, int, error) {
	end := strings.IndexByte(s[:min(len(s), 6)], '>')
	if end < 0 {
		return 0, 0, fmt.Errorf("syslog PRI %q has no closing '>' within 3 digits", truncate(s, 6))
	}
	digits := s[1:end]
	if digits == "" {
		return 0, 0, fmt.Errorf("syslog PRI \"<>\" is empty")
	}
	pri, ok := syslogUint(digits, 191)
	if !ok {
		return 0, 0, fmt.Errorf("syslog PRI %q is not a number from 0 to 191", s[:end+1])
	}
	return pri, end + 1, nil
}

// syslogUint parses a decimal number of at most 10 digits no larger than max.
func syslogUint(s string, max int) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= max
}

// parseRFC5424 parses what follows "<PRI>1 ".
func parseRFC5424(h *syslogHeader, s string, f map[string]any) error {
	h.version = "1"
	var fields [5]string
	names := [5]string{"TIMESTAMP", "HOSTNAME", "APP-NAME", "PROCID", "MSGID"}
	for i := range fields {
		tok, rest, ok := strings.Cut(s, " ")
		switch {
		case s == "":
			return fmt.Errorf("RFC 5424 header ends before %s", names[i])
		case tok == "":
			return fmt.Errorf("RFC 5424 %s is empty (two spaces in a row)", names[i])
		case !ok && i == len(fields)-1:
			return fmt.Errorf("RFC 5424 header ends after MSGID: STRUCTURED-DATA (\"-\" or [...]) is missing")
		case !ok:
			return fmt.Errorf("RFC 5424 header ends after %s: %s is missing", names[i], names[i+1])
		}
		if tok != "-" {
			fields[i] = tok
		}
		s = rest
	}
	if fields[0] != "" {
		ts, err := syslogRFC3339(fields[0], "RFC 5424 TIMESTAMP")
		if err != nil {
			return err
		}
		h.ts = ts
	}
	h.host, h.app, h.procid, h.msgid = fields[1], fields[2], fields[3], fields[4]
	switch {
	case s == "":
		return fmt.Errorf("RFC 5424 STRUCTURED-DATA is missing")
	case s[0] == '-':
		s = s[1:]
	case s[0] == '[':
		var err error
		if s, err = syslogSD(h, s, f); err != nil {
			return err
		}
	default:
		return fmt.Errorf("RFC 5424 STRUCTURED-DATA must be \"-\" or start with '[', found %q", truncate(s, 16))
	}
	if s != "" {
		if s[0] != ' ' {
			return fmt.Errorf("RFC 5424 STRUCTURED-DATA is followed by %q, not a space", truncate(s, 16))
		}
		h.msg = strings.TrimPrefix(s[1:], "\uFEFF")
	}
	return nil
}

// syslogSD parses one or more SD-ELEMENTs at the start of s into f and
// returns what follows them.
func syslogSD(h *syslogHeader, s string, f map[string]any) (string, error) {
	for s != "" && s[0] == '[' {
		s = s[1:]
		i := 0
		for i < len(s) && s[i] != ' ' && s[i] != ']' && s[i] != '=' && s[i] != '"' {
			i++
		}
		id := s[:i]
		if id == "" {
			return "", fmt.Errorf("structured data: element without an SD-ID")
		}
		if i == len(s) {
			return "", fmt.Errorf("structured data: element [%s has no closing ']'", truncate(id, 32))
		}
		s = s[i:]
		for s[0] == ' ' {
			s = s[1:]
			j := 0
			for j < len(s) && s[j] != '=' && s[j] != ' ' && s[j] != ']' && s[j] != '"' {
				j++
			}
			name := s[:j]
			if name == "" || j+1 >= len(s) || s[j] != '=' || s[j+1] != '"' {
				return "", fmt.Errorf("structured data: element [%s: expected PARAM-NAME=\"VALUE\" at %q", truncate(id, 32), truncate(s, 16))
			}
			s = s[j+2:]
			value, n, ok := syslogSDValue(s)
			if !ok {
				return "", fmt.Errorf("structured data: value of %s.%s has no closing '\"'", truncate(id, 32), truncate(name, 32))
			}
			s = s[n:]
			if h.sdParams < syslogMaxSDParams {
				h.sdParams++
				syslogAddValue(f, "syslog.structured_data."+id+"."+name, value)
			}
			if s == "" {
				return "", fmt.Errorf("structured data: element [%s has no closing ']'", truncate(id, 32))
			}
		}
		if s[0] != ']' {
			return "", fmt.Errorf("structured data: element [%s: expected ' ' or ']' at %q", truncate(id, 32), truncate(s, 16))
		}
		s = s[1:]
	}
	return s, nil
}

// syslogSDValue reads a PARAM-VALUE up to its closing quote: the value with
// \" \\ \] unescaped, and how much of s it took, quote included.
func syslogSDValue(s string) (string, int, bool) {
	esc := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			esc = true
			i++
		case '"':
			if !esc {
				return s[:i], i + 1, true
			}
			var b strings.Builder
			b.Grow(i)
			for j := 0; j < i; j++ {
				if s[j] == '\\' && j+1 < i && (s[j+1] == '"' || s[j+1] == '\\' || s[j+1] == ']') {
					j++
				}
				b.WriteByte(s[j])
			}
			return b.String(), i + 1, true
		}
	}
	return "", 0, false
}

// syslogAddValue stores v under k; a name seen twice becomes a list.
func syslogAddValue(f map[string]any, k, v string) {
	switch old := f[k].(type) {
	case nil:
		f[k] = v
	case string:
		f[k] = []any{old, v}
	case []any:
		f[k] = append(old, v)
	}
}

// syslogIsTag reports whether tok, the first word after the timestamp, is a
// TAG ("sshd[1]:", "kernel:") rather than a HOST.
func syslogIsTag(tok string) bool {
	if len(tok) < 2 || tok[len(tok)-1] != ':' {
		return false
	}
	app, _, _ := syslogTag(tok)
	return app != ""
}

// syslogTag splits "TAG[PID]: MSG" or "TAG: MSG"; text that does not start
// with a tag is all message.
func syslogTag(s string) (app, pid, msg string) {
	const maxTag = 128
	i := 0
	for i < len(s) && i <= maxTag && s[i] != ' ' && s[i] != ':' && s[i] != '[' {
		i++
	}
	if i == 0 || i > maxTag || i == len(s) {
		return "", "", syslogMsg(s)
	}
	switch s[i] {
	case ':':
		if i+1 < len(s) && s[i+1] != ' ' {
			return "", "", syslogMsg(s) // "http://..." is not a tag
		}
		return s[:i], "", syslogMsg(s[i+1:])
	case '[':
		end := strings.IndexByte(s[i:min(len(s), i+34)], ']')
		if end < 0 {
			return "", "", syslogMsg(s)
		}
		end += i
		rest := s[end+1:]
		if rest != "" && rest[0] != ':' {
			return "", "", syslogMsg(s)
		}
		return s[:i], s[i+1 : end], syslogMsg(strings.TrimPrefix(rest, ":"))
	}
	return "", "", syslogMsg(s)
}

func syslogMsg(s string) string {
	return strings.TrimRight(strings.TrimLeft(s, " "), " \t")
}

// syslogTimestamp parses the timestamp at the start of s: a BSD one (year
// and UTC assumed as the top of this file says) or an RFC 3339 one. ok is
// false when s does not start with anything like a timestamp; err is set when
// it does but the timestamp is wrong.
func syslogTimestamp(s string, received time.Time) (ts time.Time, rest string, ok bool, err error) {
	if len(s) >= 5 && syslogDigits(s[:4]) && s[4] == '-' {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			i = len(s)
		}
		ts, err := syslogRFC3339(s[:i], "timestamp")
		return ts, s[i:], true, err
	}
	st, n, ok := syslogBSDStamp(s)
	if !ok {
		if t := strings.TrimLeft(s[min(len(s), 4):], " "); len(s) >= 4 && syslogMonth(s) > 0 && s[3] == ' ' && t != "" && t[0] >= '0' && t[0] <= '9' {
			return time.Time{}, "", true, fmt.Errorf("BSD syslog timestamp %q is not \"Mmm dd hh:mm:ss\"", truncate(s, 20))
		}
		return time.Time{}, "", false, nil
	}
	ts, err = st.resolve(received)
	return ts, s[n:], true, err
}

// syslogRFC3339 parses an RFC 3339 timestamp; one without a zone is UTC.
func syslogRFC3339(tok, what string) (time.Time, error) {
	ts, err := time.Parse(time.RFC3339Nano, tok)
	if err != nil {
		var err2 error
		if ts, err2 = time.Parse("2006-01-02T15:04:05.999999999", tok); err2 != nil {
			return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time", what, truncate(tok, 40))
		}
	}
	return syslogInRange(ts, what)
}

func syslogInRange(ts time.Time, what string) (time.Time, error) {
	if ts.Before(minTime) || !ts.Before(maxTime) {
		return time.Time{}, fmt.Errorf("%s %s is outside 1970-2261", what, ts.UTC().Format(time.RFC3339))
	}
	return ts.UTC(), nil
}

func syslogDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// syslogMonth is the month of a three-letter English name at the start of s
// (any case), or 0.
func syslogMonth(s string) time.Month {
	if len(s) < 3 {
		return 0
	}
	// Lower-case the three letters without allocating.
	k := uint32(s[0]|0x20)<<16 | uint32(s[1]|0x20)<<8 | uint32(s[2]|0x20)
	switch k {
	case 'j'<<16 | 'a'<<8 | 'n':
		return time.January
	case 'f'<<16 | 'e'<<8 | 'b':
		return time.February
	case 'm'<<16 | 'a'<<8 | 'r':
		return time.March
	case 'a'<<16 | 'p'<<8 | 'r':
		return time.April
	case 'm'<<16 | 'a'<<8 | 'y':
		return time.May
	case 'j'<<16 | 'u'<<8 | 'n':
		return time.June
	case 'j'<<16 | 'u'<<8 | 'l':
		return time.July
	case 'a'<<16 | 'u'<<8 | 'g':
		return time.August
	case 's'<<16 | 'e'<<8 | 'p':
		return time.September
	case 'o'<<16 | 'c'<<8 | 't':
		return time.October
	case 'n'<<16 | 'o'<<8 | 'v':
		return time.November
	case 'd'<<16 | 'e'<<8 | 'c':
		return time.December
	}
	return 0
}

// bsdStamp is a parsed "Mmm dd [yyyy] hh:mm:ss[.frac]".
type bsdStamp struct {
	month        time.Month
	day, year    int // year 0: none given
	h, m, s, ns  int
	yearExplicit bool
}

// syslogBSDStamp parses "Mmm dd hh:mm:ss", "Mmm  d hh:mm:ss" or
// "Mmm dd yyyy hh:mm:ss", each with optional ".fraction", at the start of s.
func syslogBSDStamp(s string) (bsdStamp, int, bool) {
	var st bsdStamp
	if st.month = syslogMonth(s); st.month == 0 || len(s) < 4 || s[3] != ' ' {
		return st, 0, false
	}
	i := 4
	if i < len(s) && s[i] == ' ' { // "Nov  2"
		i++
	}
	day, n := syslogNum(s[i:], 2)
	if n == 0 || i+n >= len(s) || s[i+n] != ' ' {
		return st, 0, false
	}
	st.day, i = day, i+n+1
	if year, n := syslogNum(s[i:], 4); n == 4 && i+n < len(s) && s[i+n] == ' ' {
		st.year, st.yearExplicit, i = year, true, i+n+1
	}
	var parts [3]int
	for k := range parts {
		v, n := syslogNum(s[i:], 2)
		if n != 2 {
			return st, 0, false
		}
		parts[k], i = v, i+2
		if k < 2 {
			if i >= len(s) || s[i] != ':' {
				return st, 0, false
			}
			i++
		}
	}
	st.h, st.m, st.s = parts[0], parts[1], parts[2]
	if i < len(s) && s[i] == '.' {
		j := i + 1
		scale := 100_000_000
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			if scale > 0 {
				st.ns += int(s[j]-'0') * scale
				scale /= 10
			}
			j++
		}
		if j == i+1 || j-i > 10 {
			return st, 0, false
		}
		i = j
	}
	return st, i, true
}

// syslogNum reads up to max decimal digits at the start of s.
func syslogNum(s string, max int) (int, int) {
	v, n := 0, 0
	for n < len(s) && n < max && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}

// resolve turns the stamp into a UTC time, choosing the year as the top of
// this file says when the stamp has none.
func (st bsdStamp) resolve(received time.Time) (time.Time, error) {
	if st.h > 23 || st.m > 59 || st.s > 59 {
		return time.Time{}, fmt.Errorf("BSD syslog time %02d:%02d:%02d is not a time of day", st.h, st.m, st.s)
	}
	if st.day < 1 || st.day > 31 || (st.month == time.February && st.day > 29) ||
		(st.day == 31 && (st.month == time.April || st.month == time.June || st.month == time.September || st.month == time.November)) {
		return time.Time{}, fmt.Errorf("BSD syslog date %s %d does not exist", st.month.String()[:3], st.day)
	}
	if st.yearExplicit {
		t := time.Date(st.year, st.month, st.day, st.h, st.m, st.s, st.ns, time.UTC)
		if t.Day() != st.day {
			return time.Time{}, fmt.Errorf("BSD syslog date %s %d %d does not exist", st.month.String()[:3], st.day, st.year)
		}
		return syslogInRange(t, "BSD syslog timestamp")
	}
	received = received.UTC()
	limit := received.Add(24 * time.Hour)
	// From the year after the receive year down: the first year in which
	// the date exists and is not more than a day after the receive time.
	// Only Feb 29 needs to look further back than one year (at most 8:
	// 2100 is not a leap year).
	for y := received.Year() + 1; y >= received.Year()-8; y-- {
		t := time.Date(y, st.month, st.day, st.h, st.m, st.s, st.ns, time.UTC)
		if t.Day() != st.day || t.After(limit) {
			continue
		}
		return syslogInRange(t, "BSD syslog timestamp")
	}
	return time.Time{}, fmt.Errorf("BSD syslog date %s %d has no year near the receive time", st.month.String()[:3], st.day)
}
