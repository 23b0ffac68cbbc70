package static_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"testing"

	"github.com/minixdr/xdr/ui/static"
)

func TestPathIsContentHashed(t *testing.T) {
	body, err := os.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	want := "/static/app." + hex.EncodeToString(sum[:])[:8] + ".css"
	if got := static.Path("app.css"); got != want {
		t.Fatalf("Path(app.css) = %q, want %q", got, want)
	}
}

func TestPathUnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Path of an unknown file did not panic")
		}
	}()
	static.Path("nope.css")
}

func TestHandler(t *testing.T) {
	h := static.Handler()
	css := static.Path("app.css")
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"hashed", http.MethodGet, css, http.StatusOK},
		{"head", http.MethodHead, css, http.StatusOK},
		{"already stripped", http.MethodGet, css[len("/static"):], http.StatusOK},
		{"unhashed", http.MethodGet, "/static/app.css", http.StatusNotFound},
		{"wrong hash", http.MethodGet, "/static/app.00000000.css", http.StatusNotFound},
		{"unknown", http.MethodGet, "/static/nope.js", http.StatusNotFound},
		{"dir", http.MethodGet, "/static/", http.StatusNotFound},
		{"traversal", http.MethodGet, "/static/../static.go", http.StatusNotFound},
		{"post", http.MethodPost, css, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.status)
			}
			if tt.status != http.StatusOK {
				if cc := rec.Header().Get("Cache-Control"); cc != "" {
					t.Errorf("error answer has Cache-Control %q", cc)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/css; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control = %q", cc)
			}
			if tt.method == http.MethodGet && rec.Body.Len() == 0 {
				t.Error("empty body")
			}
		})
	}
}

func TestHandlerConditional(t *testing.T) {
	srv := httptest.NewServer(static.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + static.Path("app.css"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	want, _ := os.ReadFile("app.css")
	if string(body) != string(want) {
		t.Fatal("served body differs from app.css")
	}
	etag := res.Header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{8}"$`).MatchString(etag) {
		t.Fatalf("ETag = %q", etag)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+static.Path("app.css"), nil)
	req.Header.Set("If-None-Match", etag)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: status %d, want 304", res.StatusCode)
	}
}

// The stylesheet must stay small and self-contained: no external fonts,
// images or imports, which an air-gapped appliance could not load.
func TestStylesheetSelfContained(t *testing.T) {
	body, err := os.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > 24*1024 {
		t.Errorf("app.css is %d bytes, want <= 24 KiB", len(body))
	}
	if m := regexp.MustCompile(`(?i)@import|url\(|@font-face`).Find(body); m != nil {
		t.Errorf("app.css references an external resource: %s", m)
	}
	for _, want := range []string{".skip-link:focus", "prefers-color-scheme: dark", "[data-theme=dark]",
		"[data-theme=light]", ":focus-visible", ".table-wrap", ".sev-informational", ".sev-low",
		".sev-medium", ".sev-high", ".sev-critical"} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).Match(body) {
			t.Errorf("app.css lacks %s", want)
		}
	}
}
