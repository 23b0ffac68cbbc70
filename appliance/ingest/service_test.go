package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/storage/storetest"
)

// testLimits are small enough to reach in a test.
var testLimits = ingest.Limits{MaxBodyBytes: 1 << 20, MaxLineBytes: 64 << 10, MaxLines: 1000, MaxInFlight: 8, MaxEntryBytes: 8 << 20}

func withLimits(f func(*ingest.Limits)) ingest.Limits {
	l := testLimits
	f(&l)
	return l
}

// padLine returns a JSON line of exactly n bytes (n >= 14).
func padLine(n int) string {
	return `{"message":"` + strings.Repeat("x", n-14) + `"}`
}

// msgLine is a small valid line carrying a distinguishable message.
func msgLine(i int) string {
	return fmt.Sprintf(`{"message":"line %03d","event":{"sequence":%d}}`, i, i)
}

// messages returns the "message" field of each stored document, sorted.
func messages(t testing.TB, docs [][]byte) []string {
	t.Helper()
	out := make([]string, 0, len(docs))
	for _, d := range docs {
		var m map[string]any
		if err := json.Unmarshal(d, &m); err != nil {
			t.Fatalf("stored document %s is not JSON: %v", d, err)
		}
		s, _ := m["message"].(string)
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func TestSources(t *testing.T) {
	svc := ingest.New(&storetest.Proposer{}, testLimits, time.Now, nil)
	// Every source of INTERFACE.md.
	want := []string{"auth", "cef", "cowrie", "json", "osquery", "suricata", "syslog", "sysmon", "windows", "zeek"}
	if got := svc.Sources(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Sources() = %v", got)
	}
}

func TestIngestReportsBadLinesByNumberAndKeepsGoodOnes(t *testing.T) {
	e := newEnv(t, testLimits)
	body := `{"message":"one"}` + "\r\n" + // 1
		"\r\n" + // 2 blank (CRLF)
		"not json\r\n" + // 3
		"   \t\n" + // 4 blank (spaces)
		`{"message":"two"}` + "\n" + // 5
		"[1]\r\n" + // 6
		"\n" + // 7 blank
		`{"@timestamp":"yesterday","message":"three"}` // 8, no final newline
	res := e.mustIngest(t, "acme", "", body)
	if res.Accepted != 2 || res.Rejected != 2+1 {
		t.Fatalf("accepted %d rejected %d, want 2 and 3", res.Accepted, res.Rejected)
	}
	want := []ingest.LineError{
		{Line: 3, Reason: "not a JSON object: "},
		{Line: 6, Reason: "not a JSON object: "},
		{Line: 8, Reason: `@timestamp "yesterday" is not an RFC 3339 time`},
	}
	if len(res.Errors) != len(want) {
		t.Fatalf("errors %+v, want %+v", res.Errors, want)
	}
	for i, w := range want {
		if res.Errors[i].Line != w.Line || !strings.HasPrefix(res.Errors[i].Reason, w.Reason) {
			t.Errorf("error %d = %+v, want line %d with reason starting %q", i, res.Errors[i], w.Line, w.Reason)
		}
	}
	if got := messages(t, e.docs(t, "acme")); !reflect.DeepEqual(got, []string{"one", "two"}) {
		t.Fatalf("stored messages %q, want the good lines", got)
	}
}

func TestIngestCRLFOnlyBody(t *testing.T) {
	e := newEnv(t, testLimits)
	body := strings.Repeat("\r\n", 5) + "bad\r\n" + msgLine(1) + "\r\r\n"
	res := e.mustIngest(t, "acme", "", body)
	if res.Accepted != 1 || res.Rejected != 1 || len(res.Errors) != 1 || res.Errors[0].Line != 6 {
		t.Fatalf("result %+v, want line 6 rejected and line 7 accepted", res)
	}
}

func TestIngestEmptyBody(t *testing.T) {
	for name, body := range map[string]string{"empty": "", "blank lines": "\n\r\n  \n\t\n"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, testLimits)
			res := e.mustIngest(t, "acme", "", body)
			if res.Accepted != 0 || res.Rejected != 0 {
				t.Fatalf("result %+v", res)
			}
			if res.Errors == nil {
				t.Fatal("Errors is nil; the API answers \"errors\":[] only for an empty slice")
			}
			if j, _ := json.Marshal(res); !bytes.Contains(j, []byte(`"errors":[]`)) {
				t.Fatalf("result encodes as %s", j)
			}
			if n := len(batches(e.prop)); n != 0 {
				t.Fatalf("%d entries proposed for an empty batch", n)
			}
		})
	}
}

