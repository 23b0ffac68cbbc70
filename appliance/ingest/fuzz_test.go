package ingest_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/storage/storetest"
)

// fuzzLimits are small, so the fuzzer reaches every limit.
var fuzzLimits = ingest.Limits{MaxBodyBytes: 8 << 10, MaxLineBytes: 512, MaxLines: 64, MaxInFlight: 1, MaxEntryBytes: 256}

// rawLines splits body as the service's scanner does: at '\n', with a
// last line only when something follows the final '\n'.
func rawLines(body []byte) [][]byte {
	ls := bytes.Split(body, []byte("\n"))
	if len(ls[len(ls)-1]) == 0 {
		ls = ls[:len(ls)-1]
	}
	return ls
}

func isBlank(raw []byte) bool {
	return len(bytes.TrimSpace(bytes.TrimRight(raw, "\r"))) == 0
}

// FuzzIngestBody feeds arbitrary bodies to Service.Ingest. It must never
// panic. When it refuses a body, a limit must have been crossed, and nothing
// may have been proposed. When it accepts one, every non-blank line is
// accounted for as accepted or rejected, errors name lines in range and in
// order, and the proposed entries hold every accepted event once, in parts
// numbered from 0.
func FuzzIngestBody(f *testing.F) {
	for _, s := range []string{
		"",
		"\n",
		"{\"message\":\"a\"}\n",
		"{\"message\":\"a\"}\r\n\r\nbad\r\n{\"@timestamp\":\"x\"}\n   \n{\"event\":{\"outcome\":\"ok\"}}",
		"x\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\n",
		"\r\r\r\n\r",
		"{\"a\":1}\x00\n\xff\n",
	} {
		f.Add([]byte(s))
	}
	received := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		p := &storetest.Proposer{} // encode and decode each entry, store nothing
		svc := ingest.New(p, fuzzLimits, func() time.Time { return received }, nil)
		res, err := svc.Ingest(context.Background(), ingest.Request{Tenant: "acme", Source: "json", BatchID: "fuzz", Body: bytes.NewReader(body)})

		raw := rawLines(body)
		mustFail := len(body) > int(fuzzLimits.MaxBodyBytes) || len(raw) > fuzzLimits.MaxLines
		mayFail := mustFail
		nonBlank := 0
		for _, l := range raw {
			long := len(bytes.TrimRight(l, "\r")) > fuzzLimits.MaxLineBytes
			if !isBlank(l) {
				nonBlank++
				mustFail = mustFail || long
			}
			mayFail = mayFail || long
		}

		if err != nil {
			if appliance.ErrorCode(err) != appliance.ETOOLARGE {
				t.Fatalf("error %q has code %q", err, appliance.ErrorCode(err))
			}
			if !mayFail {
				t.Fatalf("refused a body within the limits: %v", err)
			}
			if n := len(batches(p)); n != 0 {
				t.Fatalf("%d entries proposed for a refused body", n)
			}
			return
		}
		if mustFail {
			t.Fatalf("accepted a body over the limits: %+v", res)
		}
		if res.Accepted+res.Rejected != nonBlank {
			t.Fatalf("accepted %d + rejected %d != %d non-blank lines", res.Accepted, res.Rejected, nonBlank)
		}
		if want := min(res.Rejected, 100); len(res.Errors) != want {
			t.Fatalf("%d errors listed for %d rejected lines", len(res.Errors), res.Rejected)
		}
		prev := 0
		for _, le := range res.Errors {
			if le.Line <= prev || le.Line > len(raw) {
				t.Fatalf("error line %d after %d, body has %d lines", le.Line, prev, len(raw))
			}
			if isBlank(raw[le.Line-1]) {
				t.Fatalf("error on blank line %d", le.Line)
			}
			if le.Reason == "" {
				t.Fatalf("line %d rejected without a reason", le.Line)
			}
			prev = le.Line
		}
		events := 0
		ids := map[appliance.EventID]bool{}
		for i, b := range batches(p) {
			if b.Part != uint32(i) || b.BatchID != "fuzz" || !b.Idempotent || len(b.Events) == 0 {
				t.Fatalf("entry %d: part %d batch %q idempotent %v with %d events", i, b.Part, b.BatchID, b.Idempotent, len(b.Events))
			}
			for _, ev := range b.Events {
				if ids[ev.ID] {
					t.Fatalf("event %s proposed twice", ev.ID)
				}
				ids[ev.ID] = true
				events++
			}
		}
		if events != res.Accepted {
			t.Fatalf("%d events proposed, %d accepted", events, res.Accepted)
		}
	})
}
