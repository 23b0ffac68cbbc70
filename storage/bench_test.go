package storage_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/storage/storetest"
)

const benchBatch = 1000

// benchEntry encodes batch number n: 1000 sshd events of about 500 bytes
// with 9 index terms each, as the leader would propose it.
func benchEntry(b *testing.B, n int) (data []byte, docBytes int) {
	c := &command.IngestBatch{Tenant: "acme", Source: "syslog", BatchID: fmt.Sprint("bench-", n)}
	for i := range benchBatch {
		k := n*benchBatch + i
		fields := storetest.SSHFields(k)
		fields["destination.ip"] = "10.1.0.5"
		ev := storetest.LineEvent("acme", "syslog", storetest.Base.Add(time.Duration(k)*time.Millisecond), uint64(k), fields, storetest.SSHLine(k))
		docBytes += len(ev.Doc)
		c.Events = append(c.Events, ev)
	}
	return storetest.Encode(b, c), docBytes
}

// BenchmarkApplyIngestBatch measures the state machine's side of ingest:
// decoding one committed IngestBatch entry and writing its events and index
// entries to Badger (plus the applied index to both stores).
func BenchmarkApplyIngestBatch(b *testing.B) {
	s := storetest.MustOpenStore(b)
	l := &storetest.Log{TB: b, Store: s}
	l.MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: storetest.Base}})
	b.ReportAllocs()
	var docBytes int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		data, n := benchEntry(b, i)
		docBytes = n
		b.SetBytes(int64(len(data)))
		l.Index++
		entry := &raft.Log{Index: l.Index, Term: 1, Type: raft.LogCommand, Data: data}
		b.StartTimer()
		if res := s.Apply(entry); res != nil {
			b.Fatal(res)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(docBytes)/benchBatch, "doc-bytes/event")
}
