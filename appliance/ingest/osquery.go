package ingest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// ParseOsquery parses one line of osquery's result log (osqueryd.results.log
// or the filesystem/TLS/Kafka logger plugins): the event format (one row,
// "action" added or removed with "columns"), the snapshot format ("action"
// snapshot with a "snapshot" list of rows) and the batch format
// ("diffResults" with added and removed lists). A status-log line
// (severity, filename, line, message) is accepted as event.action "status".
// Every field is kept under osquery.*; a list of rows becomes one list per
// column (osquery.snapshot.pid, osquery.diffResults.added.pid, ...).
//
// ECS fields from columns (event format only, where one row is one event):
// username (or user) to user.name for any query; for a query whose name
// contains "process", pid, parent, name, path, cmdline, cwd and uid to
// process.pid, process.parent.pid, process.name, process.executable,
// process.command_line, process.working_directory and user.id; for a query
// whose name contains "socket", pid and path to process.*, local_address and
// local_port to source.*, remote_address and remote_port to destination.*.
func ParseOsquery(line []byte, _ time.Time) (Parsed, error) {
	b, p, err := beginSensor(line, 12)
	if err != nil {
		return Parsed{}, err
	}
	var raw [len(osqueryTop)][]byte
	if err := sensorFlatten(b, "osquery", p.Fields, osqueryTop[:], raw[:]); err != nil {
		return Parsed{}, err
	}
	has := func(i int) bool { return sensorRaw(raw[i]) != nil }
	var action string
	kind := "event"
	switch {
	case has(osqAction):
		a, ok := sensorRaw(raw[osqAction]).(string)
		if !ok {
			return Parsed{}, errors.New(`"action" must be a string: added, removed or snapshot`)
		}
		switch a {
		case "added", "removed":
		case "snapshot":
			kind = "state"
		default:
			return Parsed{}, fmt.Errorf(`"action" %q is not added, removed or snapshot`, truncate(a, 64))
		}
		action = a
	case has(osqDiff):
		if _, ok := sensorRaw(raw[osqDiff]).(sensorObject); !ok {
			return Parsed{}, errors.New(`"diffResults" must be an object with "added" and "removed" lists`)
		}
	case has(osqSeverity) && has(osqMessage) && (has(osqFilename) || has(osqLine)):
		action = "status"
	default:
		return Parsed{}, errors.New(`not an osquery result: no "action" or "diffResults"`)
	}
	if p.Timestamp, err = osqueryTime(raw[osqUnixTime], raw[osqCalendarTime]); err != nil {
		return Parsed{}, err
	}
	m := sensorMap{f: p.Fields, p: "osquery."}
	m.set("event.module", "osquery")
	if action == "status" {
		m.set("event.dataset", "osquery.status")
	} else {
		m.set("event.dataset", "osquery.result")
	}
	m.set("observer.product", "osquery")
	m.set("observer.vendor", "osquery")
	m.set("observer.type", "host")
	if action == "" { // batch format: the lists that have rows
		var acts []any
		var lists [2][]byte
		sensorTop(raw[osqDiff], osqueryDiffLists[:], lists[:])
		for i, l := range lists {
			if len(l) > 0 && l[0] == '[' && l[sensorWS(l, 1)] != ']' { // a list with rows
				acts = append(acts, osqueryDiffLists[i])
			}
		}
		switch len(acts) {
		case 0:
			m.set("event.action", "diff")
		case 1:
			m.set("event.action", acts[0])
		default:
			m.set("event.action", acts)
		}
	} else {
		m.set("event.action", action)
	}
	if action == "status" {
		kind = "event"
		m.copyStr("message", "message")
		if n, ok := m.num("severity"); ok {
			switch n {
			case 0:
				m.set("log.level", "info")
			case 1:
				m.set("log.level", "warning")
			case 2:
				m.set("log.level", "error")
			case 3:
				m.set("log.level", "fatal")
			}
		}
	}
	m.set("event.kind", kind)

	if name, ok := m.str("name"); ok {
		m.set("rule.name", name)
		m.set("osquery.query_name", name)
	}
	for _, k := range [...]string{"hostIdentifier", "hostname", "decorations.hostname"} {
		if s, ok := m.str(k); ok {
			m.set("host.name", s)
			break
		}
	}

	if action == "added" || action == "removed" {
		osqueryColumns(m)
	}
	return p, nil
}

// osqueryTop are the top-level members ParseOsquery reads first.
var osqueryTop = [...]string{"action", "diffResults", "severity", "message", "filename", "line", "unixTime", "calendarTime"}

const (
	osqAction = iota
	osqDiff
	osqSeverity
	osqMessage
	osqFilename
	osqLine
	osqUnixTime
	osqCalendarTime
)

var osqueryDiffLists = [...]string{"added", "removed"}

// osqueryTime is the time of the result: unixTime (epoch seconds, a number
// or a string), else calendarTime ("Tue Sep 30 17:37:30 2014", UTC, with
// " UTC" in newer versions).
func osqueryTime(unixTime, calendarTime []byte) (time.Time, error) {
	if sensorRaw(unixTime) != nil {
		return sensorTime(unixTime, "unixTime")
	}
	v := sensorRaw(calendarTime)
	if v == nil {
		return time.Time{}, nil
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, errors.New(`"calendarTime" must be a string such as "Tue Sep 30 17:37:30 2014 UTC"`)
	}
	t, err := time.Parse("Mon Jan _2 15:04:05 2006 MST", s)
	if err != nil {
		t, err = time.Parse(time.ANSIC, s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf(`"calendarTime" %q is not a time such as "Tue Sep 30 17:37:30 2014 UTC"`, truncate(s, 64))
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, fmt.Errorf(`"calendarTime": %s is outside 1970-2261`, t.UTC().Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// osqueryColumns maps the well-known columns of one result row to ECS.
func osqueryColumns(m sensorMap) {
	c := sensorMap{f: m.f, p: "osquery.columns."}
	if _, ok := c.str("username"); ok {
		c.copyStr("user.name", "username")
	} else {
		c.copyStr("user.name", "user")
	}
	name, _ := m.str("name")
	name = appliance.ToLower(name)
	switch {
	case strings.Contains(name, "process"):
		m.set("event.category", "process")
		c.copyCount("process.pid", "pid")
		c.copyCount("process.parent.pid", "parent")
		c.copyStr("process.name", "name")
		c.copyStr("process.executable", "path")
		c.copyStr("process.command_line", "cmdline")
		c.copyStr("process.working_directory", "cwd")
		c.copyNumText("user.id", "uid")
	case strings.Contains(name, "socket"):
		m.set("event.category", "network")
		c.copyCount("process.pid", "pid")
		c.copyStr("process.executable", "path")
		c.copyIP("source.ip", "local_address")
		c.copyPort("source.port", "local_port")
		c.copyIP("destination.ip", "remote_address")
		c.copyPort("destination.port", "remote_port")
	}
}
