package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed app.css job.js
var files embed.FS

// Prefix is where the caller mounts Handler.
const Prefix = "/static/"

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// contentTypes maps the extensions that may be embedded to their media type,
// so the answer does not depend on the host's mime tables.
var contentTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
}

// byHashed is keyed by hashed name ("app.3f2a9c1b.css"), hashedOf by the
// plain name ("app.css"). Both are built once at init and never change.
var byHashed, hashedOf = load()

func load() (map[string]asset, map[string]string) {
	byHashed := map[string]asset{}
	hashedOf := map[string]string{}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:8]
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hash + ext
		ct, ok := contentTypes[ext]
		if !ok {
			ct = "application/octet-stream"
		}
		byHashed[hashed] = asset{body: body, contentType: ct, etag: `"` + hash + `"`}
		hashedOf[name] = hashed
		return nil
	})
	if err != nil {
		panic("static: reading embedded files: " + err.Error()) // a build defect
	}
	return byHashed, hashedOf
}

// Path returns the URL of the embedded file name, e.g. Path("app.css") ==
// "/static/app.3f2a9c1b.css" (the first 8 hex digits of the SHA-256 of the
// content). It panics if name is not embedded: names are constants in the
// templates, so that is a programming error that any render test catches.
func Path(name string) string {
	hashed, ok := hashedOf[name]
	if !ok {
		panic("static: no embedded file " + name)
	}
	return Prefix + hashed
}

// Handler serves the embedded files under their hashed names. It expects the
// full request path ("/static/app.3f2a9c1b.css") and strips Prefix itself;
// a path already stripped ("/app.3f2a9c1b.css") is accepted too. Anything
// else, including a plain unhashed name, is 404. Only GET and HEAD are allowed.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		name = strings.TrimPrefix(r.URL.Path, "/")
	}
	a, ok := byHashed[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", a.etag)
	// ServeContent handles HEAD, Range and If-None-Match; a zero time
	// means no Last-Modified, since the ETag already identifies the content.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
