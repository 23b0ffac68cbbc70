package backup

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/minixdr/xdr/storage"
)

// StateDir is where a data dir keeps the stores (as `xdr serve` opens them).
const StateDir = "state"

// RestoreDir restores the backup read from r into dataDir, which must be
// missing or empty. Everything is written into a sibling directory first
// and renamed into place only once the whole backup checked out, so a
// failure leaves nothing behind. finish runs on the complete temporary data
// dir before the rename (the caller adds what a node needs to start from
// restored stores).
func RestoreDir(r io.Reader, ids []age.Identity, dataDir string, log *slog.Logger, finish func(dir string, m Manifest) error) (Manifest, error) {
	if err := requireEmpty(dataDir); err != nil {
		return Manifest{}, err
	}
	br, err := Open(r, ids)
	if err != nil {
		return Manifest{}, err
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	tmp := filepath.Clean(dataDir) + ".restoring-" + hex.EncodeToString(suffix[:])
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("restore: %w", err)
	}
	m, err := restoreInto(br, tmp, log)
	if err == nil {
		err = finish(tmp, m)
	}
	if err == nil {
		err = replaceEmpty(tmp, dataDir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return Manifest{}, err
	}
	return m, nil
}

// requireEmpty refuses a data dir with anything in it: a restore never
// mixes with or replaces existing state.
func requireEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore target %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("restore target %s is not empty (it holds %s); restore only into a new or empty directory", dir, entries[0].Name())
	}
	return nil
}

// replaceEmpty renames tmp to dir, which may exist if empty (os.Rename
// does not replace directories; os.Remove removes only an empty one).
func replaceEmpty(tmp, dir string) error {
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("restore target %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

func restoreInto(br *Reader, dir string, log *slog.Logger) (Manifest, error) {
	name, data, err := br.NextPart()
	if err != nil {
		return Manifest{}, err
	}
	if name != PartState {
		return Manifest{}, formatErr("backup part %q where %q was expected", name, PartState)
	}
	st, err := storage.Open(filepath.Join(dir, StateDir), log)
	if err != nil {
		return Manifest{}, err
	}
	applied, err := st.RestoreFrom(data)
	if err == nil {
		// The stores' own writes are durable only once synced.
		err = errors.Join(st.SQL.Sync(), st.Events.Sync())
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if cause := br.Err(); cause != nil {
			return Manifest{}, cause
		}
		return Manifest{}, fmt.Errorf("restore stores: %w", err)
	}
	m, err := br.drain()
	if err != nil {
		return Manifest{}, err
	}
	if applied != m.RaftIndex {
		return Manifest{}, formatErr("backup state is at Raft index %d, its manifest says %d", applied, m.RaftIndex)
	}
	return m, nil
}
