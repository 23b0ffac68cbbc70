package ui

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/ingest"
)

// Authenticator is what the server needs of the auth service.
type Authenticator interface {
	Login(ctx context.Context, username, password string) (string, appliance.Session, error)
	Logout(ctx context.Context, secret string) error
	Authenticate(ctx context.Context, secret string) (appliance.Principal, error)
	CreateToken(ctx context.Context, tenant, name, scope, role string) (string, error)
}

// Ingester is what the server needs of the ingest service.
type Ingester interface {
	Ingest(ctx context.Context, req ingest.Request) (ingest.Result, error)
}

// NodeHealth is what the health endpoints need of the cluster node.
type NodeHealth interface {
	Ready() bool
}

// Deps are the services the server translates HTTP to.
type Deps struct {
	Auth    Authenticator
	Ingest  Ingester
	Events  appliance.EventReader
	Node    NodeHealth
	Backups Backups // nil: no backup endpoints or page data
	Cluster ClusterNode
	State   StateDigester
	Detect  *detect.Service // rules, alerts, incidents, threat intel
	// IngestHealth serves GET /api/v1/ingest/health; nil: the Ingest
	// service's own (per source, no syslog part) when it has one.
	IngestHealth IngestHealthReader
	Metrics      http.Handler // the Prometheus handler
	Log          *slog.Logger
	// TLS is true when the listener serves HTTPS: cookies get Secure and
	// responses HSTS.
	TLS bool
	Now func() time.Time
}

// Server is the HTTP front of one node.
type Server struct {
	d    Deps
	jobs jobs // long operations started from the pages
}

// New returns a server over d.
func New(d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if h, ok := d.Ingest.(IngestHealthReader); ok && d.IngestHealth == nil {
		d.IngestHealth = h
	}
	return &Server{d: d}
}

// Handler returns the public handler: API, pages, health and metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// Health: no authentication, so load balancers and systemd can probe.
	mux.HandleFunc("GET /healthz/live", s.live)
	mux.HandleFunc("GET /healthz/ready", s.ready)
	mux.Handle("GET /metrics", s.requireAPI(s.d.Metrics))

	// JSON API.
	mux.HandleFunc("POST /api/v1/login", s.apiLogin)
	// Logging out needs the credentials to end: without them, 401.
	mux.Handle("POST /api/v1/logout", s.requireAuth(http.HandlerFunc(s.apiLogout)))
	mux.Handle("POST /api/v1/tokens", s.requireAPI(http.HandlerFunc(s.apiCreateToken)))
	mux.Handle("POST /api/v1/ingest/{source}", s.requireAuth(http.HandlerFunc(s.apiIngest)))
	if s.d.IngestHealth != nil {
		mux.Handle("GET /api/v1/ingest/health", s.requireAPI(http.HandlerFunc(s.apiIngestHealth)))
	}
	mux.Handle("GET /api/v1/events", s.requireAPI(http.HandlerFunc(s.apiEvents)))
	mux.Handle("GET /api/v1/events/{id}", s.requireAPI(http.HandlerFunc(s.apiEvent)))
	mux.Handle("GET /api/v1/cluster", s.requireAPI(http.HandlerFunc(s.apiCluster)))
	s.detectionRoutes(mux)
	mux.HandleFunc("/api/", s.apiFallback(mux))

	s.pageRoutes(mux)
	return s.securityHeaders(mux)
}

// AdminHandler serves the local admin API on the node's Unix socket; file
// permissions on the socket are its access control.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/tokens", s.adminCreateToken)
	mux.HandleFunc("GET /admin/backup", s.adminBackup)
	mux.HandleFunc("POST /admin/cluster/token", s.adminClusterToken)
	mux.HandleFunc("POST /admin/cluster/status", s.apiCluster)
	mux.HandleFunc("POST /admin/cluster/remove", s.adminClusterRemove)
	mux.HandleFunc("POST /admin/state/digest", s.adminStateDigest)
	mux.HandleFunc("POST /admin/rules/import", s.adminImportRules)
	mux.HandleFunc("POST /admin/intel/import", s.adminImportIntel)
	// Profiles for support, reachable only by who may read the data dir.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if !s.d.Node.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": "no cluster leader or not caught up"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
