package storage_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/storage/storetest"
)

// BenchmarkApplyIngestBatchDetect is BenchmarkApplyIngestBatch with events
// the built-in rules select and match: sshd failed logins (source auth,
// event.action ssh-login) from 1,000 addresses, one batch spanning a
// second. "correlations": the brute-force, spraying and success-after-
// failures correlations keep state for every address and fire now and
// then; "alert-per-event": with them disabled the failed-login rule alerts
// on every event (1,000 alerts and incident updates per batch).
func BenchmarkApplyIngestBatchDetect(b *testing.B) {
	b.Run("correlations", func(b *testing.B) { benchDetect(b) })
	b.Run("alert-per-event", func(b *testing.B) {
		benchDetect(b, "6f1c2b7e-3a41-4d0c-9b1e-5a2f0c7d1e10", "6f1c2b7e-3a41-4d0c-9b1e-5a2f0c7d1e11", "6f1c2b7e-3a41-4d0c-9b1e-5a2f0c7d1e12")
	})
}

func benchDetect(b *testing.B, disable ...string) {
	s := storetest.MustOpenStore(b)
	l := &storetest.Log{TB: b, Store: s}
	l.MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: storetest.Base}})
	for _, id := range disable {
		l.MustApply(&command.SetRuleEnabled{Tenant: "acme", ID: id})
	}
	users := []string{"root", "admin", "oracle", "test", "ubuntu", "postgres"}
	entry := func(n int) []byte {
		c := &command.IngestBatch{Tenant: "acme", Source: "auth", BatchID: fmt.Sprint("detect-", n)}
		for i := range benchBatch {
			k := n*benchBatch + i
			ts := storetest.Base.Add(time.Duration(k) * time.Millisecond)
			ip := "10.1." + strconv.Itoa(k%1000/250) + "." + strconv.Itoa(k%250)
			fields := map[string]any{
				"event.action": "ssh-login", "event.outcome": "failure", "event.category": []any{"authentication"},
				"source.ip": ip, "source.port": float64(40000 + k%20000), "user.name": users[k%len(users)], "host.name": "srv-1",
				"message": "Failed password for " + users[k%len(users)] + " from " + ip + " port 51234 ssh2",
			}
			c.Events = append(c.Events, storetest.Event("acme", "auth", ts, uint64(k), fields))
		}
		return storetest.Encode(b, c)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		data := entry(i)
		l.Index++
		e := &raft.Log{Index: l.Index, Term: 1, Type: raft.LogCommand, Data: data}
		b.StartTimer()
		if res := s.Apply(e); res != nil {
			b.Fatal(res)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "events/s")
}
