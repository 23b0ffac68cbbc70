package ui

import (
	"context"
	"net/http"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/cluster"
	"github.com/minixdr/xdr/ui/pages"
)

// ClusterNode is what the cluster API, page and admin commands need of the
// node.
type ClusterNode interface {
	Status(ctx context.Context) (cluster.Status, error)
	JoinToken(ttl time.Duration) (token string, expires time.Time, err error)
	Remove(ctx context.Context, id string) error
	Advertise() string
}

// apiCluster answers GET /api/v1/cluster (members, roles, leader, health)
// and, on the admin socket, `xdr cluster status`.
func (s *Server) apiCluster(w http.ResponseWriter, r *http.Request) {
	st, err := s.d.Cluster.Status(r.Context())
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// adminClusterToken answers `xdr cluster token`.
func (s *Server) adminClusterToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		TTL string `json:"ttl"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	var ttl time.Duration
	if body.TTL != "" {
		d, err := time.ParseDuration(body.TTL)
		if err != nil || d <= 0 || d > 7*24*time.Hour {
			writeError(w, r, s.d.Log, appliance.Errorf(appliance.EINVALID, "ttl %q: want a duration between 1s and 168h", body.TTL))
			return
		}
		ttl = d
	}
	token, expires, err := s.d.Cluster.JoinToken(ttl)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "expires": expires, "join": s.d.Cluster.Advertise()})
}

// adminClusterRemove answers `xdr cluster remove NODE`.
func (s *Server) adminClusterRemove(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID string `json:"id"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	if body.ID == "" {
		writeError(w, r, s.d.Log, appliance.Errorf(appliance.EINVALID, "node id is required"))
		return
	}
	if err := s.d.Cluster.Remove(r.Context(), body.ID); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"removed": body.ID})
}

// StateDigester hashes the replicated state (for drills and tests: equal
// digests at equal applied indexes mean equal state).
type StateDigester interface {
	Digest(ctx context.Context) (digest string, applied uint64, err error)
}

// adminStateDigest answers the state digest and the index it reflects.
func (s *Server) adminStateDigest(w http.ResponseWriter, r *http.Request) {
	d, applied, err := s.d.State.Digest(r.Context())
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"digest": d, "applied": applied})
}

// clusterPage shows the members as this node sees them.
func (s *Server) clusterPage(w http.ResponseWriter, r *http.Request) {
	vm := pages.ClusterVM{Chrome: chromeOf(r, "cluster")}
	status := http.StatusOK
	st, err := s.d.Cluster.Status(r.Context())
	if err != nil {
		vm.Error, status = "The cluster status could not be read: "+appliance.ErrorMessage(err), statusOf(appliance.ErrorCode(err))
	}
	vm.Leader = st.Leader
	now := s.d.Now()
	for _, n := range st.Nodes {
		vm.Nodes = append(vm.Nodes, pages.ClusterNodeRow{
			ID: n.ID, Address: n.Address, State: n.State, Voter: n.Voter, Healthy: n.Healthy,
			Leader: n.ID == st.Leader, Self: n.ID == st.Self, LastContact: pages.ContactAgo(n.LastContact, now),
			Applied: n.AppliedIndex, Lag: n.Lag,
		})
	}
	s.render(w, r, status, pages.Cluster(vm))
}
