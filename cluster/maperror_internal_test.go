package cluster

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/minixdr/xdr/appliance"
)

// mapRaftError is unexported; this table pins what a proposer sees for each
// failure Raft reports, since the HTTP layer turns the codes into statuses
// (EUNAVAILABLE → 503, EBUSY → 429, internal → 500).
func TestMapRaftError(t *testing.T) {
	other := errors.New("disk on fire")
	for _, c := range []struct {
		err        error
		code       string
		notLeader  bool
		wrapsInput bool
	}{
		{raft.ErrNotLeader, appliance.EUNAVAILABLE, true, false},
		{fmt.Errorf("apply: %w", raft.ErrNotLeader), appliance.EUNAVAILABLE, true, false},
		{raft.ErrLeadershipLost, appliance.EUNAVAILABLE, false, false}, // may have committed: not retried blindly
		{raft.ErrLeadershipTransferInProgress, appliance.EUNAVAILABLE, false, false},
		{raft.ErrRaftShutdown, appliance.EUNAVAILABLE, false, false},
		{raft.ErrEnqueueTimeout, appliance.EBUSY, false, false},
		{raft.ErrAbortedByRestore, appliance.EINTERNAL, false, true},
		{other, appliance.EINTERNAL, false, true},
	} {
		got := mapRaftError(c.err)
		if code := appliance.ErrorCode(got); code != c.code {
			t.Errorf("mapRaftError(%v) = %v (code %q), want code %q", c.err, got, code, c.code)
		}
		if errors.Is(got, appliance.ErrNotLeader) != c.notLeader {
			t.Errorf("mapRaftError(%v) = %v: errors.Is ErrNotLeader = %v, want %v", c.err, got, !c.notLeader, c.notLeader)
		}
		if errors.Is(got, c.err) != c.wrapsInput {
			t.Errorf("mapRaftError(%v) = %v: wraps the raft error = %v, want %v", c.err, got, !c.wrapsInput, c.wrapsInput)
		}
	}
}