func TestIngestReportsAtMost100Errors(t *testing.T) {
	e := newEnv(t, testLimits)
	var b strings.Builder
	for range 150 {
		b.WriteString("{bad\n")
	}
	b.WriteString(msgLine(1) + "\n")
	res := e.mustIngest(t, "acme", "", b.String())
	if res.Rejected != 150 || res.Accepted != 1 {
		t.Fatalf("accepted %d rejected %d, want 1 and 150", res.Accepted, res.Rejected)
	}
	if len(res.Errors) != 100 {
		t.Fatalf("%d errors listed, want 100", len(res.Errors))
	}
	for i, le := range res.Errors {
		if le.Line != i+1 || le.Reason == "" {
			t.Fatalf("error %d = %+v", i, le)
		}
	}
	if n := len(e.docs(t, "acme")); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
}

func TestIngestLimits(t *testing.T) {
	cases := []struct {
		name     string
		limits   ingest.Limits
		body     string
		wantCode string // "" for success
		wantMsg  string
	}{
		{"body at the limit", withLimits(func(l *ingest.Limits) { l.MaxBodyBytes = 200 }),
			padLine(199) + "\n", "", ""},
		{"body one byte over", withLimits(func(l *ingest.Limits) { l.MaxBodyBytes = 200 }),
			padLine(200) + "\n", appliance.ETOOLARGE, "body exceeds 200 bytes"},
		{"body far over, many lines", withLimits(func(l *ingest.Limits) { l.MaxBodyBytes = 200 }),
			strings.Repeat(msgLine(1)+"\n", 100), appliance.ETOOLARGE, "body exceeds 200 bytes"},
		{"line at the limit", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 60 }),
			lines(msgLine(1), padLine(60), msgLine(2)), "", ""},
		{"line at the limit with CRLF", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 60 }),
			msgLine(1) + "\r\n" + padLine(60) + "\r\n", "", ""},
		{"line at the limit ending in CR CR LF", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 60 }),
			msgLine(1) + "\r\n" + padLine(60) + "\r\r\n", "", ""},
		{"line at the limit, last, no newline", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 60 }),
			msgLine(1) + "\n" + padLine(60), "", ""},
		// Over 64 KiB the line limit is the scanner's buffer, which must
		// leave room for the CR and LF around a line of the maximum length.
		{"large limit: line at the limit", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 100_000 }),
			lines(msgLine(1), padLine(100_000), msgLine(2)), "", ""},
		{"large limit: line at the limit with CRLF", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 100_000 }),
			msgLine(1) + "\r\n" + padLine(100_000) + "\r\n" + msgLine(2) + "\r\n", "", ""},
		{"large limit: line one byte over", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 100_000 }),
			lines(msgLine(1), padLine(100_001), msgLine(2)), appliance.ETOOLARGE, "line 2 is longer than 100000 bytes"},
		{"large limit: line far over", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 100_000 }),
			lines(msgLine(1), padLine(300_000), msgLine(2)), appliance.ETOOLARGE, "line 2 is longer than 100000 bytes"},
		{"line one byte over", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 60 }),
			lines(msgLine(1), msgLine(2), padLine(61), msgLine(3)), appliance.ETOOLARGE, "line 3 is longer than 60 bytes"},
		{"line one byte over, last, no newline", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 60 }),
			msgLine(1) + "\n" + padLine(61), appliance.ETOOLARGE, "line 2 is longer than 60 bytes"},
		{"line far over", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 60 }),
			lines(msgLine(1), padLine(5000), msgLine(2)), appliance.ETOOLARGE, "line 2 is longer than 60 bytes"},
		{"line far over after blank and CRLF lines", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 60 }),
			"\r\n\n" + msgLine(1) + "\r\n" + padLine(100000), appliance.ETOOLARGE, "line 4 is longer than 60 bytes"},
		{"over-long bad line is still a size error", withLimits(func(l *ingest.Limits) { l.MaxLineBytes = 60 }),
			lines(strings.Repeat("!", 61)), appliance.ETOOLARGE, "line 1 is longer than 60 bytes"},
		{"lines at the limit", withLimits(func(l *ingest.Limits) { l.MaxLines = 3 }),
			lines(msgLine(1), msgLine(2), msgLine(3)), "", ""},
		{"one line too many", withLimits(func(l *ingest.Limits) { l.MaxLines = 3 }),
			lines(msgLine(1), msgLine(2), msgLine(3), msgLine(4)), appliance.ETOOLARGE, "more than 3 lines"},
		{"too many bad lines", withLimits(func(l *ingest.Limits) { l.MaxLines = 3 }),
			lines("x", "y", "z", "w"), appliance.ETOOLARGE, "more than 3 lines"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.limits)
			res, err := e.ingest(t, "acme", "", c.body)
			if c.wantCode == "" {
				if err != nil {
					t.Fatalf("Ingest: %v", err)
				}
				if res.Rejected != 0 || res.Accepted == 0 {
					t.Fatalf("result %+v", res)
				}
				return
			}
			wantCode(t, err, c.wantCode)
			if err.Error() != c.wantMsg && !strings.Contains(err.Error(), c.wantMsg) {
				t.Fatalf("error %q does not say %q", err, c.wantMsg)
			}
			if !reflect.DeepEqual(res, ingest.Result{}) {
				t.Fatalf("result %+v returned with the error", res)
			}
			// Refused whole: nothing of the batch was proposed or stored.
			if n := len(batches(e.prop)); n != 0 {
				t.Fatalf("%d entries proposed for a refused batch", n)
			}
			if n := len(e.docs(t, "acme")); n != 0 {
				t.Fatalf("%d events stored from a refused batch", n)
			}
		})
	}
}

