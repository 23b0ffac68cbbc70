package ui

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// maxEvidenceEvents bounds the events one evidence export holds.
const maxEvidenceEvents = 10000

// evidenceExport answers an incident's evidence as a zip: incident.json
// (the incident with its alerts), events/<id>.json (every event of its
// alerts, as stored, with the original) and MANIFEST.sha256, which lists
// the SHA-256 of every other file in sha256sum's format, so a copy can be
// checked with `sha256sum -c MANIFEST.sha256`.
func (s *Server) evidenceExport(w http.ResponseWriter, r *http.Request) {
	svc, err := s.detection()
	if err != nil {
		s.pageFail(w, r, "incidents", err)
		return
	}
	tenant := principalOf(r.Context()).Tenant
	inc, err := svc.Incident(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		s.pageFail(w, r, "incidents", err)
		return
	}
	files := map[string][]byte{}
	incJSON, err := json.MarshalIndent(inc, "", "  ")
	if err != nil {
		s.pageFail(w, r, "incidents", fmt.Errorf("encode incident: %w", err))
		return
	}
	files["incident.json"] = incJSON
	missing := 0
	for _, a := range inc.Alerts {
		for _, id := range a.EventIDs {
			name := "events/" + id + ".json"
			if _, ok := files[name]; ok || len(files) > maxEvidenceEvents {
				continue
			}
			doc, ok := s.eventDoc(r, id)
			if !ok {
				missing++
				continue
			}
			files[name] = doc
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var manifest bytes.Buffer
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	now := s.d.Now().UTC()
	add := func(name string, body []byte) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return err
		}
		_, err = f.Write(body)
		return err
	}
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		fmt.Fprintf(&manifest, "%s  %s\n", hex.EncodeToString(sum[:]), n)
		if err := add(n, files[n]); err != nil {
			s.pageFail(w, r, "incidents", fmt.Errorf("write evidence zip: %w", err))
			return
		}
	}
	if missing > 0 {
		// Retention may have removed events an old alert points at.
		fmt.Fprintf(&manifest, "# %d event(s) of the alerts are no longer stored\n", missing)
	}
	if err := add("MANIFEST.sha256", manifest.Bytes()); err != nil || zw.Close() != nil {
		s.pageFail(w, r, "incidents", appliance.Errorf(appliance.EINTERNAL, "write evidence zip"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="incident-`+inc.ID+`-evidence-`+now.Format("20060102T150405Z")+`.zip"`)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
	s.d.Log.Info("evidence exported", "incident", inc.ID, "tenant", tenant, "user", principalOf(r.Context()).User,
		"files", len(names), "at", now.Format(time.RFC3339))
}
