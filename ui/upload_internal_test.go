package ui

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLimitUpload(t *testing.T) {
	s := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var read int
	var readErr error
	h := s.limitUpload(10, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		read, readErr = len(b), err
	}))

	// Announced too large: refused before the body is read.
	req := httptest.NewRequest("POST", "/rules/import", strings.NewReader(strings.Repeat("x", 11)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || read != 0 || !strings.Contains(rec.Body.String(), "larger than") {
		t.Errorf("announced 11 bytes over a limit of 10: %d, handler read %d", rec.Code, read)
	}

	// Not announced (chunked): the reader stops at the limit.
	req = httptest.NewRequest("POST", "/rules/import", strings.NewReader(strings.Repeat("x", 100)))
	req.ContentLength = -1
	h.ServeHTTP(httptest.NewRecorder(), req)
	if readErr == nil || read > 10 {
		t.Errorf("chunked 100 bytes over a limit of 10: read %d, err %v", read, readErr)
	}
}