func TestIngestUnknownSource(t *testing.T) {
	e := newEnv(t, testLimits)
	for _, src := range []string{"evtx", "", "JSON", "json "} {
		_, err := e.svc.Ingest(context.Background(), ingest.Request{Tenant: "acme", Source: src, Body: strings.NewReader(msgLine(1))})
		wantCode(t, err, appliance.EINVALID)
		if !strings.Contains(err.Error(), fmt.Sprintf("unknown source %q", src)) || !strings.Contains(err.Error(), "json") {
			t.Fatalf("error %q does not name the source and the known ones", err)
		}
	}
	if n := len(batches(e.prop)); n != 0 {
		t.Fatalf("%d entries proposed", n)
	}
}

func TestIngestBatchIDLength(t *testing.T) {
	e := newEnv(t, testLimits)
	if _, err := e.ingest(t, "acme", strings.Repeat("k", 128), lines(msgLine(1))); err != nil {
		t.Fatalf("128-character batch id: %v", err)
	}
	_, err := e.ingest(t, "acme", strings.Repeat("k", 129), lines(msgLine(2)))
	wantCode(t, err, appliance.EINVALID)
	if !strings.Contains(err.Error(), "128") {
		t.Fatalf("error %q does not give the limit", err)
	}
	if n := len(e.docs(t, "acme")); n != 1 {
		t.Fatalf("%d events stored, want only the first batch's", n)
	}
}

// countingReader fails the test if the service reads a body it refused.
type countingReader struct {
	mu    sync.Mutex
	reads int
}

func (r *countingReader) Read([]byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	return 0, io.EOF
}

func TestIngestBusyWhenInFlightLimitReached(t *testing.T) {
	st := newEnv(t, testLimits) // for the store only
	gate := &gatedProposer{next: st.prop, entered: make(chan struct{}, 16), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	svc := ingest.New(gate, withLimits(func(l *ingest.Limits) { l.MaxInFlight = 2 }), st.clock.Now, reg)

	errs := make(chan error, 2)
	release := sync.OnceFunc(func() { close(gate.release) })
	var held sync.WaitGroup
	t.Cleanup(func() { // on an early failure, let the held batches finish before the store closes
		release()
		held.Wait()
	})
	for i := range 2 {
		held.Go(func() {
			_, err := svc.Ingest(context.Background(), ingest.Request{Tenant: "acme", Source: "json", Body: strings.NewReader(lines(msgLine(i)))})
			errs <- err
		})
	}
	<-gate.entered
	<-gate.entered // both batches hold a slot now

	wantMetrics(t, reg, map[string]float64{"xdr_ingest_batches_in_flight": 2, "xdr_ingest_refused_busy_total": 0})

	body := &countingReader{}
	res, err := svc.Ingest(context.Background(), ingest.Request{Tenant: "acme", Source: "json", Body: body})
	wantCode(t, err, appliance.EBUSY)
	if !strings.Contains(err.Error(), "2 batches in flight") || !strings.Contains(err.Error(), "retry") {
		t.Errorf("error %q does not explain the refusal", err)
	}
	if !reflect.DeepEqual(res, ingest.Result{}) || body.reads != 0 {
		t.Errorf("a refused request returned %+v after %d reads of its body", res, body.reads)
	}
	// An unknown source is still an EINVALID, not a busy, answer.
	_, err = svc.Ingest(context.Background(), ingest.Request{Tenant: "acme", Source: "nope", Body: body})
	wantCode(t, err, appliance.EINVALID)

	release()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("held batch: %v", err)
		}
	}
	// The slots are free again.
	if _, err := svc.Ingest(context.Background(), ingest.Request{Tenant: "acme", Source: "json", Body: strings.NewReader(lines(msgLine(9)))}); err != nil {
		t.Fatalf("after release: %v", err)
	}
	wantMetrics(t, reg, map[string]float64{"xdr_ingest_batches_in_flight": 0, "xdr_ingest_refused_busy_total": 1})
	if n := len(st.docs(t, "acme")); n != 3 {
		t.Fatalf("%d events stored, want 3", n)
	}
}

func TestIngestProposerErrorAcknowledgesNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	svc := ingest.New(failingProposer{err: fmt.Errorf("raft apply: %w", appliance.ErrNotLeader)},
		withLimits(func(l *ingest.Limits) { l.MaxInFlight = 1 }), time.Now, reg)
	for range 3 { // the in-flight slot is given back after a failure
		res, err := svc.Ingest(context.Background(), ingest.Request{Tenant: "acme", Source: "json", Body: strings.NewReader(lines(msgLine(1), "bad"))})
		if !errors.Is(err, appliance.ErrNotLeader) {
			t.Fatalf("error %v, want ErrNotLeader", err)
		}
		if !reflect.DeepEqual(res, ingest.Result{}) {
			t.Fatalf("result %+v with the error", res)
		}
	}
	// The lines were received, and dropped: the sender was told to retry.
	wantMetrics(t, reg, map[string]float64{
		`xdr_events_received_total{source="json"}`: 6, `xdr_events_dropped_total{source="json"}`: 6,
		`xdr_events_accepted_total{source="json"}`: 0, `xdr_events_rejected_total{source="json"}`: 0,
		"xdr_ingest_batch_events_count": 0, "xdr_ingest_refused_busy_total": 0,
	})
}

func TestIngestBodyReadError(t *testing.T) {
	e := newEnv(t, testLimits)
	cause := errors.New("gzip: invalid checksum")
	for name, c := range map[string]struct {
		body io.Reader
		want string
	}{
		"at once":         {iotest.ErrReader(cause), "reading body after line 0"},
		"after two lines": {io.MultiReader(strings.NewReader(lines(msgLine(1), msgLine(2))), iotest.ErrReader(cause)), "reading body after line 2"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Ingest(context.Background(), ingest.Request{Tenant: "acme", Source: "json", Body: c.body})
			wantCode(t, err, appliance.EINVALID)
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), cause.Error()) {
				t.Fatalf("error %q, want %q and the cause", err, c.want)
			}
		})
	}
	if n := len(e.docs(t, "acme")); n != 0 {
		t.Fatalf("%d events stored from unreadable bodies", n)
	}
}

func TestIngestSplitsLargeBatchIntoParts(t *testing.T) {
	for _, batchID := range []string{"", "split-key"} {
		t.Run("batch id "+batchID, func(t *testing.T) {
			// Entry budget 400 bytes: under 200 bytes of input per entry,
			// so four 45-byte lines per part.
			e := newEnv(t, withLimits(func(l *ingest.Limits) { l.MaxEntryBytes = 400 }))
			var ls []string
			for i := range 20 {
				ls = append(ls, msgLine(i))
			}
			res := e.mustIngest(t, "acme", batchID, lines(ls...))
			if res.Accepted != 20 {
				t.Fatalf("accepted %d", res.Accepted)
			}
			batches := batches(e.prop)
			if len(batches) < 2 {
				t.Fatalf("%d entries, want the batch split", len(batches))
			}
			var got []string
			ids := map[appliance.EventID]bool{}
			for i, b := range batches {
				if b.Part != uint32(i) {
					t.Fatalf("entry %d has part %d", i, b.Part)
				}
				if b.Tenant != "acme" || b.Source != "json" || b.BatchID != batches[0].BatchID || b.BatchID == "" {
					t.Fatalf("entry %d: tenant %q source %q batch %q", i, b.Tenant, b.Source, b.BatchID)
				}
				if b.Idempotent != (batchID != "") || (batchID != "" && b.BatchID != batchID) {
					t.Fatalf("entry %d: idempotent %v batch %q for client key %q", i, b.Idempotent, b.BatchID, batchID)
				}
				if len(b.Events) == 0 {
					t.Fatalf("entry %d is empty", i)
				}
				size := 0
				for _, ev := range b.Events {
					if ids[ev.ID] {
						t.Fatalf("event %s is in two entries", ev.ID)
					}
					ids[ev.ID] = true
					var m map[string]any
					if err := json.Unmarshal(ev.Doc, &m); err != nil {
						t.Fatal(err)
					}
					got = append(got, m["message"].(string))
					var seq int
					fmt.Sscanf(m["message"].(string), "line %d", &seq)
					size += len(msgLine(seq))
				}
				if len(b.Events) > 1 && size >= 200 {
					t.Fatalf("entry %d carries %d input bytes, over the 200-byte budget", i, size)
				}
			}
			var want []string
			for i := range 20 {
				want = append(want, fmt.Sprintf("line %03d", i))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("entries hold %q, want every line once in order", got)
			}
			if stored := messages(t, e.docs(t, "acme")); !reflect.DeepEqual(stored, want) {
				t.Fatalf("stored %q", stored)
			}
		})
	}
}

func TestIngestLineOverEntryBudgetGetsItsOwnPart(t *testing.T) {
	e := newEnv(t, withLimits(func(l *ingest.Limits) { l.MaxEntryBytes = 100 }))
	res := e.mustIngest(t, "acme", "k", lines(padLine(300), padLine(300), msgLine(1)))
	if res.Accepted != 3 {
		t.Fatalf("accepted %d", res.Accepted)
	}
	batches := batches(e.prop)
	if len(batches) != 3 {
		t.Fatalf("%d entries, want one per line", len(batches))
	}
	if n := len(e.docs(t, "acme")); n != 3 {
		t.Fatalf("%d stored", n)
	}
}

