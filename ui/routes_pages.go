package ui

import "net/http"

// pageRoutes registers the analyst pages.
func (s *Server) pageRoutes(mux *http.ServeMux) {
}
