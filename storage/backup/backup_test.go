package backup_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/storage/backup"
	"github.com/minixdr/xdr/storage/sqlstore"
	"github.com/minixdr/xdr/storage/storetest"
)

var created = time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)

// filledStore is a store with a tenant and a few hundred events.
func filledStore(t *testing.T) *storage.Store {
	t.Helper()
	s := storetest.MustOpenStore(t)
	l := &storetest.Log{TB: t, Store: s}
	l.MustApply(&command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: storetest.Base}})
	for i := range 3 {
		l.MustApply(storetest.Batch("acme", "b"+string(rune('0'+i)), i*100, 100))
	}
	return s
}

func newIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// encrypted backs s up to the recipients.
func encrypted(t *testing.T, s *storage.Store, rs ...age.Recipient) ([]byte, backup.Manifest) {
	t.Helper()
	var buf bytes.Buffer
	m, err := backup.Create(context.Background(), &buf, rs, s, "cluster-1", created)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), m
}

func TestRoundTrip(t *testing.T) {
	src := filledStore(t)
	id1, id2 := newIdentity(t), newIdentity(t)
	file, m := encrypted(t, src, id1.Recipient(), id2.Recipient())
	wantDigest, wantIndex := storetest.MustDigest(t, src)
	if m.RaftIndex != wantIndex || m.ClusterID != "cluster-1" || !m.Created.Equal(created) || m.Format != backup.FormatVersion || m.Schema != sqlstore.SchemaVersion() {
		t.Fatalf("manifest %+v, want index %d", m, wantIndex)
	}
	if len(m.Parts) != 1 || m.Parts[0].Name != backup.PartState || m.Parts[0].Size == 0 || len(m.Parts[0].SHA256) != 64 {
		t.Fatalf("parts %+v", m.Parts)
	}
	// Either recipient opens it (key escrow).
	for _, id := range []age.Identity{id1, id2} {
		got, err := backup.Verify(bytes.NewReader(file), []age.Identity{id})
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if got.Parts[0] != m.Parts[0] || got.RaftIndex != m.RaftIndex {
			t.Fatalf("verify manifest %+v, want %+v", got, m)
		}
	}

	dir := filepath.Join(t.TempDir(), "restored")
	var finished string
	_, err := backup.RestoreDir(bytes.NewReader(file), []age.Identity{id2}, dir, storetest.Discard, func(tmp string, got backup.Manifest) error {
		finished = tmp
		if got.RaftIndex != wantIndex {
			t.Errorf("finish got index %d", got.RaftIndex)
		}
		return os.WriteFile(filepath.Join(tmp, "marker"), nil, 0o600)
	})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if _, err := os.Stat(finished); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary dir %s still there: %v", finished, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "marker")); err != nil {
		t.Fatalf("finish did not run on the restored dir: %v", err)
	}
	dst := storetest.MustOpenStoreAt(t, filepath.Join(dir, backup.StateDir))
	gotDigest, gotIndex := storetest.MustDigest(t, dst)
	if gotDigest != wantDigest || gotIndex != wantIndex {
		t.Fatalf("restored digest %s at %d, want %s at %d", gotDigest, gotIndex, wantDigest, wantIndex)
	}
}

func TestPassphrase(t *testing.T) {
	src := filledStore(t)
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600)
	wrong := filepath.Join(dir, "wrong")
	os.WriteFile(wrong, []byte("incorrect horse\n"), 0o600)
	r, err := backup.PassphraseRecipient(pass)
	if err != nil {
		t.Fatal(err)
	}
	r.(*age.ScryptRecipient).SetWorkFactor(10) // fast; the CLI keeps age's default
	file, _ := encrypted(t, src, r)
	ids, err := backup.PassphraseIdentity(pass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Verify(bytes.NewReader(file), ids); err != nil {
		t.Fatalf("verify: %v", err)
	}
	ids, _ = backup.PassphraseIdentity(wrong)
	if _, err := backup.Verify(bytes.NewReader(file), ids); err == nil || !strings.Contains(err.Error(), "does not open this backup") {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

// TestBadInput: every kind of bad file fails verify and restore with a
// one-line error saying what is wrong, and restore writes nothing.
func TestBadInput(t *testing.T) {
	src := filledStore(t)
	id := newIdentity(t)
	file, _ := encrypted(t, src, id.Recipient())
	other := newIdentity(t)

	altered := func(off int) []byte {
		b := bytes.Clone(file)
		b[off] ^= 0x01
		return b
	}
	// A valid encryption of a container of an unknown version.
	var future bytes.Buffer
	w, _ := age.Encrypt(&future, id.Recipient())
	w.Write([]byte{'B', 12})
	w.Write([]byte(`{"format":9}`))
	w.Close()
	plain := bytes.Buffer{}
	backup.Write(context.Background(), &plain, src, "c", created)
	notAge := plain.Bytes()

	cases := []struct {
		name string
		file []byte
		id   age.Identity
		want string
	}{
		{"wrong identity", file, other, "does not open this backup"},
		{"altered byte in the payload", altered(len(file) / 2), id, "damaged or truncated"},
		{"altered last byte", altered(len(file) - 1), id, "damaged or truncated"},
		{"altered byte in the header", altered(40), id, "backup"},
		{"truncated", file[:len(file)*2/3], id, "damaged or truncated"},
		{"truncated to the header", file[:200], id, "backup"},
		{"empty", nil, id, "not a readable age-encrypted backup"},
		{"unencrypted container", notAge, id, "not a readable age-encrypted backup"},
		{"unknown format version", future.Bytes(), id, "backup format version 9; this build reads version 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := backup.Verify(bytes.NewReader(c.file), []age.Identity{c.id})
			t.Logf("verify: %v", err)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("verify: %v, want one line containing %q", err, c.want)
			}
			parent := t.TempDir()
			dir := filepath.Join(parent, "restored")
			_, err = backup.RestoreDir(bytes.NewReader(c.file), []age.Identity{c.id}, dir, storetest.Discard, func(string, backup.Manifest) error {
				t.Fatal("finish ran on a bad backup")
				return nil
			})
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("restore: %v, want a one-line error", err)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Fatalf("restore left %s behind", entries[0].Name())
			}
		})
	}
}

func TestRestoreRefusesNonEmptyDir(t *testing.T) {
	src := filledStore(t)
	id := newIdentity(t)
	file, _ := encrypted(t, src, id.Recipient())
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "node-id"), []byte("x"), 0o600)
	_, err := backup.RestoreDir(bytes.NewReader(file), []age.Identity{id}, dir, storetest.Discard, func(string, backup.Manifest) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Fatalf("restore into a non-empty dir: %v", err)
	}
	// An existing empty dir is fine.
	empty := t.TempDir()
	if _, err := backup.RestoreDir(bytes.NewReader(file), []age.Identity{id}, empty, storetest.Discard, func(string, backup.Manifest) error { return nil }); err != nil {
		t.Fatalf("restore into an empty dir: %v", err)
	}
}

func TestWriteStopsWithItsContext(t *testing.T) {
	src := filledStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := backup.Write(ctx, io.Discard, src, "c", created); !errors.Is(err, context.Canceled) {
		t.Fatalf("backup with a cancelled context: %v", err)
	}
}