func TestIngestIdempotentRetryStoresOnce(t *testing.T) {
	cases := map[string]struct {
		limits ingest.Limits
		body   string
		good   int
	}{
		"with @timestamp":    {testLimits, lines(`{"@timestamp":"2024-03-01T11:00:00Z","message":"a"}`, `{"@timestamp":1709290800,"message":"b"}`, "bad"), 2},
		"without @timestamp": {testLimits, lines(msgLine(1), msgLine(2), "bad", msgLine(3)), 3},
		"split over parts": {withLimits(func(l *ingest.Limits) { l.MaxEntryBytes = 400 }),
			lines(msgLine(1), msgLine(2), msgLine(3), msgLine(4), msgLine(5), msgLine(6), msgLine(7), "oops"), 7},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, c.limits)
			first := e.mustIngest(t, "acme", "retry-1", c.body)
			// The retry arrives later: receive times, and the IDs of events
			// without @timestamp, differ from the first attempt's.
			e.clock.Advance(90 * time.Second)
			again := e.mustIngest(t, "acme", "retry-1", c.body)
			if !reflect.DeepEqual(first, again) {
				t.Fatalf("retry answered %+v, first %+v", again, first)
			}
			if first.Accepted != c.good || first.Rejected != 1 {
				t.Fatalf("result %+v", first)
			}
			if n := len(e.docs(t, "acme")); n != c.good {
				t.Fatalf("%d events stored after a retry, want %d", n, c.good)
			}
			// The same key in another tenant is another batch.
			e.mustIngest(t, "other", "retry-1", c.body)
			if n := len(e.docs(t, "other")); n != c.good {
				t.Fatalf("other tenant: %d events stored, want %d", n, c.good)
			}
		})
	}
}

func TestIngestWithoutBatchIDIsNotDeduplicated(t *testing.T) {
	e := newEnv(t, testLimits)
	body := lines(`{"@timestamp":"2024-03-01T11:00:00Z","message":"a"}`)
	e.mustIngest(t, "acme", "", body)
	e.mustIngest(t, "acme", "", body)
	if n := len(e.docs(t, "acme")); n != 2 {
		t.Fatalf("%d events stored, want 2 (no key: two batches)", n)
	}
	b := batches(e.prop)
	if b[0].BatchID == b[1].BatchID || b[0].Idempotent || b[1].Idempotent {
		t.Fatalf("random batch ids %q %q, idempotent %v %v", b[0].BatchID, b[1].BatchID, b[0].Idempotent, b[1].Idempotent)
	}
}

func TestIngestBatchIDReuseWithOtherBodyConflicts(t *testing.T) {
	split := withLimits(func(l *ingest.Limits) { l.MaxEntryBytes = 400 }) // four msgLines per part
	cases := []struct {
		name          string
		limits        ingest.Limits
		first, second []string
	}{
		{"one line differs", testLimits,
			[]string{msgLine(1), msgLine(2)}, []string{msgLine(1), msgLine(3)}},
		{"same lines, other order", testLimits,
			[]string{msgLine(1), msgLine(2)}, []string{msgLine(2), msgLine(1)}},
		{"extra line", testLimits,
			[]string{msgLine(1), msgLine(2)}, []string{msgLine(1), msgLine(2), msgLine(3)}},
		{"second part differs", split,
			[]string{msgLine(1), msgLine(2), msgLine(3), msgLine(4), msgLine(5)}, []string{msgLine(1), msgLine(2), msgLine(3), msgLine(4), msgLine(6)}},
		// The second body starts with the whole first one and goes on
		// past the first part: its part 0 matches the stored record, its
		// part 1 has none yet.
		{"extended across a part boundary", split,
			[]string{msgLine(1), msgLine(2), msgLine(3), msgLine(4)}, []string{msgLine(1), msgLine(2), msgLine(3), msgLine(4), msgLine(5)}},
		{"cut to the first part", split,
			[]string{msgLine(1), msgLine(2), msgLine(3), msgLine(4), msgLine(5), msgLine(6)}, []string{msgLine(1), msgLine(2), msgLine(3), msgLine(4)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.limits)
			e.mustIngest(t, "acme", "reused-key", lines(c.first...))
			res, err := e.ingest(t, "acme", "reused-key", lines(c.second...))
			if err == nil {
				t.Errorf("reusing the key with another body succeeded: %+v", res)
			} else {
				wantCode(t, err, appliance.ECONFLICT)
			}
			var want []string
			for _, l := range c.first {
				var m map[string]any
				json.Unmarshal([]byte(l), &m)
				want = append(want, m["message"].(string))
			}
			sort.Strings(want)
			if got := messages(t, e.docs(t, "acme")); !reflect.DeepEqual(got, want) {
				t.Fatalf("stored %q, want only the first body %q", got, want)
			}
		})
	}
}

