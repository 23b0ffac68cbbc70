package eventstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/storage/eventstore"
	"github.com/minixdr/xdr/storage/storetest"
)

// records collects snapshot records in memory.
type records struct {
	kinds    []byte
	payloads [][]byte
	fail     error
}

func (r *records) Record(kind byte, parts ...[]byte) error {
	if r.fail != nil {
		return r.fail
	}
	r.kinds = append(r.kinds, kind)
	r.payloads = append(r.payloads, bytes.Join(parts, nil))
	return nil
}

// keysWithPrefix counts the dumped keys starting with b.
func (r *records) keysWithPrefix(b byte) int {
	n := 0
	for _, p := range r.payloads {
		l, k := binary.Uvarint(p)
		if k > 0 && l > 0 && p[k] == b {
			n++
		}
	}
	return n
}

func dump(t *testing.T, s *eventstore.Store) *records {
	t.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	r := &records{}
	if err := sn.Dump(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func count(t *testing.T, s *eventstore.Store, tenant string) int {
	t.Helper()
	n := 0
	req := appliance.EventSearch{Tenant: tenant, Limit: eventstore.MaxLimit}
	for {
		page, err := s.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Events)
		if page.Next == (appliance.EventID{}) {
			return n
		}
		req.Cursor = page.Next
	}
}

func TestApplyBatchAppliedIndex(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	if s.Applied() != 0 {
		t.Fatalf("new store: Applied() = %d", s.Applied())
	}
	b1 := storetest.Batch("acme", "b1", 0, 10)
	if ok, err := s.ApplyBatch(3, "acme", b1.Events); !ok || err != nil {
		t.Fatalf("ApplyBatch: %v, %v", ok, err)
	}
	// Replays at or below the applied index write nothing.
	b2 := storetest.Batch("acme", "b2", 100, 10)
	for _, idx := range []uint64{1, 3} {
		if ok, err := s.ApplyBatch(idx, "acme", b2.Events); ok || err != nil {
			t.Fatalf("replay at %d: %v, %v", idx, ok, err)
		}
	}
	if _, err := s.Get(context.Background(), "acme", b2.Events[0].ID); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("event of a replayed entry: %v", err)
	}
	for _, idx := range []uint64{0, 2, 3} {
		if err := s.MarkApplied(idx); err != nil || s.Applied() != 3 {
			t.Fatalf("MarkApplied(%d): %v; Applied() = %d, want 3", idx, err, s.Applied())
		}
	}
	if err := s.MarkApplied(8); err != nil || s.Applied() != 8 {
		t.Fatalf("MarkApplied(8): %v; Applied() = %d", err, s.Applied())
	}
	if ok, _ := s.ApplyBatch(5, "acme", b2.Events); ok {
		t.Fatal("batch below a marked index applied")
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, dir)
	if s.Applied() != 8 {
		t.Fatalf("Applied() after reopen = %d, want 8", s.Applied())
	}
	if n := count(t, s, "acme"); n != 10 {
		t.Fatalf("%d events after reopen, want 10", n)
	}
	if ok, err := s.ApplyBatch(9, "acme", b2.Events); !ok || err != nil {
		t.Fatalf("ApplyBatch after reopen: %v, %v", ok, err)
	}
	if n := count(t, s, "acme"); n != 20 {
		t.Fatalf("%d events, want 20", n)
	}
}

func TestOnlyIndexedFieldsGetIndexKeys(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	ev := storetest.Event("acme", "json", storetest.Base, 1, map[string]any{"user.name": "root", "message": "hello"})
	ev.Terms = append(ev.Terms, appliance.Term{Field: "message", Value: "hello"})
	if _, err := s.ApplyBatch(1, "acme", []appliance.Event{ev}); err != nil {
		t.Fatal(err)
	}
	r := dump(t, s)
	// The document, the source and user.name postings, their counts
	// (source at three levels, user.name at two: no hours) and the bucket's
	// stamp at three levels, the rollup marker; nothing for the unindexed
	// message, and no metadata (the applied index).
	for prefix, want := range map[byte]int{'e': 1, 'x': 2, 'r': 8, 'R': 1} {
		if n := r.keysWithPrefix(prefix); n != want {
			t.Errorf("%d keys starting with %q, want %d", n, prefix, want)
		}
	}
	if len(r.kinds) != 12 {
		t.Fatalf("%d records, want 12", len(r.kinds))
	}
	for i, k := range r.kinds {
		if k != eventstore.RecordKV {
			t.Fatalf("record kind %q", k)
		}
		n := r.payloads[i][0]
		if key := r.payloads[i][1 : 1+n]; key[0] == 'm' {
			t.Fatalf("dump holds metadata key %q", key)
		}
	}
}

