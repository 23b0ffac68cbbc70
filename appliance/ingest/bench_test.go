package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/ingest"
)

// encodeOnly stands in for Raft: it encodes the command, which is the part
// of proposing that runs on the request's goroutine.
type encodeOnly struct{}

func (encodeOnly) Propose(_ context.Context, c command.Command) error {
	_, err := command.Encode(c)
	return err
}

// BenchmarkIngestParse measures the request side of ingest for a batch of
// 1,000 ~480-byte ECS events: split, parse, normalise, build documents and
// terms, encode the command.
func BenchmarkIngestParse(b *testing.B) {
	body := ecsLines()
	s := ingest.New(encodeOnly{}, ingest.DefaultLimits, time.Now, nil)
	b.SetBytes(int64(body.Len()))
	for b.Loop() {
		res, err := s.Ingest(context.Background(), ingest.Request{Tenant: "t", Source: "json", Body: bytes.NewReader(body.Bytes())})
		if err != nil || res.Accepted != 1000 {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkParseJSON is the parser of the generic json source alone, over
// the lines of BenchmarkIngestParse.
func BenchmarkParseJSON(b *testing.B) {
	lines := bytes.Split(bytes.TrimSpace(ecsLines().Bytes()), []byte("\n"))
	b.SetBytes(int64(len(lines[0])))
	b.ReportAllocs()
	n := 0
	rate := ingest.StartRate()
	for b.Loop() {
		p, err := ingest.ParseJSON(lines[n%len(lines)])
		if err != nil {
			b.Fatal(err)
		}
		ingest.Release(p)
		n++
	}
	rate.Report(b, n, "events")
}

// ecsLines is 1,000 ~480-byte ECS events, one per line.
func ecsLines() *bytes.Buffer {
	var body bytes.Buffer
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&body, `{"@timestamp":"2026-11-22T04:13:04.909907293Z","event":{"action":"file_create","outcome":"failure","code":"4625","category":"authentication"},"source":{"ip":"10.0.35.%d","port":%d},"destination":{"ip":"192.168.1.229","port":22},"user":{"name":"root"},"host":{"name":"web-18.corp.example"},"process":{"executable":"/usr/sbin/sshd"},"message":"Failed password for root from 10.0.35.99 port 13937 ssh2 (attempt %d)","labels":{"site":"plant-7","rack":"r29","zone":"ot-dmz"}}`+"\n", i%250, 1024+i, i)
	}
	return &body
}

// BenchmarkIngestSyslog measures the request side of syslog ingest for a
// listener's batch of 4,000 RFC 5424 sshd messages shaped like
// bench/syslogload's: parse, normalise (auth recognition included), build
// documents and terms, encode and compress the command.
func BenchmarkIngestSyslog(b *testing.B) {
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	msgs := make([][]byte, 4000)
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, "<38>1 %s bench-host sshd %d - - Failed password for invalid user u%d from 10.%d.%d.%d port %d ssh2",
			start.Add(time.Duration(i)*time.Microsecond).Format(time.RFC3339Nano), 1000+i%5000, i%997, i%200, (i/200)%250, i%250, 1024+i%60000)
	}
	s := ingest.New(encodeOnly{}, ingest.DefaultLimits, time.Now, nil)
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.IngestMessages(context.Background(), "t", "syslog", msgs)
		if err != nil || res.Accepted != len(msgs) {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
}