func TestIngestEventIDs(t *testing.T) {
	body := lines(`{"@timestamp":"2024-03-01T11:00:00.25Z","message":"a"}`, msgLine(1), msgLine(1))
	ids := func(batchID string) []appliance.EventID {
		e := newEnv(t, testLimits)
		e.mustIngest(t, "acme", batchID, body)
		var out []appliance.EventID
		for _, b := range batches(e.prop) {
			for _, ev := range b.Events {
				out = append(out, ev.ID)
				var m map[string]any
				json.Unmarshal(ev.Doc, &m)
				if m["id"] != ev.ID.String() {
					t.Fatalf("document id %v, event id %s", m["id"], ev.ID)
				}
				if !ev.ID.Time().Equal(ev.Timestamp) {
					t.Fatalf("id time %v, event time %v", ev.ID.Time(), ev.Timestamp)
				}
			}
		}
		return out
	}
	a := ids("key-a")
	if len(a) != 3 {
		t.Fatalf("%d events", len(a))
	}
	if want := time.Date(2024, 3, 1, 11, 0, 0, 250e6, time.UTC); !a[0].Time().Equal(want) {
		t.Fatalf("event with @timestamp has ID time %v, want %v", a[0].Time(), want)
	}
	if !a[1].Time().Equal(t0) {
		t.Fatalf("event without @timestamp has ID time %v, want the receive time %v", a[1].Time(), t0)
	}
	if a[1] == a[2] {
		t.Fatal("two identical lines got the same ID")
	}
	if again := ids("key-a"); !reflect.DeepEqual(a, again) {
		t.Fatalf("same key and body gave IDs %v then %v", a, again)
	}
	other := ids("key-b")
	for i := range a {
		if a[i] == other[i] {
			t.Fatalf("line %d has ID %s under two batch keys", i+1, a[i])
		}
	}
}

// topLevelKeys lists the keys of a JSON object in document order.
func topLevelKeys(t testing.TB, doc []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("document %s does not start an object", doc)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("document %s: %v", doc, err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("document %s: %v", doc, err)
		}
	}
	return keys
}

func TestIngestStoredDocument(t *testing.T) {
	e := newEnv(t, testLimits)
	hostileMsg := "quote\" backslash\\ nl\n cr\r tab\t ctrl\x01\x1f del\x7f <script>&amp; \u2028 é"
	msgJSON, _ := json.Marshal(hostileMsg)
	line := `{"@timestamp":"2024-03-01T11:00:00.5Z","message":` + string(msgJSON) +
		`,"user":{"name":"Ro\u0000OT"},"host":{"name":"a` + "\xff" + `b"},"source":{"ip":"10.0.0.5","port":22},` +
		`"event":{"category":["Auth","NET"]},"foo":"bar"}`
	res := e.mustIngest(t, "acme", "", lines(line))
	if res.Accepted != 1 {
		t.Fatalf("result %+v", res)
	}
	docs := e.docs(t, "acme")
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	doc := docs[0]
	if !json.Valid(doc) {
		t.Fatalf("stored document is not JSON: %s", doc)
	}
	for i, c := range doc {
		if c < 0x20 {
			t.Fatalf("raw control byte %#x at %d in %q", c, i, doc)
		}
	}
	keys := topLevelKeys(t, doc)
	if !reflect.DeepEqual(keys[:5], []string{"id", "tenant", "source", "@timestamp", "received"}) || keys[len(keys)-1] != "original" {
		t.Fatalf("keys %q: want id, tenant, source, @timestamp, received first and original last", keys)
	}
	if !sort.StringsAreSorted(keys[5 : len(keys)-1]) {
		t.Fatalf("normalised fields %q are not in key order", keys[5:len(keys)-1])
	}

	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	batch := batches(e.prop)[0]
	want := map[string]any{
		"id":             batch.Events[0].ID.String(),
		"tenant":         "acme",
		"source":         "json",
		"@timestamp":     "2024-03-01T11:00:00.5Z",
		"received":       t0.Format(time.RFC3339Nano),
		"message":        hostileMsg,
		"user.name":      "Ro\x00OT",
		"host.name":      "a\uFFFDb",
		"source.ip":      "10.0.0.5",
		"source.port":    json.Number("22"),
		"event.category": []any{"Auth", "NET"},
	}
	orig, ok := m["original"].(map[string]any)
	if !ok || orig["foo"] != "bar" || orig["message"] != hostileMsg {
		t.Fatalf("original %#v does not hold the input object", m["original"])
	}
	delete(m, "original")
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("document fields\n got %#v\nwant %#v", m, want)
	}

	wantTerms := []appliance.Term{
		{Field: "source", Value: "json"},
		{Field: "event.category", Value: "auth"},
		{Field: "event.category", Value: "net"},
		{Field: "host.name", Value: "a\uFFFDb"},
		{Field: "source.ip", Value: "10.0.0.5"},
		{Field: "source.port", Value: "22"},
		{Field: "user.name", Value: "root"},
	}
	if got := batch.Events[0].Terms; !reflect.DeepEqual(got, wantTerms) {
		t.Fatalf("terms\n got %q\nwant %q", got, wantTerms)
	}
	if got := batch.Events[0].Timestamp; !got.Equal(time.Date(2024, 3, 1, 11, 0, 0, 500e6, time.UTC)) {
		t.Fatalf("event time %v", got)
	}
}

