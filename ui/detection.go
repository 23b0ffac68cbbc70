package ui

import (
	"net/http"
	"net/url"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/attack"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/ui/pages"
)

// detection is the detection service of the alert, incident, rule and
// ATT&CK pages; a server without one (wired with fakes) answers 503 there.
func (s *Server) detection() (*detect.Service, error) {
	if s.d.Detect == nil {
		return nil, appliance.Errorf(appliance.EUNAVAILABLE, "Detection is not available on this node.")
	}
	return s.d.Detect, nil
}

// pageFail renders an error page for err in the chrome of page key.
func (s *Server) pageFail(w http.ResponseWriter, r *http.Request, key string, err error) {
	status := statusOf(appliance.ErrorCode(err))
	if status == http.StatusInternalServerError {
		s.d.Log.Error("page", "path", r.URL.Path, "err", err)
	}
	s.renderError(w, r, chromeOf(r, key), status, appliance.ErrorMessage(err))
}

// showTime formats a time for the pages.
func showTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// techniqueTags names ATT&CK technique IDs and links each to its alerts.
func techniqueTags(ids []string) []pages.Tag {
	tags := make([]pages.Tag, 0, len(ids))
	for _, ref := range attack.Enterprise().Describe(ids) {
		tags = append(tags, pages.Tag{Label: ref.ID, Title: ref.Name, Href: "/alerts?" + url.Values{"q": {"attack:" + ref.ID}}.Encode()})
	}
	return tags
}

// entityField is the event field of an entity type.
var entityField = map[string]string{"ip": "source.ip", "user": "user.name", "host": "host.name"}

// entityTags shows entities, each linking to its events.
func entityTags(es []detect.Entity) []pages.Tag {
	tags := make([]pages.Tag, 0, len(es))
	for _, e := range es {
		t := pages.Tag{Label: e.Type + ": " + e.Value}
		if f, ok := entityField[e.Type]; ok {
			t.Href = searchURL(f, e.Value, time.Time{}, time.Time{})
		}
		tags = append(tags, t)
	}
	return tags
}

// options builds a select's options with value selected; the first is
// labelled first ("any").
func options(values []string, first, selected string) []pages.Option {
	opts := []pages.Option{{Value: "", Label: first, Selected: selected == ""}}
	for _, v := range values {
		opts = append(opts, pages.Option{Value: v, Label: v, Selected: v == selected})
	}
	return opts
}
