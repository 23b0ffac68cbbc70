package ui

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// maxEvidenceEvents bounds the events one evidence export holds.
const maxEvidenceEvents = 10000

// evidenceZip is an incident's evidence: incident.json (the incident with
// its alerts), events/<id>.json (every event of its alerts, as stored, with
// the original) and MANIFEST.sha256, which lists the SHA-256 of every other
// file in sha256sum's format, so a copy can be checked with
// `sha256sum -c MANIFEST.sha256`.
type evidenceZip struct {
	name   string // the download's file name
	body   []byte
	events int // event files in the zip
}

// evidence builds the evidence zip of incident id; progress, when set, is
// told how many of the alerts' events have been read. Each event goes into
// the zip as it is read, so the zip is all the export holds; ETOOLARGE
// once it would exceed limit bytes.
func (s *Server) evidence(ctx context.Context, tenant, id string, limit int, progress func(read, total int)) (evidenceZip, error) {
	svc, err := s.detection()
	if err != nil {
		return evidenceZip{}, err
	}
	inc, err := svc.Incident(ctx, tenant, id)
	if err != nil {
		return evidenceZip{}, err
	}
	incJSON, err := json.MarshalIndent(inc, "", "  ")
	if err != nil {
		return evidenceZip{}, fmt.Errorf("encode incident %s: %w", inc.ID, err)
	}
	var ids []string
	seen := map[string]bool{}
	for _, a := range inc.Alerts {
		for _, id := range a.EventIDs {
			if !seen[id] && len(ids) < maxEvidenceEvents {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	// The files in name order: events/<id>.json, then incident.json.
	sort.Strings(ids)
	var manifest bytes.Buffer
	buf := &cappedBuffer{max: limit}
	zw := zip.NewWriter(buf)
	now := s.d.Now().UTC()
	add := func(name string, body []byte) error {
		if name != "MANIFEST.sha256" {
			sum := sha256.Sum256(body)
			fmt.Fprintf(&manifest, "%s  %s\n", hex.EncodeToString(sum[:]), name)
		}
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
		if err == nil {
			_, err = f.Write(body)
		}
		if err != nil {
			return fmt.Errorf("write evidence zip of incident %s: %w", inc.ID, err)
		}
		return nil
	}
	missing, files := 0, 0
	for i, id := range ids {
		if progress != nil && i%100 == 0 {
			progress(i, len(ids))
		}
		if err := ctx.Err(); err != nil {
			return evidenceZip{}, err
		}
		doc, ok := s.eventDoc(ctx, tenant, id)
		if !ok {
			missing++
			continue
		}
		if err := add("events/"+id+".json", doc); err != nil {
			return evidenceZip{}, err
		}
		files++
	}
	if progress != nil {
		progress(len(ids), len(ids))
	}
	if err := add("incident.json", incJSON); err != nil {
		return evidenceZip{}, err
	}
	if missing > 0 {
		// Retention may have removed events an old alert points at.
		fmt.Fprintf(&manifest, "# %d event(s) of the alerts are no longer stored\n", missing)
	}
	if err := add("MANIFEST.sha256", manifest.Bytes()); err != nil {
		return evidenceZip{}, err
	}
	if err := zw.Close(); err != nil {
		return evidenceZip{}, fmt.Errorf("write evidence zip of incident %s: %w", inc.ID, err)
	}
	s.d.Log.Info("evidence exported", "incident", inc.ID, "tenant", tenant, "user", principalOf(ctx).User,
		"files", files+1, "at", now.Format(time.RFC3339))
	return evidenceZip{name: "incident-" + inc.ID + "-evidence-" + now.Format("20060102T150405Z") + ".zip",
		body: buf.Bytes(), events: files}, nil
}

// cappedBuffer is a bytes.Buffer that refuses to grow past max bytes.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, tooLargeResult(b.max)
	}
	return b.Buffer.Write(p)
}

// evidenceExport answers an incident's evidence zip at once (GET, for
// scripts and links; the page starts an export job instead).
func (s *Server) evidenceExport(w http.ResponseWriter, r *http.Request) {
	ev, err := s.evidence(r.Context(), principalOf(r.Context()).Tenant, r.PathValue("id"), s.jobs.resultLimit(), nil)
	if err != nil {
		s.pageFail(w, r, "incidents", err)
		return
	}
	sendZip(w, ev.name, ev.body)
}

// evidenceJob starts the export of an incident's evidence and sends the
// browser to its progress page.
func (s *Server) evidenceJob(w http.ResponseWriter, r *http.Request) {
	tenant, id := principalOf(r.Context()).Tenant, r.PathValue("id")
	back := "/incidents/" + url.PathEscape(id)
	j, err := s.startJob(r, "Evidence export", back, "Back to the incident", func(ctx context.Context, j *job) error {
		ev, err := s.evidence(ctx, tenant, id, s.jobs.resultLimit(),
			func(read, total int) { j.progress("Reading the events of the alerts", read, total, "events") })
		if err != nil {
			return err
		}
		return s.jobs.keep(j, jobFile{name: ev.name, body: ev.body, againURL: back + "/evidence",
			detail: fmt.Sprintf("%d event file(s), %d KB, with MANIFEST.sha256", ev.events, (len(ev.body)+1023)/1024)})
	})
	if err != nil {
		s.pageFail(w, r, "incidents", err)
		return
	}
	http.Redirect(w, r, "/jobs/"+j.id, http.StatusSeeOther)
}

// sendZip answers body as the download name.
func sendZip(w http.ResponseWriter, name string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.Write(body) //nolint:errcheck // the client went away
}
