package ui

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/auth"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/intel"
	"github.com/minixdr/xdr/appliance/query"
)

// Detection API: rules, alerts, incidents and threat intel
// (docs/api.md). Every read and write is for the principal's tenant.

// Bodies of rule and intel uploads: one rule is small, a feed may not be.
const (
	maxRuleBody  = 1 << 20
	maxIntelBody = 64 << 20
	// maxAdminImport bounds an `xdr rules import` or `xdr intel import`
	// over the admin socket (a SigmaHQ release as JSON is ~20 MB).
	maxAdminImport = 256 << 20
)

// canTriage: analysts and responders change incidents; read-only analysts
// and ingest tokens do not.
func canTriage(p appliance.Principal) bool {
	return p.Scope == appliance.ScopeAPI && p.Role != appliance.RoleReadOnlyAnalyst && p.Role != ""
}

func (s *Server) requireAdmin(w http.ResponseWriter, r *http.Request, what string) bool {
	if !auth.CanAdminister(principalOf(r.Context())) {
		writeError(w, r, s.d.Log, appliance.Errorf(appliance.EFORBIDDEN, "%s needs the super_admin or security_admin role", what))
		return false
	}
	return true
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, appliance.Errorf(appliance.ETOOLARGE, "request body exceeds %d bytes", limit)
	}
	if err != nil {
		return nil, appliance.Errorf(appliance.EINVALID, "read request body: %v", err)
	}
	return data, nil
}

func boolParam(r *http.Request, name string, def bool) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, appliance.Errorf(appliance.EINVALID, "%s=%q is not true or false", name, v)
	}
	return b, nil
}

func limitParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, appliance.Errorf(appliance.EINVALID, "limit=%q is not a positive number", v)
	}
	return n, nil
}

func (s *Server) detectionRoutes(mux *http.ServeMux) {
	api := func(f http.HandlerFunc) http.Handler { return s.requireAPI(f) }
	mux.Handle("GET /api/v1/rules", api(s.apiRules))
	mux.Handle("POST /api/v1/rules", api(s.apiAddRule))
	mux.Handle("GET /api/v1/rules/{id}", api(s.apiRule))
	mux.Handle("PATCH /api/v1/rules/{id}", api(s.apiPatchRule))
	mux.Handle("DELETE /api/v1/rules/{id}", api(s.apiDeleteRule))
	mux.Handle("GET /api/v1/alerts", api(s.apiAlerts))
	mux.Handle("GET /api/v1/incidents", api(s.apiIncidents))
	mux.Handle("GET /api/v1/incidents/{id}", api(s.apiIncident))
	mux.Handle("PATCH /api/v1/incidents/{id}", api(s.apiPatchIncident))
	mux.Handle("GET /api/v1/intel", api(s.apiIntel))
	mux.Handle("POST /api/v1/intel", api(s.apiImportIntel))
	mux.Handle("DELETE /api/v1/intel/{source}", api(s.apiDeleteIntel))
}

func (s *Server) apiRules(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := detect.RuleFilter{Status: q.Get("status"), Level: q.Get("level")}
	if q.Get("enabled") != "" {
		on, err := boolParam(r, "enabled", true)
		if err != nil {
			writeError(w, r, s.d.Log, err)
			return
		}
		f.Enabled = &on
	}
	rules, err := s.d.Detect.Reader().Rules(r.Context(), principalOf(r.Context()).Tenant, f)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": rules})
}

func (s *Server) apiRule(w http.ResponseWriter, r *http.Request) {
	rule, err := s.d.Detect.Reader().Rule(r.Context(), principalOf(r.Context()).Tenant, r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, rule)
}

// apiAddRule takes one Sigma rule as the YAML body.
func (s *Server) apiAddRule(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r, "adding rules") {
		return
	}
	enabled, err := boolParam(r, "enabled", true)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	body, err := readBody(w, r, maxRuleBody)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	rule, err := s.d.Detect.AddRule(r.Context(), principalOf(r.Context()).Tenant, body, enabled)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusCreated, rule)
}

func (s *Server) apiPatchRule(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r, "changing rules") {
		return
	}
	var body struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	if body.Enabled == nil {
		writeError(w, r, s.d.Log, appliance.Errorf(appliance.EINVALID, `body must set "enabled"`))
		return
	}
	rule, err := s.d.Detect.SetRuleEnabled(r.Context(), principalOf(r.Context()).Tenant, r.PathValue("id"), *body.Enabled)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, rule)
}

