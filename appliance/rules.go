package appliance

// RuleQuery selects a page of a tenant's rules, built-in and imported, in
// ID order (the rules page and GET /api/v1/rules).
type RuleQuery struct {
	Tenant  string
	Status  string // "" any
	Level   string // "" any
	Enabled *bool  // nil any
	Title   string // "" any; else titles containing it, ignoring case
	Offset  int
	Limit   int // 0: every rule from Offset
}
