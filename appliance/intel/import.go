package intel

import (
	"bytes"
	"fmt"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// Formats of Import.
const (
	FormatSTIX = "stix"
	FormatMISP = "misp"
	FormatCSV  = "csv"
	FormatList = "list"
)

// Options tune an import.
type Options struct {
	Format string // one of the Format constants; empty: detected from the content
	Source string // names the feed in alerts; empty: the format
	// All imports MISP attributes whose to_ids flag is false as well. MISP
	// marks with to_ids the attributes meant for detection; the others are
	// context (and often match benign traffic), so they are left out unless
	// asked for.
	All bool
	// ValidUntil, when set, expires every imported indicator that has no
	// expiry of its own at this time.
	ValidUntil time.Time
	Severity   string // of the alerts raised; empty: high
}

// maxProblems bounds the malformed indicators a report lists one by one;
// the count stays exact.
const maxProblems = 200

// Problem is one malformed indicator.
type Problem struct {
	Where  string `json:"where"`  // e.g. "indicator--8e2e… pattern", "line 12", "attribute 5716…"
	Reason string `json:"reason"` // what was wrong
}

// Report says what an import read, kept and left out.
type Report struct {
	Format     string         `json:"format"`
	Read       int            `json:"read"`     // indicator objects, attributes or lines with a value
	Imported   int            `json:"imported"` // indicators produced (a compound pattern yields several)
	ByType     map[Type]int   `json:"by_type"`
	Skipped    map[string]int `json:"skipped,omitempty"` // reason → count: not observable here, or not for detection
	Malformed  int            `json:"malformed"`
	Problems   []Problem      `json:"problems,omitempty"` // the first maxProblems malformed ones
	Indicators []Indicator    `json:"-"`
}

func newReport(format string) *Report {
	return &Report{Format: format, ByType: map[Type]int{}, Skipped: map[string]int{}}
}

func (r *Report) skip(reason string) { r.Skipped[reason]++ }

func (r *Report) malformed(where, format string, args ...any) {
	r.Malformed++
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, Problem{Where: where, Reason: fmt.Sprintf(format, args...)})
	}
}

// add normalises and keeps one indicator, or records why it is malformed.
func (r *Report) add(where string, in Indicator) bool {
	v, err := Normalise(in.Type, in.Value)
	if err != nil {
		r.malformed(where, "%v", err)
		return false
	}
	in.Value = v
	r.Indicators = append(r.Indicators, in)
	r.ByType[in.Type]++
	r.Imported++
	return true
}

// finish applies the options every format shares and fixes the ID of
// each indicator.
func (r *Report) finish(opt Options, origins []string) {
	for i := range r.Indicators {
		in := &r.Indicators[i]
		if in.Source == "" {
			in.Source = opt.Source
		}
		if in.ValidUntil.IsZero() {
			in.ValidUntil = opt.ValidUntil
		}
		if in.Severity == "" {
			in.Severity = opt.Severity
		}
		in.ID = indicatorID(in.Source, origins[i], in.Type, in.Value)
	}
}

// Import parses data in one of the supported formats. A malformed
// indicator is reported and skipped; only input that is not of the format
// at all (not JSON, not a bundle) fails, with EINVALID.
func Import(data []byte, opt Options) (*Report, error) {
	if opt.Format == "" {
		opt.Format = DetectFormat(data)
	}
	if opt.Source == "" {
		opt.Source = opt.Format
	}
	if opt.Severity != "" {
		if _, ok := severities[opt.Severity]; !ok {
			return nil, appliance.Errorf(appliance.EINVALID, "severity %q: want informational, low, medium, high or critical", opt.Severity)
		}
	}
	var (
		r       *Report
		origins []string
		err     error
	)
	switch opt.Format {
	case FormatSTIX:
		r, origins, err = parseSTIX(data)
	case FormatMISP:
		r, origins, err = parseMISP(data, opt.All)
	case FormatCSV:
		r, origins, err = parseCSV(data)
	case FormatList:
		r, origins = parseList(data)
	default:
		return nil, appliance.Errorf(appliance.EINVALID, "unknown intel format %q (want stix, misp, csv or list)", opt.Format)
	}
	if err != nil {
		return nil, appliance.Errorf(appliance.EINVALID, "%s: %v", opt.Format, err)
	}
	r.finish(opt, origins)
	if len(r.Skipped) == 0 {
		r.Skipped = nil
	}
	return r, nil
}

var severities = map[string]bool{"informational": true, "low": true, "medium": true, "high": true, "critical": true}

// DetectFormat guesses the format of data: JSON with a STIX bundle or a
// MISP event, a CSV with a header naming a value column, else a list.
func DetectFormat(data []byte) string {
	t := bytes.TrimSpace(data)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		head := t[:min(len(t), 4096)]
		if bytes.Contains(head, []byte(`"bundle"`)) || bytes.Contains(head, []byte(`"spec_version"`)) {
			return FormatSTIX
		}
		return FormatMISP
	}
	if _, ok := csvHeader(firstLine(t)); ok {
		return FormatCSV
	}
	return FormatList
}
