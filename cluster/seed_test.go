package cluster_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/cluster"
)

// TestRestoredStoresStartANewCluster: stores at index N with no Raft state
// and the restore marker start a one-voter cluster whose log continues
// after N (new entries are applied, not skipped as old), with a snapshot at
// N for nodes that join later; the marker is gone, and a second start
// leaves the Raft state alone.
func TestRestoredStoresStartANewCluster(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	st, n := openNode(t, dir, addr, nodeOpts{})
	if err := n.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, n)
	propose(t, n, &command.CreateTenant{Tenant: appliance.Tenant{Name: "acme", Created: t0}})
	for _, u := range []string{"alice", "bob", "carol"} {
		propose(t, n, user(u))
	}
	n.Close()
	restored := st.Applied()
	st.Close()
	// What `xdr restore` leaves: the stores and the marker, no Raft state.
	if err := os.RemoveAll(filepath.Join(dir, "raft")); err != nil {
		t.Fatal(err)
	}
	if err := cluster.MarkRestored(dir); err != nil {
		t.Fatal(err)
	}

	st, n = openNode(t, dir, addr, nodeOpts{})
	if has, err := n.HasState(); err != nil || !has {
		t.Fatalf("HasState after seeding = %v, %v", has, err)
	}
	if got := snapshotIndex(t, dir); got != restored {
		t.Fatalf("seeded snapshot at %d, stores at %d", got, restored)
	}
	if _, err := os.Stat(filepath.Join(dir, "restored-from-backup")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker after seeding: %v", err)
	}
	waitLeader(t, n)
	propose(t, n, user("dave"))
	if st.Applied() <= restored {
		t.Fatalf("a new entry was not applied: stores at %d, restored at %d", st.Applied(), restored)
	}
	n.Close() // the log's file is locked while the node runs
	applied := st.Applied()
	st.Close()
	if first := firstLogIndex(t, dir); first <= restored {
		t.Fatalf("the log starts at %d, at or before the restored index %d", first, restored)
	}

	// A crash after seeding but before the marker was removed: the next
	// start keeps the Raft state and only removes the marker.
	if err := cluster.MarkRestored(dir); err != nil {
		t.Fatal(err)
	}
	st, n = openNode(t, dir, addr, nodeOpts{})
	if got := snapshotIndex(t, dir); got != restored {
		t.Fatalf("snapshot at %d after a second start, want the seeded %d", got, restored)
	}
	if _, err := os.Stat(filepath.Join(dir, "restored-from-backup")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker after the second start: %v", err)
	}
	waitLeader(t, n)
	propose(t, n, user("erin"))
	if st.Applied() <= applied {
		t.Fatalf("after the second start entries are not applied: %d <= %d", st.Applied(), applied)
	}
}
