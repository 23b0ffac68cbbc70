package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/minixdr/xdr/appliance/attack"
)

// Severities, least severe first: Sigma's levels.
var Severities = []string{"informational", "low", "medium", "high", "critical"}

// SeverityRank orders severities (-1 for an unknown one).
func SeverityRank(s string) int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return -1
}

// Incident statuses (INTERFACE.md). Alerts join only open incidents.
const (
	StatusNew           = "new"
	StatusTriaged       = "triaged"
	StatusContained     = "contained"
	StatusResolved      = "resolved"
	StatusFalsePositive = "false_positive"
)

// Statuses lists every incident status.
var Statuses = []string{StatusNew, StatusTriaged, StatusContained, StatusResolved, StatusFalsePositive}

// OpenStatuses are those an incident still collects alerts in.
var OpenStatuses = []string{StatusNew, StatusTriaged, StatusContained}

// Entity is something an alert is about.
type Entity struct {
	Type  string `json:"type"` // ip, user or host
	Value string `json:"value"`
}

// Entity fields, in the order that picks the entity incidents group by.
var entityFields = []struct{ field, typ string }{
	{"source.ip", "ip"}, {"user.name", "user"}, {"host.name", "host"},
}

// IntelContext is the indicator behind a threat-intel alert.
type IntelContext struct {
	Indicator   string   `json:"indicator"` // its ID
	Type        string   `json:"type"`
	Value       string   `json:"value"`
	Source      string   `json:"source"`
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	Labels      []string `json:"labels,omitempty"`
	Field       string   `json:"field"`    // the event field it was found in
	Observed    string   `json:"observed"` // the value there
	ValidUntil  string   `json:"valid_until,omitempty"`
}

// Alert is one detection, as stored and returned (INTERFACE.md).
type Alert struct {
	ID         string        `json:"id"`
	Tenant     string        `json:"tenant"`
	RuleID     string        `json:"rule_id"`
	RuleTitle  string        `json:"rule_title"`
	Severity   string        `json:"severity"`
	Attack     []string      `json:"attack"`
	Tactics    []string      `json:"tactics,omitempty"`
	EventIDs   []string      `json:"event_ids"`
	Timestamp  time.Time     `json:"@timestamp"` // the (last) event's time
	Source     string        `json:"source,omitempty"`
	Entities   []Entity      `json:"entities,omitempty"`
	Incident   string        `json:"incident,omitempty"`
	GroupKey   string        `json:"group_key,omitempty"` // of a correlation
	Intel      *IntelContext `json:"intel,omitempty"`
	Techniques []attack.Ref  `json:"techniques,omitempty"` // names and tactics of Attack, filled when read
}

// Comment is a note on an incident.
type Comment struct {
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Text   string    `json:"text"`
}

// Incident groups alerts about one entity close in time (INTERFACE.md).
type Incident struct {
	ID         string       `json:"id"`
	Tenant     string       `json:"tenant"`
	Title      string       `json:"title"`
	Severity   string       `json:"severity"`
	Status     string       `json:"status"`
	Assignee   string       `json:"assignee"`
	AlertCount int          `json:"alert_count"`
	Entities   []Entity     `json:"entities"`
	Attack     []string     `json:"attack"`
	Rules      []string     `json:"rules"`      // distinct rule IDs of its alerts
	Key        Entity       `json:"key"`        // the entity it groups by
	Created    time.Time    `json:"created"`    // its first alert's time
	Updated    time.Time    `json:"updated"`    // last change: an alert joined (its time) or triage (command time)
	LastAlert  time.Time    `json:"last_alert"` // its latest alert's time
	Comments   []Comment    `json:"comments,omitempty"`
	Alerts     []Alert      `json:"alerts,omitempty"` // filled by GET /incidents/{id}
	Techniques []attack.Ref `json:"techniques,omitempty"`
}

// hashID is a short stable ID over its parts.
func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
