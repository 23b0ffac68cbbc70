package cluster

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestLogStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	s, err := openLogStore(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 123)
	var logs []*raft.Log
	for i := uint64(1); i <= 10; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 2, Type: raft.LogCommand, Data: []byte{byte(i)}, Extensions: []byte("x"), AppendedAt: at})
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	var got raft.Log
	if err := s.GetLog(7, &got); err != nil || got.Term != 2 || !bytes.Equal(got.Data, []byte{7}) || string(got.Extensions) != "x" || !got.AppendedAt.Equal(at) || got.Type != raft.LogCommand {
		t.Fatalf("GetLog(7) = %+v, %v", got, err)
	}
	// Head and tail truncation, as Raft does them.
	if err := s.DeleteRange(1, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(9, 10); err != nil {
		t.Fatal(err)
	}
	if first, _ := s.FirstIndex(); first != 4 {
		t.Fatalf("FirstIndex = %d, want 4", first)
	}
	if last, _ := s.LastIndex(); last != 8 {
		t.Fatalf("LastIndex = %d, want 8", last)
	}
	if err := s.GetLog(9, &got); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog of a truncated entry: %v", err)
	}
	// Stable store: Raft tells a missing key by the text "not found".
	if _, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() != "not found" {
		t.Fatalf("missing key: %v", err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 5); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("odd"), []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUint64([]byte("odd")); err == nil {
		t.Fatal("a 3-byte value read as uint64")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Durable across reopen.
	s, err = openLogStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 5 {
		t.Fatalf("CurrentTerm after reopen = %d, %v", v, err)
	}
	if err := s.GetLog(8, &got); err != nil || got.Index != 8 {
		t.Fatalf("GetLog(8) after reopen: %+v %v", got, err)
	}
	if err := decodeLog(1, []byte("short"), &got); err == nil {
		t.Fatal("a short record decoded")
	}
	bad := encodeLog(&raft.Log{Term: 1, Extensions: []byte("abc")})
	if err := decodeLog(1, bad[:len(bad)-2], &got); err == nil {
		t.Fatal("a record with a cut extension decoded")
	}
}
