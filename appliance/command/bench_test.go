package command_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
)

// syslogBatch is a listener's batch of 4,000 sshd events as the ingest
// service builds them: ~700-byte documents, 8 index terms each.
func syslogBatch() *command.IngestBatch {
	b := &command.IngestBatch{Tenant: "default", Source: "syslog", BatchID: "0123456789abcdef0123456789abcdef"}
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for i := range 4000 {
		ts := t0.Add(time.Duration(i) * time.Microsecond)
		ip := fmt.Sprintf("10.%d.%d.%d", i%200, (i/200)%250, i%250)
		user := fmt.Sprintf("u%d", i%997)
		doc := fmt.Sprintf(`{"id":"%032x","tenant":"default","source":"syslog","@timestamp":%q,"received":"2026-11-22T09:00:01.5Z","auth.invalid_user":true,"auth.ssh.method":"password","event.action":"ssh-login","event.category":"authentication","event.outcome":"failure","host.name":"bench-host","log.level":"informational","log.syslog.facility.code":4,"log.syslog.facility.name":"auth","log.syslog.priority":38,"log.syslog.severity.code":6,"log.syslog.severity.name":"informational","log.syslog.version":"1","message":"Failed password for invalid user %s from %s port %d ssh2","process.name":"sshd","process.pid":%d,"related.ip":[%q],"related.user":[%q],"source.ip":%q,"source.port":%d,"user.name":%q,"original":"\u003c38\u003e1 %s bench-host sshd %d - - Failed password for invalid user %s from %s port %d ssh2"}`,
			i, ts.Format(time.RFC3339Nano), user, ip, 1024+i, 1000+i%5000, ip, user, ip, 1024+i, user, ts.Format(time.RFC3339Nano), 1000+i%5000, user, ip, 1024+i)
		b.Events = append(b.Events, appliance.Event{ID: appliance.NewEventID(ts, uint64(i)), Timestamp: ts, Doc: []byte(doc), Terms: []appliance.Term{
			{Field: "source", Value: "syslog"}, {Field: "event.action", Value: "ssh-login"}, {Field: "event.category", Value: "authentication"},
			{Field: "event.outcome", Value: "failure"}, {Field: "host.name", Value: "bench-host"}, {Field: "source.ip", Value: ip},
			{Field: "source.port", Value: fmt.Sprint(1024 + i)}, {Field: "user.name", Value: user},
		}})
	}
	return b
}

// BenchmarkEncodeIngestBatch is what proposing a syslog batch costs the
// request before Raft: encoding and compressing.
func BenchmarkEncodeIngestBatch(b *testing.B) {
	batch := syslogBatch()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := command.Encode(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Events)), "ns/event")
}

// BenchmarkDecodeIngestBatch is what reading the entry costs the apply.
func BenchmarkDecodeIngestBatch(b *testing.B) {
	data, err := command.Encode(syslogBatch())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := command.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*4000), "ns/event")
}
