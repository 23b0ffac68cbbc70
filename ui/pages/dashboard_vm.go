package pages

// DashboardVM is the first page after sign-in.
type DashboardVM struct {
	Chrome   Chrome
	Ranges   []Choice // the time range picker
	Range    string   // its label, e.g. "last 24 hours"
	Events   Chart    // events/s
	Alerts   *Chart   // alerts by severity; nil until detection exists
	Total    int      // events in the range
	Entities []TopTable
	Ingest   []IngestRow // nil: no ingest health to show
	// IngestErrors are the latest syslog messages refused, newest first.
	IngestErrors []IngestError
	Open         []SevCount  // open incidents by severity; nil until incidents exist
	Empty        *EmptyState // set when the tenant has no events at all
	Error        string
}

// Choice is one option of a link-based picker.
type Choice struct {
	Label, Href string
	Current     bool
}

// TopTable is the most frequent values of one field.
type TopTable struct {
	ID, Title, Field string
	Rows             []TopRow
	Partial          bool // counts are a lower bound
}

// TopRow is one value; Href searches the events with it.
type TopRow struct {
	Value, Count, Href string
}

// IngestRow is the health of one ingest source.
type IngestRow struct {
	Source, Accepted, Rejected, Dropped, LastEvent, LastError string
	Failing                                                   bool // some input was rejected or dropped
}

// SevCount is a count of one severity.
type SevCount struct {
	Severity, Count, Href string
}

// IngestError is a syslog message the node refused.
type IngestError struct{ Time, Listener, Reason string }
