package pages

// AlertsVM is the alerts list.
type AlertsVM struct {
	Chrome     Chrome
	Query      string
	Severities []Choice // quick filters
	Error      string
	Rows       []AlertRow
	NextURL    string
	Empty      EmptyState
}

// AlertRow is one alert.
type AlertRow struct {
	Time, Severity, Rule, RuleURL, Source string
	Techniques                            []Tag
	Entities                              []Tag
	IncidentURL                           string
}

// Tag is a short labelled link (a technique, an entity).
type Tag struct{ Label, Title, Href string }

// IncidentsVM is the incidents list.
type IncidentsVM struct {
	Chrome                           Chrome
	Status, Severity, Assignee, Sort string // the filter as given
	Statuses, Severities, Sorts      []Option
	Error                            string
	Rows                             []IncidentRow
	Total                            string
	Page                             string // "page 2 of 7"
	PrevURL, NextURL                 string
	SortLinks                        map[string]SortLink // by sort key: the column header links
	Empty                            EmptyState
}

// Option is one <option> of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// SortLink is a sortable column header: its link and aria-sort value.
type SortLink struct{ Href, AriaSort string }

// IncidentRow is one incident in the list.
type IncidentRow struct {
	ID, URL, Title, Severity, Status, Assignee, Alerts, Created, Updated string
}

// IncidentVM is one incident.
type IncidentVM struct {
	Chrome                                Chrome
	ID, Title, Severity, Status, Assignee string
	Created, Updated, LastAlert, Alerts   string
	Entities                              []Tag
	Techniques                            []Tag
	Timeline                              []TimelineItem
	TimelineNote                          string // e.g. that it was cut
	Comments                              []CommentItem
	Statuses                              []Option
	EvidenceURL                           string
	Notice, Error                         string
	CanEdit                               bool
}

// TimelineItem is an alert or an event of an incident, by time.
type TimelineItem struct {
	Time, Kind, Label, Detail, URL, Severity string
}

// CommentItem is a comment on an incident.
type CommentItem struct{ Time, Author, Text string }

// RulesVM is the rules list and the import form.
type RulesVM struct {
	Chrome                        Chrome
	Query, Level, Status, Enabled string
	Levels, Statuses, EnabledOpts []Option
	Rows                          []RuleRow
	Total, Page                   string // "3,954", "page 2 of 80"
	PrevURL, NextURL              string
	Notice, Error                 string
	CanEdit                       bool
}

// RuleRow is one rule in the list.
type RuleRow struct {
	ID, URL, Title, Level, Status, Kind string
	Techniques                          []Tag
	Enabled, Builtin                    bool
}

// ImportResult reports a rule pack import. Failed may be one page of the
// refusals: FailedPage says which ("page 2 of 6"), the URLs lead on.
type ImportResult struct {
	Imported, Skipped string
	Refused           string // how many were refused in all
	Failed            []ImportFailure
	FailedPage        string
	PrevURL, NextURL  string
}

// JobVM is the page of a long operation: its progress while it runs, then
// its result (an import report, a download) or its error.
type JobVM struct {
	Chrome             Chrome
	Title              string // "Rule pack import"
	SelfURL, StatusURL string // the page, and its progress as JSON for job.js
	Running            bool
	Stage              string // what it does now
	Done, Of           int    // progress of the stage; Of == 0: not measurable
	Text               string // "1,200 of 3,204 rules"
	Started, Took      string
	Error              string
	Import             *ImportResult
	DownloadURL        string
	DownloadName       string
	DownloadDetail     string // e.g. "12 events, 40 KB, with MANIFEST.sha256. Kept here for 15 minutes"
	// Dropped says that the download was dropped to make room; AgainURL,
	// when set, is where a form posts to run the operation again.
	Dropped, AgainURL  string
	BackURL, BackLabel string
}

// ImportFailure is one rule an import refused.
type ImportFailure struct{ File, Rule, Reason string }

// RuleVM is one rule.
type RuleVM struct {
	Chrome                                      Chrome
	ID, Title, Level, Status, Kind, Description string
	Logsource, Updated, Source                  string
	Techniques                                  []Tag
	Tactics                                     []string
	Enabled, Builtin, CanEdit                   bool
	AlertsURL                                   string
}

// AttackVM is the ATT&CK coverage matrix.
type AttackVM struct {
	Chrome                Chrome
	Ranges                []Choice
	Range                 string
	Columns               []AttackColumn
	Covered, Fired, Total string
}

// AttackColumn is one tactic and its techniques.
type AttackColumn struct {
	ID, Name   string
	Techniques []AttackCell
}

// AttackCell is one technique: whether enabled rules cover it and how many
// alerts it had in the range.
type AttackCell struct {
	ID, Name, URL, Fired string
	Covered              bool
}
