package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
)

// restoredMarker is the file `xdr restore` leaves in a data dir whose stores
// came from a backup and which has no Raft state yet.
const restoredMarker = "restored-from-backup"

// MarkRestored marks dataDir as holding stores restored from a backup: the
// node opened on it starts a new one-voter cluster at the stores' index.
func MarkRestored(dataDir string) error {
	if err := os.WriteFile(filepath.Join(dataDir, restoredMarker), []byte("stores restored from a backup; the first start seeds Raft from them\n"), 0o600); err != nil {
		return fmt.Errorf("mark data dir as restored: %w", err)
	}
	return nil
}

// seedRestored gives a restored data dir its Raft state: a snapshot of the
// stores at their applied index N, term 1, whose configuration is this node
// alone. Raft then starts as a one-voter cluster whose log continues at
// N+1, and a node that joins later receives that snapshot, since the log
// holds nothing older. (Bootstrapping instead would start the log at index
// 1, and the stores skip every entry up to N as already applied.) It runs
// before Raft starts, once: a crash before the marker is removed finds the
// snapshot and only removes the marker.
func seedRestored(dataDir string, self raft.Server, fsm StateMachine, logs raft.LogStore, stable raft.StableStore,
	snaps *raft.FileSnapshotStore, trans raft.Transport, log *slog.Logger) error {
	marker := filepath.Join(dataDir, restoredMarker)
	if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("restored data dir: %w", err)
	}
	has, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return fmt.Errorf("restored data dir: %w", err)
	}
	if !has {
		index := fsm.Applied()
		log.Info("data dir restored from a backup: starting a new one-node cluster at its index", "index", index, "node", self.ID)
		conf := raft.Configuration{Servers: []raft.Server{self}}
		sink, err := snaps.Create(raft.SnapshotVersionMax, index, 1, conf, index, trans)
		if err != nil {
			return fmt.Errorf("seed raft snapshot: %w", err)
		}
		snap, err := fsm.Snapshot()
		if err != nil {
			sink.Cancel()
			return fmt.Errorf("seed raft snapshot: %w", err)
		}
		err = snap.Persist(sink) // closes or cancels the sink
		snap.Release()
		if err != nil {
			return fmt.Errorf("seed raft snapshot: %w", err)
		}
	}
	if err := os.Remove(marker); err != nil {
		return fmt.Errorf("restored data dir: %w", err)
	}
	return nil
}