func TestSnapshotDumpAndLoad(t *testing.T) {
	ctx := context.Background()
	src := mustOpen(t, t.TempDir())
	b1 := storetest.Batch("acme", "b1", 0, 50)
	b2 := storetest.Batch("beta", "b2", 0, 20)
	src.ApplyBatch(1, "acme", b1.Events)
	src.ApplyBatch(2, "beta", b2.Events)

	sn, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	later := storetest.Batch("acme", "later", 500, 5)
	if ok, err := src.ApplyBatch(3, "acme", later.Events); !ok || err != nil {
		t.Fatal(err)
	}
	r := &records{}
	if err := sn.Dump(r); err != nil {
		t.Fatal(err)
	}
	sn.Release()
	if n := r.keysWithPrefix('e'); n != 70 {
		t.Fatalf("dump has %d events, want 70 (the snapshot point)", n)
	}

	dstDir := t.TempDir()
	dst := mustOpen(t, dstDir)
	old := storetest.Batch("stale", "old", 0, 5)
	dst.ApplyBatch(40, "stale", old.Events)
	l, err := dst.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	if dst.Applied() != 0 || count(t, dst, "stale") != 0 {
		t.Fatal("NewLoader did not empty the store")
	}
	for i, p := range r.payloads {
		if err := l.Record(p); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := l.Commit(2); err != nil {
		t.Fatal(err)
	}
	if dst.Applied() != 2 {
		t.Fatalf("Applied() after load = %d, want 2", dst.Applied())
	}
	if count(t, dst, "acme") != 50 || count(t, dst, "beta") != 20 {
		t.Fatal("loaded store lacks events")
	}
	if _, err := dst.Get(ctx, "acme", later.Events[0].ID); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("event applied after the snapshot point was loaded: %v", err)
	}
	// Index entries came along: an indexed search finds the same events.
	page, err := dst.Search(ctx, appliance.EventSearch{Tenant: "acme", Expr: mustParse(t, "user.name:root"), Limit: 1000})
	if err != nil || !page.Indexed || len(page.Events) != 13 {
		t.Fatalf("indexed search after load: %d events, indexed %v, %v", len(page.Events), page.Indexed, err)
	}
	again := dump(t, dst)
	if len(again.payloads) != len(r.payloads) {
		t.Fatal("dump of the loaded store differs")
	}
	for i := range again.payloads {
		if !bytes.Equal(again.payloads[i], r.payloads[i]) {
			t.Fatalf("dump of the loaded store differs at record %d", i)
		}
	}
	dst.Close()
	dst = mustOpen(t, dstDir)
	if dst.Applied() != 2 || count(t, dst, "acme") != 50 {
		t.Fatalf("after reopen: Applied() = %d", dst.Applied())
	}
}

func TestLoaderRefusals(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	for _, payload := range [][]byte{
		nil,
		{0x80},                       // cut length
		{5, 'e', 'x'},                // key longer than the record
		{0},                          // empty key
		append([]byte{4}, "mabc"...), // metadata
		append([]byte{4}, "racm0123456789abcdef"...), // a rollup count of 16 bytes, not 8
	} {
		s.ApplyBatch(7, "acme", storetest.Batch("acme", "b", 0, 3).Events)
		l, err := s.NewLoader()
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Record(payload); err == nil {
			t.Fatalf("Record(% x) succeeded", payload)
		}
		l.Abort()
		if s.Applied() != 0 || count(t, s, "acme") != 0 {
			t.Fatalf("after an aborted load: Applied() = %d", s.Applied())
		}
	}
	s.Close()
	s = mustOpen(t, dir)
	if s.Applied() != 0 {
		t.Fatalf("after an aborted load and reopen: Applied() = %d, want 0", s.Applied())
	}
}

func TestDumpWriterError(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	s.ApplyBatch(1, "acme", storetest.Batch("acme", "b", 0, 3).Events)
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	boom := errors.New("boom")
	if err := sn.Dump(&records{fail: boom}); !errors.Is(err, boom) {
		t.Fatalf("Dump to a failing writer: %v", err)
	}
}

func TestOpenOptions(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{7}, 32)
	s, err := eventstore.Open(dir, eventstore.Options{EncryptionKey: key}, storetest.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b := storetest.Batch("acme", "b", 0, 5)
	s.ApplyBatch(1, "acme", b.Events)
	s.Close()
	// The data is not readable in the clear on disk.
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte("Failed password")) {
			t.Errorf("%s holds event text in the clear", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := eventstore.Open(dir, eventstore.Options{}, storetest.Discard); err == nil {
		s.Close()
		t.Fatal("encrypted store opened without its key")
	}
	if s, err := eventstore.Open(dir, eventstore.Options{EncryptionKey: bytes.Repeat([]byte{8}, 32)}, storetest.Discard); err == nil {
		s.Close()
		t.Fatal("encrypted store opened with another key")
	}
	s, err = eventstore.Open(dir, eventstore.Options{EncryptionKey: key}, storetest.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Applied() != 1 || count(t, s, "acme") != 5 {
		t.Fatalf("encrypted store after reopen: Applied() = %d", s.Applied())
	}

	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o600)
	if _, err := eventstore.Open(file, eventstore.Options{}, storetest.Discard); err == nil || !strings.Contains(err.Error(), "open event store") {
		t.Fatalf("Open on a file: %v", err)
	}
}