func TestIngestTermsOfNumbersAndLongValues(t *testing.T) {
	e := newEnv(t, testLimits)
	long := strings.Repeat("X", 300)
	e.mustIngest(t, "acme", "", lines(`{"destination":{"port":443.0},"source.port":-1.5,"event":{"code":4625,"outcome":"DENIED"},"process":{"command_line":"`+long+`"},"message":"not indexed"}`))
	got := batches(e.prop)[0].Events[0].Terms
	want := []appliance.Term{
		{Field: "source", Value: "json"},
		{Field: "destination.port", Value: "443"},
		{Field: "event.code", Value: "4625"},
		{Field: "event.outcome", Value: "failure"},
		{Field: "process.command_line", Value: strings.Repeat("x", appliance.MaxIndexedValue)},
		{Field: "source.port", Value: "-1.5"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("terms\n got %q\nwant %q", got, want)
	}
}

// TestIngestStoredDocumentIsValidUTF8: JSON exchanged between systems must
// be UTF-8 (RFC 8259 §8.1). Invalid bytes in normalised fields are replaced;
// the stored "original" must not carry them raw either.
func TestIngestStoredDocumentIsValidUTF8(t *testing.T) {
	e := newEnv(t, testLimits)
	e.mustIngest(t, "acme", "", lines(`{"custom":"a`+"\xff\xfe"+`b","message":"c`+"\xc3"+`d"}`))
	docs := e.docs(t, "acme")
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	if !utf8.Valid(docs[0]) {
		t.Fatalf("stored document is not valid UTF-8: %q", docs[0])
	}
}

// TestIngestNeverStoresInvalidJSON: whatever a line holds, the stored
// document is JSON; a line that is not one JSON object is rejected instead.
func TestIngestNeverStoresInvalidJSON(t *testing.T) {
	e := newEnv(t, testLimits)
	// The third line would close the API's "events" array and add keys of
	// its own to the search answer, were it stored verbatim.
	res := e.mustIngest(t, "acme", "", lines(msgLine(1), `{"message":"x"}]`, `{"message":"y"}],"next":"","injected":{"k":1}`, `{"message":"z"}}`, msgLine(2)))
	for _, d := range e.docs(t, "acme") {
		if !json.Valid(d) {
			t.Errorf("stored document is not JSON: %s", d)
		}
	}
	if res.Accepted != 2 || res.Rejected != 3 || len(res.Errors) != 3 || res.Errors[0].Line != 2 || res.Errors[2].Line != 4 {
		t.Errorf("result %+v, want lines 2, 3 and 4 rejected", res)
	}
}

func TestIngestReservedNamesCannotBeOverwritten(t *testing.T) {
	e := newEnv(t, testLimits)
	line := `{"id":"evil-id","tenant":"evil","received":"evil","original":"evil","@timestamp":"2024-03-01T11:00:00Z",` +
		`"source":"evil","event":{"id":"E-1"},"user":{"id":"U-1"},"source.id":"S-1"}`
	e.mustIngest(t, "acme", "", lines(line))
	docs := e.docs(t, "acme")
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	keys := topLevelKeys(t, docs[0])
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Fatalf("key %q appears twice in %s", k, docs[0])
		}
		seen[k] = true
	}
	var m map[string]any
	json.Unmarshal(docs[0], &m)
	ev := batches(e.prop)[0].Events[0]
	checks := map[string]any{
		"id": ev.ID.String(), "tenant": "acme", "source": "json", "received": t0.Format(time.RFC3339Nano),
		"@timestamp": "2024-03-01T11:00:00Z", "event.id": "E-1", "user.id": "U-1", "source.id": "S-1",
	}
	for k, want := range checks {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if orig, _ := m["original"].(map[string]any); orig == nil || orig["id"] != "evil-id" || orig["tenant"] != "evil" {
		t.Errorf("original %v lost the sent values", m["original"])
	}
	for _, term := range ev.Terms {
		if term.Value == "evil" {
			t.Errorf("term %+v indexes an input value under a reserved name", term)
		}
	}
}

