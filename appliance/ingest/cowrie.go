package ingest

import (
	"errors"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// ParseCowrie parses one line of the Cowrie honeypot's JSON log
// (output_jsonlog, cowrie.json). Every field is kept under cowrie.*; the
// attacker's password stays there only (it is the attacker's input, not a
// secret of ours, and no ECS field fits it).
func ParseCowrie(line []byte, _ time.Time) (Parsed, error) {
	b, p, err := beginSensor(line, 12)
	if err != nil {
		return Parsed{}, err
	}
	var raw [len(cowrieTop)][]byte
	if err := sensorFlatten(b, "cowrie", p.Fields, cowrieTop[:], raw[:]); err != nil {
		return Parsed{}, err
	}
	v := sensorRaw(raw[0])
	if v == nil {
		return Parsed{}, errors.New(`not a Cowrie event: no "eventid"`)
	}
	eventid, ok := v.(string)
	if !ok || eventid == "" {
		return Parsed{}, errors.New(`"eventid" must be a non-empty string such as "cowrie.login.failed"`)
	}
	if p.Timestamp, err = sensorTime(raw[1], "timestamp"); err != nil {
		return Parsed{}, err
	}
	m := sensorMap{f: p.Fields, p: "cowrie."}
	m.set("event.module", "cowrie")
	m.set("event.dataset", "cowrie")
	m.set("event.kind", "event")
	m.set("observer.type", "honeypot")
	m.set("observer.product", "Cowrie")
	m.set("observer.vendor", "Cowrie")

	// cowrie.login.failed -> login-failed
	id := strings.TrimPrefix(eventid, "cowrie.")
	m.set("event.action", strings.ReplaceAll(id, ".", "-"))
	group, _, _ := strings.Cut(id, ".")
	switch group {
	case "login":
		m.set("event.category", "authentication")
	case "command":
		m.set("event.category", "process")
	case "session":
		switch id {
		case "session.file_download", "session.file_upload", "session.file_download.failed":
			m.set("event.category", "file")
		default:
			m.set("event.category", "session")
		}
	case "log":
		m.set("event.category", "session")
	case "client", "direct-tcpip", "tcpip":
		m.set("event.category", "network")
	case "file_download", "file_upload", "virustotal":
		m.set("event.category", "file")
	}
	switch id {
	case "session.connect":
		m.set("event.type", "start")
	case "session.closed":
		m.set("event.type", "end")
	}
	switch {
	case strings.HasSuffix(id, ".success"):
		m.set("event.outcome", "success")
	case strings.HasSuffix(id, ".failed"):
		m.set("event.outcome", "failure")
	}

	m.copyIP("source.ip", "src_ip")
	m.copyPort("source.port", "src_port")
	m.copyIP("destination.ip", "dst_ip")
	m.copyPort("destination.port", "dst_port")
	m.copyStr("user.name", "username")
	m.copyStr("process.command_line", "input")
	m.copyStr("observer.name", "sensor")
	m.copyStr("host.name", "sensor")
	m.copyDuration("event.duration", "duration")
	if s, ok := m.str("protocol"); ok {
		m.set("network.protocol", appliance.ToLower(s))
		m.set("network.transport", "tcp")
	}
	if s, ok := m.str("version"); ok && group == "client" { // cowrie.client.version
		proto, sw := sensorSSHSoftware(s)
		m.setStr("ssh.client.proto_version", proto)
		m.setStr("ssh.client.software", sw)
	}
	m.copyStr("ssh.client.hassh", "hassh")

	// session.file_download / file_upload
	if s, ok := m.str("url"); ok {
		m.set("url.original", s)
	}
	m.copyStr("file.hash.sha256", "shasum")
	m.copyStr("file.path", "outfile")
	m.copyStr("file.name", "filename")

	// message is a string, or (session.params and a few others) a list.
	switch msg := m.get("message").(type) {
	case string:
		m.setStr("message", msg)
	case []any:
		parts := make([]string, 0, len(msg))
		for _, e := range msg {
			if s, ok := e.(string); ok && s != "" {
				parts = append(parts, s)
			}
		}
		m.setStr("message", strings.Join(parts, "\n"))
	}
	return p, nil
}

var cowrieTop = [...]string{"eventid", "timestamp"}
