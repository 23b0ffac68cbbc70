package ui

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/minixdr/xdr/appliance"
)

// apiMethods are the methods probed to tell "wrong method" from "no such
// endpoint".
var apiMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// apiFallback answers every /api/ request no endpoint took, in JSON: 405
// with an Allow header when the path exists under other methods, else 404.
// It is needed because this catch-all matches every method, so the mux's own
// 405 never happens under /api/.
func (s *Server) apiFallback(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range apiMethods {
			probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			writeError(w, r, s.d.Log, appliance.Errorf(appliance.ENOTFOUND, "no API endpoint %s %s", r.Method, r.URL.Path))
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{
			"error": fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")),
		})
	}
}
