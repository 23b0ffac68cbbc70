package ui

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/minixdr/xdr/appliance"
)

const sessionCookie = "xdr_session"

type principalKey struct{}

// principalOf returns the authenticated principal of a request.
func principalOf(ctx context.Context) appliance.Principal {
	p, _ := ctx.Value(principalKey{}).(appliance.Principal)
	return p
}

type secretKey struct{}

// credentials returns the secret a request presents and whether it came
// from the session cookie (which needs CSRF protection) or a header.
func credentials(r *http.Request) (secret string, fromCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(tok), false
		}
		return "", false
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value, true
	}
	return "", false
}

// requireAuth authenticates the request (token or session) and, for
// cookie-authenticated writes, checks the CSRF token.
func (s *Server) requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, fromCookie := credentials(r)
		p, err := s.d.Auth.Authenticate(r.Context(), secret)
		if err != nil {
			writeError(w, r, s.d.Log, err)
			return
		}
		if fromCookie && !safeMethod(r.Method) && !validCSRF(secret, r.Header.Get("X-CSRF-Token")) {
			writeError(w, r, s.d.Log, appliance.Errorf(appliance.EFORBIDDEN, "missing or wrong CSRF token"))
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		ctx = context.WithValue(ctx, secretKey{}, secret)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requireAPI is requireAuth for endpoints an ingest-only token may not use.
func (s *Server) requireAPI(next http.Handler) http.Handler {
	return s.requireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if principalOf(r.Context()).Scope != appliance.ScopeAPI {
			writeError(w, r, s.d.Log, appliance.Errorf(appliance.EFORBIDDEN, "an ingest token may only send events"))
			return
		}
		next.ServeHTTP(w, r)
	}))
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfToken derives a session's CSRF token from its secret: only someone who
// holds the session cookie can compute it, and it needs no storage.
func csrfToken(sessionSecret string) string {
	sum := sha256.Sum256([]byte("xdr-csrf\x00" + sessionSecret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func validCSRF(sessionSecret, presented string) bool {
	return presented != "" && subtle.ConstantTimeCompare([]byte(csrfToken(sessionSecret)), []byte(presented)) == 1
}

// securityHeaders sets the strict headers every response carries.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if s.d.TLS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
