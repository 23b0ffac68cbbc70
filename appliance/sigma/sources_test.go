package sigma

import (
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/appliance/sigma/sigmatest"
)

// TestSourceMapping: rules on our non-Windows sources, matched against
// documents made by the real ingest parsers, as the pipeline stores them.
func TestSourceMapping(t *testing.T) {
	received := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, source, line string
		parse              ingest.Parser
		logsource, det     string
		want               bool
	}{
		{"cowrie: sensor field name", "cowrie",
			`{"eventid":"cowrie.command.input","input":"wget http://x/y.sh","src_ip":"203.0.113.9","session":"s1","timestamp":"2026-03-01T12:00:00Z","sensor":"hp1"}`,
			ingest.ParseCowrie, "{product: cowrie}", "s: {eventid: cowrie.command.input, input|contains: wget}\ncondition: s", true},
		{"cowrie: ECS names", "cowrie",
			`{"eventid":"cowrie.command.input","input":"wget http://x/y.sh","src_ip":"203.0.113.9","session":"s1","timestamp":"2026-03-01T12:00:00Z"}`,
			ingest.ParseCowrie, "{product: cowrie}", "s: {event.action: command-input, process.command_line|startswith: 'WGET ', source.ip|cidr: 203.0.113.0/24}\ncondition: s", true},
		{"auth via linux sshd: keywords in the line", "auth",
			`Mar  1 12:00:00 host sshd[1]: Failed password for root from 203.0.113.9 port 2222 ssh2`,
			ingest.ParseAuth, "{product: linux, service: sshd}", "k: ['Failed password']\ncondition: k", true},
		{"auth: ECS fields", "auth",
			`Mar  1 12:00:00 host sshd[1]: Failed password for root from 203.0.113.9 port 2222 ssh2`,
			ingest.ParseAuth, "{product: linux, service: auth}", "s: {event.outcome: failure, user.name: root, SourceIp: 203.0.113.9}\ncondition: s", true},
		{"linux rule does not take a cowrie event", "cowrie",
			`{"eventid":"cowrie.login.failed","username":"root","src_ip":"203.0.113.9","session":"s1","timestamp":"2026-03-01T12:00:00Z"}`,
			ingest.ParseCowrie, "{product: linux, service: sshd}", "s: {user.name: root}\ncondition: s", false},
		{"zeek service selects the log; Zeek's field names", "zeek",
			`{"_path":"dns","ts":1772366400,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":5353,"id.resp_h":"10.0.0.1","id.resp_p":53,"proto":"udp","query":"evil.example.com","qtype_name":"A"}`,
			ingest.ParseZeek, "{product: zeek, service: dns}", "s: {query|endswith: .example.com, id.orig_h: 10.0.0.5}\ncondition: s", true},
		{"zeek service that is not the event's", "zeek",
			`{"_path":"dns","ts":1772366400,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":5353,"id.resp_h":"10.0.0.1","id.resp_p":53,"proto":"udp","query":"evil.example.com"}`,
			ingest.ParseZeek, "{product: zeek, service: conn}", "s: {id.orig_h: 10.0.0.5}\ncondition: s", false},
		{"category dns on zeek", "zeek",
			`{"_path":"dns","ts":1772366400,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":5353,"id.resp_h":"10.0.0.1","id.resp_p":53,"proto":"udp","query":"evil.example.com"}`,
			ingest.ParseZeek, "{category: dns}", "s: {QueryName: evil.example.com}\ncondition: s", true},
		{"suricata alert", "suricata",
			`{"timestamp":"2026-03-01T12:00:00.000000+0000","event_type":"alert","src_ip":"203.0.113.9","src_port":4444,"dest_ip":"10.0.0.5","dest_port":22,"proto":"TCP","alert":{"signature":"ET SCAN Potential SSH Scan","signature_id":2001219,"severity":2}}`,
			ingest.ParseSuricata, "{product: suricata, service: alert}", "s: {rule.name|contains: SSH Scan, destination.port: 22}\ncondition: s", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.parse([]byte(tt.line), received)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := sigmatest.StoredDoc(tt.source, "e1", p, received)
			if err != nil {
				t.Fatal(err)
			}
			rules, err := ParseRules([]byte("title: t\nid: t\nlogsource: " + tt.logsource + "\ndetection:\n" + indent(tt.det)))
			if err != nil {
				t.Fatal(err)
			}
			rs, errs := Compile(rules)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			ev, err := NewEvent(doc)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(rs.Match(ev, nil)) == 1; got != tt.want {
				t.Errorf("match = %v, want %v; document %s", got, tt.want, doc)
			}
		})
	}
}
