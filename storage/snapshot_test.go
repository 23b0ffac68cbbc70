package storage_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/eventstore"
	"github.com/minixdr/xdr/storage/snapfmt"
	"github.com/minixdr/xdr/storage/sqlstore"
	"github.com/minixdr/xdr/storage/storetest"
)

// snapshotOf applies history() to a new store and returns it with a
// snapshot of it.
func snapshotOf(t *testing.T) (*storage.Store, []byte) {
	t.Helper()
	s := storetest.MustOpenStore(t)
	applyHistory(t, s)
	var buf bytes.Buffer
	if _, err := s.WriteSnapshot(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return s, buf.Bytes()
}

type record struct {
	kind    byte
	payload []byte
}

func readRecords(t *testing.T, b []byte) []record {
	t.Helper()
	rd := snapfmt.NewReader(bytes.NewReader(b))
	var out []record
	for {
		kind, payload, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read snapshot: %v", err)
		}
		out = append(out, record{kind, bytes.Clone(payload)})
	}
}

func writeRecords(t *testing.T, recs []record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := snapfmt.NewWriter(&buf)
	for _, r := range recs {
		if err := w.Record(r.kind, r.payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// frame builds a snapshot stream: header, body records, a trailer counting
// them.
func frame(t *testing.T, header string, body ...record) []byte {
	recs := []record{{'H', []byte(header)}}
	recs = append(recs, body...)
	recs = append(recs, record{'Z', binary.AppendUvarint(nil, uint64(len(body)))})
	return writeRecords(t, recs)
}

var goodHeader = fmt.Sprintf(`{"format":%d,"applied":7,"schema":%d}`, storage.FormatVersion, sqlstore.SchemaVersion())

func TestSnapshotFormat(t *testing.T) {
	_, snap := snapshotOf(t)
	recs := readRecords(t, snap)
	if recs[0].kind != 'H' || recs[len(recs)-1].kind != 'Z' {
		t.Fatalf("snapshot starts with %q and ends with %q", recs[0].kind, recs[len(recs)-1].kind)
	}
	kinds := map[byte]int{}
	keys := map[byte]int{} // K records by key prefix
	for _, r := range recs[1 : len(recs)-1] {
		kinds[r.kind]++
		if r.kind == eventstore.RecordKV {
			n, k := binary.Uvarint(r.payload)
			key := r.payload[k : k+int(n)]
			if key[0] == 'm' {
				t.Fatalf("snapshot holds node-local key %q", key)
			}
			keys[key[0]]++
		}
		if r.kind == sqlstore.RecordTable && strings.HasPrefix(string(r.payload), "raft_applied\x00") {
			t.Fatal("snapshot holds the node-local table raft_applied")
		}
	}
	// 14 tables; 2 tenants + 3 users + 2 tokens + 1 session rows; 95 event
	// documents, and their index entries (however the index lays them out).
	if kinds['T'] != 14 || kinds['R'] != 8 || keys['e'] != 95 || keys['x'] == 0 {
		t.Fatalf("snapshot record counts %v, keys by prefix %v", kinds, keys)
	}
	want, _ := binary.Uvarint(recs[len(recs)-1].payload)
	if want != uint64(len(recs)-2) {
		t.Fatalf("trailer counts %d, stream has %d", want, len(recs)-2)
	}
}

func TestRestoreRefusals(t *testing.T) {
	src, snap := snapshotOf(t)
	digest, applied := storetest.MustDigest(t, src)
	recs := readRecords(t, snap)
	body := recs[1 : len(recs)-1]

	type tc struct {
		name    string
		stream  []byte
		wantErr string
		// reachedBody: the restore got as far as emptying the stores.
		reachedBody bool
	}
	var cases []tc
	for _, cut := range []int{0, 1, 2, len(recs[0].payload) / 2, len(snap) / 3, len(snap) / 2, len(snap) - 5, len(snap) - 1} {
		cases = append(cases, tc{
			name: fmt.Sprintf("truncated at %d of %d", cut, len(snap)), stream: snap[:cut],
			wantErr: "", reachedBody: cut > 2+len(recs[0].payload),
		})
	}
	garbage := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	withoutOne := append(append([]record{recs[0]}, body[:len(body)/2]...), body[len(body)/2+1:]...)
	withoutOne = append(withoutOne, recs[len(recs)-1])
	cases = append(cases,
		tc{name: "garbage", stream: garbage, wantErr: "not a snapshot"},
		tc{name: "garbage after H", stream: append([]byte{'H'}, garbage...), wantErr: "restore"},
		tc{name: "no header", stream: writeRecords(t, body), wantErr: "no header"},
		tc{name: "header not JSON", stream: frame(t, "{format"), wantErr: "bad header"},
		tc{name: "newer format", stream: frame(t, fmt.Sprintf(`{"format":%d,"applied":7,"schema":%d}`, storage.FormatVersion+1, sqlstore.SchemaVersion())), wantErr: fmt.Sprintf("format %d", storage.FormatVersion+1)},
		tc{name: "format 0", stream: frame(t, `{"applied":7}`), wantErr: "format 0"},
		tc{name: "newer schema", stream: frame(t, fmt.Sprintf(`{"format":%d,"applied":7,"schema":%d}`, storage.FormatVersion, sqlstore.SchemaVersion()+1)), wantErr: fmt.Sprintf("schema %d", sqlstore.SchemaVersion()+1)},
		tc{name: "a record missing", stream: writeRecords(t, withoutOne), wantErr: "trailer", reachedBody: true},
		tc{name: "no trailer", stream: writeRecords(t, recs[:len(recs)-1]), wantErr: "truncated", reachedBody: true},
		tc{name: "bad trailer", stream: writeRecords(t, append(append([]record{}, recs[:len(recs)-1]...), record{'Z', nil})), wantErr: "trailer", reachedBody: true},
		tc{name: "metadata key", stream: frame(t, goodHeader, record{'K', append([]byte{8}, "mapplied"...)}), wantErr: "metadata key", reachedBody: true},
		tc{name: "empty key", stream: frame(t, goodHeader, record{'K', []byte{0}}), wantErr: "metadata key", reachedBody: true},
		tc{name: "key longer than record", stream: frame(t, goodHeader, record{'K', []byte{9, 'e'}}), wantErr: "truncated", reachedBody: true},
		tc{name: "unknown table", stream: frame(t, goodHeader, record{'T', []byte("evil\x00name")}), wantErr: "unknown table", reachedBody: true},
		tc{name: "node-local table", stream: frame(t, goodHeader, record{'T', []byte("raft_applied\x00id\x00idx")}), wantErr: "unknown table", reachedBody: true},
		tc{name: "unknown column", stream: frame(t, goodHeader, record{'T', []byte("tenants\x00name\x00evil")}), wantErr: "prepare restore", reachedBody: true},
		tc{name: "row before table", stream: frame(t, goodHeader, record{'R', []byte{0}}), wantErr: "row before any table", reachedBody: true},
		tc{name: "unknown record kind", stream: frame(t, goodHeader, record{'Q', nil}), wantErr: "unexpected record kind", reachedBody: true},
		tc{name: "row with too few values", stream: frame(t, goodHeader, record{'T', []byte("tenants\x00name\x00created")}, record{'R', []byte{3, 1, 'a'}}), wantErr: "1 values", reachedBody: true},
		tc{name: "row with bad tag", stream: frame(t, goodHeader, record{'T', []byte("tenants\x00name\x00created")}, record{'R', []byte{9}}), wantErr: "unknown value tag", reachedBody: true},
		tc{name: "row with cut text", stream: frame(t, goodHeader, record{'T', []byte("tenants\x00name\x00created")}, record{'R', []byte{3, 5, 'a'}}), wantErr: "truncated", reachedBody: true},
		tc{name: "row with cut int", stream: frame(t, goodHeader, record{'T', []byte("tenants\x00name\x00created")}, record{'R', []byte{3, 1, 'a', 1}}), wantErr: "truncated", reachedBody: true},
		tc{name: "row with cut float", stream: frame(t, goodHeader, record{'T', []byte("tenants\x00name\x00created")}, record{'R', []byte{3, 1, 'a', 2, 0, 0}}), wantErr: "truncated", reachedBody: true},
		tc{name: "row breaking NOT NULL", stream: frame(t, goodHeader, record{'T', []byte("tenants\x00name\x00created")}, record{'R', []byte{3, 1, 'a', 0}}), wantErr: "restore row", reachedBody: true},
		tc{name: "row breaking a foreign key", stream: frame(t, goodHeader, record{'T', []byte("users\x00name\x00tenant\x00role\x00password_hash\x00created")}, record{'R', []byte{3, 1, 'u', 3, 1, 'x', 3, 0, 3, 0, 1, 0}}), wantErr: "FOREIGN KEY", reachedBody: true},
	)

	dst := storetest.MustOpenStore(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Each case starts from a store holding the good state.
			if _, err := dst.RestoreFrom(bytes.NewReader(snap)); err != nil {
				t.Fatalf("good restore: %v", err)
			}
			_, err := dst.RestoreFrom(bytes.NewReader(c.stream))
			if err == nil {
				t.Fatal("restore succeeded")
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %q does not mention %q", err, c.wantErr)
			}
			if c.reachedBody {
				// Never stale state served as current: applied index 0.
				if dst.Applied() != 0 {
					t.Fatalf("after a failed restore Applied() = %d, want 0", dst.Applied())
				}
				// The relational store is loaded in one transaction: it
				// keeps its old content.
				if _, err := dst.SQL.UserByName(context.Background(), "alice"); err != nil {
					t.Fatalf("after a failed restore: %v", err)
				}
			} else if d, a := storetest.MustDigest(t, dst); d != digest || a != applied {
				t.Fatalf("a stream refused at its header changed the state")
			}
			// A good snapshot still restores completely afterwards.
			if _, err := dst.RestoreFrom(bytes.NewReader(snap)); err != nil {
				t.Fatalf("restore after a failed one: %v", err)
			}
			if d, a := storetest.MustDigest(t, dst); d != digest || a != applied {
				t.Fatalf("restore after a failed one: digest %s at %d, want %s at %d", d, a, digest, applied)
			}
		})
	}
	checkHistoryState(t, dst)
}

func TestRestoreEmptySnapshot(t *testing.T) {
	empty := storetest.MustOpenStore(t)
	var buf bytes.Buffer
	if at, err := empty.WriteSnapshot(context.Background(), &buf); err != nil || at != 0 {
		t.Fatalf("snapshot of an empty store: %d, %v", at, err)
	}
	emptyDigest, _ := storetest.MustDigest(t, empty)
	_, snap := snapshotOf(t)
	s := storetest.MustOpenStore(t)
	if _, err := s.RestoreFrom(bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RestoreFrom(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if d, a := storetest.MustDigest(t, s); d != emptyDigest || a != 0 {
		t.Fatalf("restoring an empty snapshot left digest %s at %d", d, a)
	}
	if n := len(searchAll(t, s, "acme", "")); n != 0 {
		t.Fatalf("%d events survived restoring an empty snapshot", n)
	}
}

// bufferSink is a raft.SnapshotSink over a buffer.
type bufferSink struct {
	bytes.Buffer
	closed, cancelled bool
	failWrites        bool
}

func (s *bufferSink) Write(p []byte) (int, error) {
	if s.failWrites {
		return 0, errors.New("disk full")
	}
	return s.Buffer.Write(p)
}
func (s *bufferSink) ID() string     { return "test" }
func (s *bufferSink) Close() error   { s.closed = true; return nil }
func (s *bufferSink) Cancel() error  { s.cancelled = true; return nil }
func (s *bufferSink) String() string { return fmt.Sprintf("sink of %d bytes", s.Len()) }

var _ raft.SnapshotSink = (*bufferSink)(nil)

func TestFSMSnapshotUnderConcurrentApplies(t *testing.T) {
	s := storetest.MustOpenStore(t)
	l := applyHistory(t, s)
	atSnapshot, applied := storetest.MustDigest(t, s)

	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Entries applied after the snapshot was taken, before it is persisted...
	l.MustApply(storetest.Batch("acme", "after-1", 1000, 50))
	l.MustApply(&command.CreateUser{User: appliance.User{Tenant: "acme", Name: "late", Role: appliance.RoleSOCAnalyst, PasswordHash: "x", Created: t0}})
	l.MustApply(&command.DeleteSession{Before: t0.Add(100 * 24 * 3600 * 1e9).UnixNano()})

	// ...and while it is being persisted.
	var during []*raft.Log
	for i := range 20 {
		l.Index++
		during = append(during, &raft.Log{Index: l.Index, Type: raft.LogCommand,
			Data: storetest.Encode(t, storetest.Batch("acme", fmt.Sprint("during-", i), 2000+i*10, 10))})
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, e := range during {
			if res := s.Apply(e); res != nil {
				t.Errorf("apply %d: %v", e.Index, res)
				return
			}
		}
	}()
	sink := &bufferSink{}
	err = snap.Persist(sink)
	snap.Release()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !sink.closed || sink.cancelled {
		t.Fatalf("sink closed %v, cancelled %v", sink.closed, sink.cancelled)
	}
	if now, _ := storetest.MustDigest(t, s); now == atSnapshot {
		t.Fatal("the later applies did not change the digest")
	}

	// raft.FSM.Restore of the persisted snapshot gives the state at the
	// snapshot point, not the state when it was written out.
	dst := storetest.MustOpenStore(t)
	rc := &trackingReader{Reader: bytes.NewReader(sink.Bytes())}
	if err := dst.Restore(rc); err != nil {
		t.Fatal(err)
	}
	if !rc.closed {
		t.Error("Restore did not close its reader")
	}
	if d, a := storetest.MustDigest(t, dst); d != atSnapshot || a != applied {
		t.Fatalf("restored %s at %d, want the snapshot point %s at %d", d, a, atSnapshot, applied)
	}
	checkHistoryState(t, dst)
	if _, err := dst.SQL.UserByName(context.Background(), "late"); appliance.ErrorCode(err) != appliance.ENOTFOUND {
		t.Fatalf("user created after the snapshot is in it: %v", err)
	}
}

func TestPersistFailureCancelsSink(t *testing.T) {
	s := storetest.MustOpenStore(t)
	applyHistory(t, s)
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	sink := &bufferSink{failWrites: true}
	if err := snap.Persist(sink); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Persist to a failing sink: %v", err)
	}
	if !sink.cancelled || sink.closed {
		t.Fatalf("failing sink: cancelled %v, closed %v; want cancelled only", sink.cancelled, sink.closed)
	}
	if err := s.Restore(io.NopCloser(strings.NewReader("junk"))); err == nil {
		t.Fatal("Restore of junk succeeded")
	}
}

type trackingReader struct {
	io.Reader
	closed bool
}

func (r *trackingReader) Close() error { r.closed = true; return nil }

func TestWriteSnapshotToFailingWriter(t *testing.T) {
	s := storetest.MustOpenStore(t)
	applyHistory(t, s)
	if _, err := s.WriteSnapshot(context.Background(), &bufferSink{failWrites: true}); err == nil {
		t.Fatal("WriteSnapshot to a failing writer succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.WriteSnapshot(ctx, io.Discard); err == nil {
		t.Fatal("WriteSnapshot with a cancelled context succeeded")
	}
	if _, _, err := s.Digest(ctx); err == nil {
		t.Fatal("Digest with a cancelled context succeeded")
	}
}

// While the event store is behind SQLite (replaying after a crash the
// entries since it last wrote its counts), no snapshot or digest is taken:
// it would hold SQLite at one index and the events at another under a
// single applied index. Once the event store catches up, both work again.
func TestNoViewWhileTheStoresDisagree(t *testing.T) {
	s := storetest.MustOpenStore(t)
	log := &storetest.Log{TB: t, Store: s}
	log.MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: storetest.Base}})
	// SQLite applies the next entry; the event store has not yet.
	next := log.Index + 1
	if _, err := s.SQL.Apply(next, func(*sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Digest(context.Background()); appliance.ErrorCode(err) != appliance.EUNAVAILABLE {
		t.Fatalf("digest while the stores disagree: %v, want EUNAVAILABLE", err)
	}
	if _, err := s.Snapshot(); appliance.ErrorCode(err) != appliance.EUNAVAILABLE {
		t.Fatalf("snapshot while the stores disagree: %v, want EUNAVAILABLE", err)
	}
	if err := s.Events.MarkApplied(next); err != nil {
		t.Fatal(err)
	}
	if _, applied, err := s.Digest(context.Background()); err != nil || applied != next {
		t.Fatalf("digest once caught up: applied %d, %v; want %d", applied, err, next)
	}
}
