package ui

import (
	"net/http"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/ingest"
)

// IngestHealthReader gives this node's ingest accounting: ingest.Service
// has the per-source part; cmd/xdr adds the syslog listeners'.
type IngestHealthReader interface {
	Health() ingest.Health
}

// apiIngestHealth answers GET /api/v1/ingest/health: this node's counters
// per source, and per syslog listener with the recent syslog errors. The
// per-source counters are node-wide, as in /metrics; listeners and errors
// of other tenants are shown only to a super_admin.
func (s *Server) apiIngestHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, visibleHealth(s.d.IngestHealth.Health(), principalOf(r.Context())))
}

// visibleHealth keeps what p may see of h.
func visibleHealth(h ingest.Health, p appliance.Principal) ingest.Health {
	if h.Sources == nil {
		h.Sources = []ingest.SourceHealth{}
	}
	if h.Syslog == nil || p.Role == appliance.RoleSuperAdmin {
		return h
	}
	own := ingest.SyslogHealth{Listeners: []ingest.ListenerHealth{}, RecentErrors: []ingest.SyslogError{}}
	for _, l := range h.Syslog.Listeners {
		if l.Tenant == p.Tenant {
			own.Listeners = append(own.Listeners, l)
		}
	}
	for _, e := range h.Syslog.RecentErrors {
		if e.Tenant == p.Tenant {
			own.RecentErrors = append(own.RecentErrors, e)
		}
	}
	h.Syslog = &own
	return h
}