func (s *Server) apiDeleteRule(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r, "deleting rules") {
		return
	}
	if err := s.d.Detect.DeleteRule(r.Context(), principalOf(r.Context()).Tenant, r.PathValue("id")); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request) {
	expr, err := query.Parse(r.URL.Query().Get("q"))
	if err != nil {
		writeError(w, r, s.d.Log, appliance.Errorf(appliance.EINVALID, "%v", err))
		return
	}
	limit, err := limitParam(r)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	page, err := s.d.Detect.Alerts(r.Context(), detect.AlertQuery{
		Tenant: principalOf(r.Context()).Tenant, Expr: expr, Limit: limit, Cursor: r.URL.Query().Get("cursor"),
		Incident: r.URL.Query().Get("incident"),
	})
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) apiIncidents(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	q := r.URL.Query()
	page, err := s.d.Detect.Incidents(r.Context(), principalOf(r.Context()).Tenant, q.Get("status"), limit, q.Get("cursor"))
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) apiIncident(w http.ResponseWriter, r *http.Request) {
	inc, err := s.d.Detect.Incident(r.Context(), principalOf(r.Context()).Tenant, r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

func (s *Server) apiPatchIncident(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if !canTriage(p) {
		writeError(w, r, s.d.Log, appliance.Errorf(appliance.EFORBIDDEN, "changing incidents needs an analyst, responder or admin role"))
		return
	}
	var body detect.IncidentPatch
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	author := p.User
	if author == "" {
		author = p.Via
	}
	inc, err := s.d.Detect.UpdateIncident(r.Context(), p.Tenant, r.PathValue("id"), author, body)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

func (s *Server) apiIntel(w http.ResponseWriter, r *http.Request) {
	counts, err := s.d.Detect.Reader().IntelSummary(r.Context(), principalOf(r.Context()).Tenant)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sources": counts})
}

// intelRequest is an intel import, from query parameters (API) or JSON
// (admin socket).
type intelRequest struct {
	Tenant   string `json:"tenant"`
	Format   string `json:"format"`
	Source   string `json:"source"`
	All      bool   `json:"all"`
	Replace  bool   `json:"replace"`
	Expires  string `json:"expires"` // a Go duration: indicators expire this long after the import
	Severity string `json:"severity"`
	Data     []byte `json:"data"`
}

func (s *Server) importIntel(w http.ResponseWriter, r *http.Request, req intelRequest) {
	opt := intel.Options{Format: req.Format, Source: req.Source, All: req.All, Severity: req.Severity}
	if req.Expires != "" {
		d, err := time.ParseDuration(req.Expires)
		if err != nil || d <= 0 {
			writeError(w, r, s.d.Log, appliance.Errorf(appliance.EINVALID, "expires=%q is not a positive duration (e.g. 720h)", req.Expires))
			return
		}
		opt.ValidUntil = s.d.Now().Add(d).UTC()
	}
	if req.Source != "" {
		if err := appliance.ValidName("source", req.Source); err != nil {
			writeError(w, r, s.d.Log, err)
			return
		}
	}
	rep, err := s.d.Detect.ImportIntel(r.Context(), req.Tenant, req.Data, opt, req.Replace)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// apiImportIntel takes a feed file as the body; options as query
// parameters (format, source, all, replace, expires, severity).
func (s *Server) apiImportIntel(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r, "importing threat intel") {
		return
	}
	q := r.URL.Query()
	req := intelRequest{Tenant: principalOf(r.Context()).Tenant, Format: q.Get("format"), Source: q.Get("source"),
		Expires: q.Get("expires"), Severity: q.Get("severity")}
	var err error
	if req.All, err = boolParam(r, "all", false); err == nil {
		req.Replace, err = boolParam(r, "replace", false)
	}
	if err == nil {
		req.Data, err = readBody(w, r, maxIntelBody)
	}
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	s.importIntel(w, r, req)
}

func (s *Server) apiDeleteIntel(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r, "deleting threat intel") {
		return
	}
	if err := s.d.Detect.DeleteIntel(r.Context(), principalOf(r.Context()).Tenant, r.PathValue("source")); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func orDefaultTenant(t string) string {
	if strings.TrimSpace(t) == "" {
		return appliance.DefaultTenant
	}
	return t
}

// adminImportRules is `xdr rules import`: the CLI reads the files and
// sends them; the answer lists every rule that failed.
func (s *Server) adminImportRules(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Tenant   string            `json:"tenant"`
		Status   string            `json:"status"`
		Disabled bool              `json:"disabled"`
		Files    map[string][]byte `json:"files"`
	}
	if err := decodeJSONLimit(w, r, &body, maxAdminImport); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	rep, err := s.d.Detect.ImportRules(r.Context(), orDefaultTenant(body.Tenant), body.Files,
		detect.ImportOptions{Status: body.Status, Disabled: body.Disabled})
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// adminImportIntel is `xdr intel import`.
func (s *Server) adminImportIntel(w http.ResponseWriter, r *http.Request) {
	var req intelRequest
	if err := decodeJSONLimit(w, r, &req, maxAdminImport); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	req.Tenant = orDefaultTenant(req.Tenant)
	s.importIntel(w, r, req)
}
