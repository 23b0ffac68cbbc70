package ui

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/auth"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/appliance/query"
)

// maxJSONBody bounds small JSON request bodies (login, token creation).
const maxJSONBody = 64 << 10

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeJSONLimit(w, r, v, maxJSONBody)
}

// decodeJSONLimit decodes a JSON body of at most limit bytes.
func decodeJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return appliance.Errorf(appliance.ETOOLARGE, "request body exceeds %d bytes", limit)
		}
		return appliance.Errorf(appliance.EINVALID, "request body: %v", err)
	}
	return nil
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	// A cross-site form can post text/plain but not JSON without a CORS
	// preflight (which this server never grants), so insisting on JSON stops
	// another site from logging a browser in (login CSRF).
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, r, s.d.Log, appliance.Errorf(appliance.EINVALID, "login needs Content-Type: application/json"))
		return
	}
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	secret, sess, err := s.d.Auth.Login(r.Context(), body.Username, body.Password)
	if err != nil {
		if appliance.ErrorCode(err) == appliance.EUNAUTHORIZED {
			s.d.Log.Warn("login failed", "user", body.Username, "remote", r.RemoteAddr)
		}
		writeError(w, r, s.d.Log, err)
		return
	}
	s.setSessionCookie(w, secret, sess)
	writeJSON(w, http.StatusOK, map[string]string{"token": secret, "csrf": csrfToken(secret)})
}

func (s *Server) setSessionCookie(w http.ResponseWriter, secret string, sess appliance.Session) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: secret, Path: "/", Expires: sess.Expires,
		HttpOnly: true, Secure: s.d.TLS, SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.d.TLS, SameSite: http.SameSiteStrictMode})
}

// apiLogout ends the session that requireAuth authenticated (and, for a
// cookie, checked the CSRF token of); an API token is left alone.
func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) {
	secret, _ := r.Context().Value(secretKey{}).(string)
	if err := s.d.Auth.Logout(r.Context(), secret); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

type tokenRequest struct {
	Tenant string `json:"tenant"`
	Name   string `json:"name"`
	Scope  string `json:"scope"`
	Role   string `json:"role,omitempty"`
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	var body tokenRequest
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	p := principalOf(r.Context())
	if !auth.CanAdminister(p) {
		writeError(w, r, s.d.Log, appliance.Errorf(appliance.EFORBIDDEN, "creating tokens needs the super_admin or security_admin role"))
		return
	}
	if body.Tenant == "" {
		body.Tenant = p.Tenant
	}
	if body.Tenant != p.Tenant && p.Role != appliance.RoleSuperAdmin {
		writeError(w, r, s.d.Log, appliance.Errorf(appliance.EFORBIDDEN, "only a super_admin may create tokens for another tenant"))
		return
	}
	if body.Role == appliance.RoleSuperAdmin && p.Role != appliance.RoleSuperAdmin {
		writeError(w, r, s.d.Log, appliance.Errorf(appliance.EFORBIDDEN, "only a super_admin may grant super_admin"))
		return
	}
	s.createToken(w, r, body)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, body tokenRequest) {
	if body.Scope == "" {
		body.Scope = appliance.ScopeIngest
	}
	secret, err := s.d.Auth.CreateToken(r.Context(), body.Tenant, body.Name, body.Scope, body.Role)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": secret})
}

// adminCreateToken is token creation for the local admin socket, where
// holding the socket is the authorisation.
func (s *Server) adminCreateToken(w http.ResponseWriter, r *http.Request) {
	var body tokenRequest
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	s.createToken(w, r, body)
}

func (s *Server) apiIngest(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	// The ingest service bounds the (decompressed) body, which also bounds
	// what is read off the wire.
	var body io.Reader = r.Body
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			writeError(w, r, s.d.Log, appliance.Errorf(appliance.EINVALID, "body is not valid gzip: %v", err))
			return
		}
		defer zr.Close()
		body = zr
	default:
		writeError(w, r, s.d.Log, appliance.Errorf(appliance.EINVALID, "unsupported Content-Encoding %q (use gzip or none)", enc))
		return
	}
	res, err := s.d.Ingest.Ingest(r.Context(), ingest.Request{
		Tenant: p.Tenant, Source: r.PathValue("source"), BatchID: r.Header.Get("Idempotency-Key"), Body: body,
	})
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// parseEventSearch reads the query parameters of an event search.
func parseEventSearch(tenant string, q map[string][]string) (appliance.EventSearch, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	req := appliance.EventSearch{Tenant: tenant}
	expr, err := query.Parse(get("q"))
	if err != nil {
		return req, appliance.Errorf(appliance.EINVALID, "%v", err)
	}
	req.Expr = expr
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"from", &req.From}, {"to", &req.To}} {
		if v := get(b.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return req, appliance.Errorf(appliance.EINVALID, "%s=%q is not an RFC 3339 time", b.name, v)
			}
			*b.dst = t
		}
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return req, appliance.Errorf(appliance.EINVALID, "limit=%q is not a positive number", v)
		}
		req.Limit = n
	}
	if v := get("cursor"); v != "" {
		id, err := appliance.ParseEventID(v)
		if err != nil {
			return req, appliance.Errorf(appliance.EINVALID, "cursor=%q is not a cursor from a previous page", v)
		}
		req.Cursor = id
	}
	return req, nil
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	req, err := parseEventSearch(principalOf(r.Context()).Tenant, r.URL.Query())
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	page, err := s.d.Events.Search(r.Context(), req)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	// The documents are stored as JSON already: write them through rather
	// than decode and re-encode each.
	var buf bytes.Buffer
	buf.WriteString(`{"events":[`)
	for i, doc := range page.Events {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(doc)
	}
	buf.WriteString(`],"next":`)
	next := ""
	if page.Next != (appliance.EventID{}) {
		next = page.Next.String()
	}
	nb, _ := json.Marshal(next)
	buf.Write(nb)
	buf.WriteString("}\n")
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

func (s *Server) apiEvent(w http.ResponseWriter, r *http.Request) {
	id, err := appliance.ParseEventID(r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	doc, err := s.d.Events.Get(r.Context(), principalOf(r.Context()).Tenant, id)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(doc) //nolint:errcheck // the client went away
}
