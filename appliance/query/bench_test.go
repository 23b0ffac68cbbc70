package query_test

import (
	"testing"

	"github.com/minixdr/xdr/appliance/query"
)

const benchQuery = `(event.outcome:failure OR event.action:logon-failed) user.name:ro* ` +
	`-source.ip:10.0.0.1 source.port>=22 original.Event.System.EventID:4625 "failed password"`

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := query.Parse(benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	e, err := query.Parse(benchQuery)
	if err != nil {
		b.Fatal(err)
	}
	f := query.DocFields(decode(b, sshEvent, false), []byte(sshEvent))
	if !query.Match(e, f) {
		b.Fatal("benchmark query does not match")
	}
	b.ReportAllocs()
	for b.Loop() {
		query.Match(e, f)
	}
}

// BenchmarkMatchFreshDoc includes lowering the text, as when each event is
// checked once.
func BenchmarkMatchFreshDoc(b *testing.B) {
	e, err := query.Parse(benchQuery)
	if err != nil {
		b.Fatal(err)
	}
	doc := decode(b, sshEvent, false)
	raw := []byte(sshEvent)
	b.ReportAllocs()
	for b.Loop() {
		query.Match(e, query.DocFields(doc, raw))
	}
}
