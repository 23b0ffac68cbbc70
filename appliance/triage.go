package appliance

// IncidentFilter selects and orders a page of a tenant's incidents.
type IncidentFilter struct {
	Tenant   string
	Status   string // "" any; "open" any open status; else one status
	Severity string // "" any
	Assignee string // "" any; "-" unassigned; else that user
	Sort     string // "updated" (default, newest first), "severity", "created" or "alerts"
	Offset   int
	Limit    int // 0: the default page size
}