func TestIngestTenantIsolation(t *testing.T) {
	e := newEnv(t, testLimits)
	e.mustIngest(t, "alpha", "same-key", lines(`{"message":"for alpha"}`))
	e.mustIngest(t, "beta", "same-key", lines(`{"message":"for beta"}`, `{"message":"also beta"}`))
	if got := messages(t, e.docs(t, "alpha")); !reflect.DeepEqual(got, []string{"for alpha"}) {
		t.Fatalf("alpha sees %q", got)
	}
	if got := messages(t, e.docs(t, "beta")); !reflect.DeepEqual(got, []string{"also beta", "for beta"}) {
		t.Fatalf("beta sees %q", got)
	}
	for _, d := range e.docs(t, "beta") {
		if !bytes.Contains(d, []byte(`"tenant":"beta"`)) {
			t.Fatalf("beta document %s", d)
		}
	}
}

func TestIngestConcurrentBatches(t *testing.T) {
	e := newEnv(t, withLimits(func(l *ingest.Limits) { l.MaxInFlight = 32 }))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			var ls []string
			for i := range 10 {
				ls = append(ls, msgLine(g*10+i))
			}
			_, err := e.ingest(t, "acme", fmt.Sprintf("g%d", g), lines(ls...))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.docs(t, "acme")); n != 160 {
		t.Fatalf("%d events stored, want 160", n)
	}
}

// gather returns every sample of reg by series name: counters, gauges and
// untyped metrics as name{label="value",...}, histograms as name_count,
// name_sum and name_bucket{le="..."}.
func gather(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			series := f.GetName()
			if len(labels) > 0 {
				series += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[series] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[series] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				h := m.GetHistogram()
				out[f.GetName()+"_count"] = float64(h.GetSampleCount())
				out[f.GetName()+"_sum"] = h.GetSampleSum()
				for _, b := range h.GetBucket() {
					out[fmt.Sprintf("%s_bucket{le=%q}", f.GetName(), fmt.Sprint(b.GetUpperBound()))] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

// wantMetrics checks that each series exists with the value given.
func wantMetrics(t testing.TB, reg *prometheus.Registry, want map[string]float64) {
	t.Helper()
	got := gather(t, reg)
	for series, v := range want {
		g, ok := got[series]
		if !ok {
			t.Errorf("series %s does not exist (have %v)", series, got)
			continue
		}
		if g != v {
			t.Errorf("%s = %v, want %v", series, g, v)
		}
	}
}

func TestMetricsExistAtZeroAfterNew(t *testing.T) {
	e := newEnv(t, testLimits)
	wantMetrics(t, e.reg, map[string]float64{
		`xdr_events_received_total{source="json"}`:   0,
		`xdr_events_accepted_total{source="json"}`:   0,
		`xdr_events_rejected_total{source="json"}`:   0,
		`xdr_events_dropped_total{source="json"}`:    0,
		`xdr_events_received_total{source="syslog"}`: 0,
		"xdr_ingest_batches_in_flight":               0,
		"xdr_ingest_refused_busy_total":              0,
		"xdr_ingest_batch_events_count":              0,
		"xdr_ingest_batch_events_sum":                0,
		`xdr_ingest_batch_events_bucket{le="1"}`:     0,
	})
}

func TestMetricsCountIngest(t *testing.T) {
	e := newEnv(t, withLimits(func(l *ingest.Limits) { l.MaxLines = 5 }))
	e.mustIngest(t, "acme", "", lines(msgLine(1), "bad", msgLine(2)))
	e.mustIngest(t, "acme", "", lines(msgLine(3)))
	// A batch refused whole: the 5 lines read before the sixth broke the
	// limit count as received and dropped, none as rejected.
	if _, err := e.ingest(t, "acme", "", lines("1", "2", "3", "4", "5", "6")); err == nil {
		t.Fatal("over-long batch accepted")
	}
	wantMetrics(t, e.reg, map[string]float64{
		`xdr_events_received_total{source="json"}`: 9,
		`xdr_events_accepted_total{source="json"}`: 3,
		`xdr_events_rejected_total{source="json"}`: 1,
		`xdr_events_dropped_total{source="json"}`:  5,
		"xdr_ingest_batches_in_flight":             0,
		"xdr_ingest_refused_busy_total":            0,
		"xdr_ingest_batch_events_count":            2,
		"xdr_ingest_batch_events_sum":              3,
		`xdr_ingest_batch_events_bucket{le="1"}`:   1,
		`xdr_ingest_batch_events_bucket{le="4"}`:   2,
	})
}

func TestNewWithoutRegistry(t *testing.T) {
	p := &storetest.Proposer{}
	svc := ingest.New(p, testLimits, time.Now, nil)
	res, err := svc.Ingest(context.Background(), ingest.Request{Tenant: "acme", Source: "json", Body: strings.NewReader(lines(msgLine(1)))})
	if err != nil || res.Accepted != 1 || len(batches(p)) != 1 {
		t.Fatalf("result %+v, %v", res, err)
	}
	// Two services on one registry would collide; on separate ones they do not.
	ingest.New(p, testLimits, time.Now, prometheus.NewRegistry())
	ingest.New(p, testLimits, time.Now, prometheus.NewRegistry())
}

var _ command.Proposer = (*storetest.Proposer)(nil)
