package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/command"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/intel"
)

// Detection state (migration 3): rules, indicators, correlation state,
// alerts and incidents. Writes run in the state machine's transaction;
// reads (detection_read.go) take the tenant as a parameter.

// PutRule stores a rule (imported, with its YAML; or the state row of a
// built-in rule, without). info is the parsed rule's description.
func PutRule(tx *sql.Tx, tenant string, info detect.RuleInfo, source []byte, updated int64) error {
	if err := requireTenant(tx, tenant); err != nil {
		return err
	}
	meta, err := json.Marshal(info)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO rules (tenant, id, title, status, level, kind, enabled, builtin, source, info, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, id) DO UPDATE SET title = excluded.title, status = excluded.status, level = excluded.level,
		kind = excluded.kind, enabled = excluded.enabled, builtin = excluded.builtin, source = excluded.source,
		info = excluded.info, updated = excluded.updated`,
		tenant, info.ID, info.Title, info.Status, info.Level, info.Kind, info.Enabled, info.Builtin, source, meta, updated)
	return wrap(err, "store rule %q", info.ID)
}

// SetRuleEnabled changes a stored rule's state; ENOTFOUND without a row
// (the caller creates the row of a built-in rule first).
func SetRuleEnabled(tx *sql.Tx, tenant, id string, enabled bool, updated int64) error {
	res, err := tx.Exec(`UPDATE rules SET enabled = ?, updated = ? WHERE tenant = ? AND id = ?`, enabled, updated, tenant, id)
	return affectedOne(res, err, "rule %q not found", id)
}

// RuleExists reports whether a tenant has a row for a rule.
func RuleExists(tx *sql.Tx, tenant, id string) (bool, error) {
	var one int
	err := tx.QueryRow(`SELECT 1 FROM rules WHERE tenant = ? AND id = ?`, tenant, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap(err, "look up rule %q", id)
}

// HasTenant reports whether a tenant exists, in the apply transaction.
func HasTenant(tx *sql.Tx, tenant string) (bool, error) {
	err := requireTenant(tx, tenant)
	if appliance.ErrorCode(err) == appliance.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

// DeleteRule removes an imported rule; ENOTFOUND if there is none.
func DeleteRule(tx *sql.Tx, tenant, id string) error {
	res, err := tx.Exec(`DELETE FROM rules WHERE tenant = ? AND id = ? AND builtin = 0`, tenant, id)
	return affectedOne(res, err, "no imported rule %q (built-in rules can be disabled, not deleted)", id)
}

func affectedOne(res sql.Result, err error, format string, args ...any) error {
	if err != nil {
		return wrap(err, format, args...)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return appliance.Errorf(appliance.ENOTFOUND, format, args...)
	}
	return nil
}

// PutIndicators stores indicators of one source (replacing that source's
// others when replace).
func PutIndicators(tx *sql.Tx, c *command.PutIndicators) error {
	if err := requireTenant(tx, c.Tenant); err != nil {
		return err
	}
	if c.Replace {
		if err := DeleteIntel(tx, c.Tenant, c.Source); err != nil {
			return err
		}
	}
	stmt, err := tx.Prepare(`INSERT INTO indicators (tenant, id, source, type, value, doc) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, id) DO UPDATE SET source = excluded.source, type = excluded.type, value = excluded.value, doc = excluded.doc`)
	if err != nil {
		return wrap(err, "store indicators")
	}
	defer stmt.Close()
	for i := range c.Indicators {
		in := &c.Indicators[i]
		if in.ID == "" {
			return appliance.Errorf(appliance.EINVALID, "indicator %d has no id", i)
		}
		if _, err := intel.Normalise(in.Type, in.Value); err != nil {
			return appliance.Errorf(appliance.EINVALID, "indicator %s: %v", in.ID, err)
		}
		doc, err := json.Marshal(in)
		if err != nil {
			return err
		}
		if _, err := stmt.Exec(c.Tenant, in.ID, in.Source, string(in.Type), in.Value, doc); err != nil {
			return wrap(err, "store indicator %s", in.ID)
		}
	}
	return nil
}

// DeleteIntel removes a tenant's indicators of one source.
func DeleteIntel(tx *sql.Tx, tenant, source string) error {
	_, err := tx.Exec(`DELETE FROM indicators WHERE tenant = ? AND source = ?`, tenant, source)
	return wrap(err, "delete indicators of %q", source)
}

// UpdateIncident applies triage to an incident; ENOTFOUND if the tenant
// has no such incident, EINVALID for an unknown status.
func UpdateIncident(tx *sql.Tx, c *command.UpdateIncident) error {
	inc, err := incidentByID(tx, c.Tenant, c.ID)
	if err != nil {
		return err
	}
	at := time.Unix(0, c.Time).UTC()
	if c.Status != nil {
		if !validStatus(*c.Status) {
			return appliance.Errorf(appliance.EINVALID, "status %q: want one of new, triaged, contained, resolved, false_positive", *c.Status)
		}
		inc.Status = *c.Status
	}
	if c.Assignee != nil {
		inc.Assignee = *c.Assignee
	}
	if c.Comment != "" {
		inc.Comments = append(inc.Comments, detect.Comment{Time: at, Author: c.Author, Text: c.Comment})
	}
	if at.After(inc.Updated) {
		inc.Updated = at
	}
	return putIncident(txExec{tx, putIncidentSQL}, inc)
}

func validStatus(s string) bool {
	for _, v := range detect.Statuses {
		if v == s {
			return true
		}
	}
	return false
}

type queryer interface {
	QueryRow(query string, args ...any) *sql.Row
}

func incidentByID(q queryer, tenant, id string) (*detect.Incident, error) {
	var doc []byte
	err := q.QueryRow(`SELECT doc FROM incidents WHERE tenant = ? AND id = ?`, tenant, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, appliance.Errorf(appliance.ENOTFOUND, "incident %q not found", id)
	}
	if err != nil {
		return nil, wrap(err, "look up incident %q", id)
	}
	var inc detect.Incident
	if err := json.Unmarshal(doc, &inc); err != nil {
		return nil, fmt.Errorf("incident %q: %w", id, err)
	}
	return &inc, nil
}

const putIncidentSQL = `INSERT INTO incidents (tenant, id, status, severity, key_type, key_value, created, updated, last_alert, doc)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (tenant, id) DO UPDATE SET status = excluded.status, severity = excluded.severity,
	created = excluded.created, updated = excluded.updated, last_alert = excluded.last_alert, doc = excluded.doc`

type execer interface {
	Exec(args ...any) (sql.Result, error)
}

type txExec struct {
	tx *sql.Tx
	q  string
}

func (e txExec) Exec(args ...any) (sql.Result, error) { return e.tx.Exec(e.q, args...) }

func putIncident(ex execer, inc *detect.Incident) error {
	doc, err := json.Marshal(inc)
	if err != nil {
		return err
	}
	_, err = ex.Exec(inc.Tenant, inc.ID, inc.Status, inc.Severity, inc.Key.Type, inc.Key.Value,
		inc.Created.UnixNano(), inc.Updated.UnixNano(), inc.LastAlert.UnixNano(), doc)
	return wrap(err, "store incident %q", inc.ID)
}

// DetectState is detect.State over the state machine's transaction. Its
// per-alert statements are prepared once per batch: preparing dominated
// the cost of a burst of alerts.
type DetectState struct {
	Tx    *sql.Tx
	stmts map[string]*sql.Stmt
	// events reads a stored event (the event store's Get).
	events func(tenant string, id appliance.EventID) ([]byte, error)
}

var _ detect.State = (*DetectState)(nil)

// NewDetectState returns the state of one apply; Close releases it.
func NewDetectState(tx *sql.Tx, events func(tenant string, id appliance.EventID) ([]byte, error)) *DetectState {
	return &DetectState{Tx: tx, stmts: map[string]*sql.Stmt{}, events: events}
}

func (s *DetectState) EventDoc(tenant string, id appliance.EventID) ([]byte, error) {
	return s.events(tenant, id)
}

// AppendCorrelationLog appends a batch of event IDs and returns how many
// the tenant's log holds now. Each row keeps that count (total), so the
// newest row, found by the primary key, gives both the next seq and the
// count: the cost of an append does not grow with the log, which under a
// login storm reaches the size of the correlator's state before it is
// checkpointed.
func (s *DetectState) AppendCorrelationLog(tenant string, ids []appliance.EventID) (int, error) {
	blob := make([]byte, 0, 16*len(ids))
	for _, id := range ids {
		blob = append(blob, id[:]...)
	}
	last, err := s.stmt(`SELECT seq, total FROM correlation_log WHERE tenant = ? ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return 0, err
	}
	var seq, total int
	if err := last.QueryRow(tenant).Scan(&seq, &total); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, wrap(err, "correlation log")
	}
	insert, err := s.stmt(`INSERT INTO correlation_log (tenant, seq, events, total) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	total += len(ids)
	_, err = insert.Exec(tenant, seq+1, blob, total)
	return total, wrap(err, "append correlation log")
}

// fillCorrelationLogTotals sets every correlation log row's total, the
// tenant's event count up to and including it, for rows stored without
// one: by migration 9, and by the restore of a snapshot of an older schema
// (snapshot.go), so that every node holds the same values.
const fillCorrelationLogTotals = `UPDATE correlation_log SET total = c.total
	FROM (SELECT tenant, seq, sum(length(events) / 16) OVER (PARTITION BY tenant ORDER BY seq) AS total FROM correlation_log) AS c
	WHERE c.tenant = correlation_log.tenant AND c.seq = correlation_log.seq;`

func (s *DetectState) CorrelationLog(tenant string) ([]appliance.EventID, error) {
	rows, err := s.Tx.Query(`SELECT events FROM correlation_log WHERE tenant = ? ORDER BY seq`, tenant)
	if err != nil {
		return nil, wrap(err, "correlation log")
	}
	defer rows.Close()
	var ids []appliance.EventID
	for rows.Next() {
		var blob []byte
		if err := rows.Scan(&blob); err != nil {
			return nil, wrap(err, "correlation log")
		}
		if len(blob)%16 != 0 {
			return nil, fmt.Errorf("correlation log of %q: entry of %d bytes", tenant, len(blob))
		}
		for i := 0; i < len(blob); i += 16 {
			ids = append(ids, appliance.EventID(blob[i:i+16]))
		}
	}
	return ids, wrap(rows.Err(), "correlation log")
}

func (s *DetectState) ClearCorrelationLog(tenant string) error {
	_, err := s.Tx.Exec(`DELETE FROM correlation_log WHERE tenant = ?`, tenant)
	return wrap(err, "clear correlation log")
}

// Close closes the prepared statements.
func (s *DetectState) Close() {
	for _, st := range s.stmts {
		st.Close()
	}
}

func (s *DetectState) stmt(q string) (*sql.Stmt, error) {
	if st := s.stmts[q]; st != nil {
		return st, nil
	}
	st, err := s.Tx.Prepare(q)
	if err != nil {
		return nil, wrap(err, "prepare")
	}
	s.stmts[q] = st
	return st, nil
}

func (s *DetectState) Rules(tenant string) ([]detect.StoredRule, error) {
	rows, err := s.Tx.Query(`SELECT id, source, enabled, builtin FROM rules WHERE tenant = ? ORDER BY id`, tenant)
	if err != nil {
		return nil, wrap(err, "load rules")
	}
	defer rows.Close()
	var out []detect.StoredRule
	for rows.Next() {
		var r detect.StoredRule
		if err := rows.Scan(&r.ID, &r.Source, &r.Enabled, &r.Builtin); err != nil {
			return nil, wrap(err, "load rules")
		}
		out = append(out, r)
	}
	return out, wrap(rows.Err(), "load rules")
}

func (s *DetectState) Indicators(tenant string) ([]intel.Indicator, error) {
	rows, err := s.Tx.Query(`SELECT doc FROM indicators WHERE tenant = ? ORDER BY id`, tenant)
	if err != nil {
		return nil, wrap(err, "load indicators")
	}
	defer rows.Close()
	var out []intel.Indicator
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, wrap(err, "load indicators")
		}
		var in intel.Indicator
		if err := json.Unmarshal(doc, &in); err != nil {
			return nil, fmt.Errorf("load indicators: %w", err)
		}
		out = append(out, in)
	}
	return out, wrap(rows.Err(), "load indicators")
}

func (s *DetectState) CorrelationState(tenant string) ([]byte, error) {
	var state []byte
	err := s.Tx.QueryRow(`SELECT state FROM correlation_state WHERE tenant = ?`, tenant).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return state, wrap(err, "load correlation state")
}

func (s *DetectState) SaveCorrelationState(tenant string, state []byte) error {
	_, err := s.Tx.Exec(`INSERT INTO correlation_state (tenant, state) VALUES (?, ?)
		ON CONFLICT (tenant) DO UPDATE SET state = excluded.state`, tenant, state)
	return wrap(err, "save correlation state")
}

func (s *DetectState) AlertExists(tenant, id string) (bool, error) {
	st, err := s.stmt(`SELECT 1 FROM alerts WHERE tenant = ? AND id = ?`)
	if err != nil {
		return false, err
	}
	var one int
	err = st.QueryRow(tenant, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap(err, "look up alert")
}

func (s *DetectState) PutAlert(a *detect.Alert) error {
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	st, err := s.stmt(`INSERT INTO alerts (tenant, id, time, rule_id, severity, incident, doc, ip, user_name, host)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	entity := map[string]string{}
	for _, e := range a.Entities {
		if _, seen := entity[e.Type]; !seen {
			entity[e.Type] = e.Value
		}
	}
	if _, err := st.Exec(a.Tenant, a.ID, a.Timestamp.UnixNano(), a.RuleID, a.Severity, a.Incident, doc,
		entity["ip"], entity["user"], entity["host"]); err != nil {
		return wrap(err, "store alert")
	}
	return s.countAlert(a)
}

// countAlert adds an alert to the per-(tenant, hour) rollups that the
// dashboard and the ATT&CK page count a range from (AlertHistogram,
// AlertTechniqueCounts), in the transaction that stores the alert: a
// technique tagged twice counts twice, as the alerts' own count does.
func (s *DetectState) countAlert(a *detect.Alert) error {
	hour := floorHour(a.Timestamp.UnixNano())
	st, err := s.stmt(`INSERT INTO alert_severities (tenant, hour, severity, alerts) VALUES (?, ?, ?, 1)
		ON CONFLICT (tenant, hour, severity) DO UPDATE SET alerts = alerts + 1`)
	if err != nil {
		return err
	}
	if _, err := st.Exec(a.Tenant, hour, a.Severity); err != nil {
		return wrap(err, "count alert severity")
	}
	if len(a.Attack) == 0 {
		return nil
	}
	st, err = s.stmt(`INSERT INTO alert_techniques (tenant, hour, technique, alerts) VALUES (?, ?, ?, 1)
		ON CONFLICT (tenant, hour, technique) DO UPDATE SET alerts = alerts + 1`)
	if err != nil {
		return err
	}
	for _, t := range a.Attack {
		if _, err := st.Exec(a.Tenant, hour, t); err != nil {
			return wrap(err, "count alert technique")
		}
	}
	return nil
}

func (s *DetectState) OpenIncident(tenant string, key detect.Entity, t time.Time, window time.Duration) (*detect.Incident, error) {
	// The statuses are detect.OpenStatuses.
	st, err := s.stmt(`SELECT doc FROM incidents WHERE tenant = ? AND key_type = ? AND key_value = ?
		AND last_alert >= ? AND created <= ? AND status IN ('new', 'triaged', 'contained')
		ORDER BY last_alert DESC, id LIMIT 1`)
	if err != nil {
		return nil, err
	}
	var doc []byte
	err = st.QueryRow(tenant, key.Type, key.Value, t.Add(-window).UnixNano(), t.Add(window).UnixNano()).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap(err, "find open incident")
	}
	var inc detect.Incident
	if err := json.Unmarshal(doc, &inc); err != nil {
		return nil, fmt.Errorf("open incident: %w", err)
	}
	return &inc, nil
}

func (s *DetectState) PutIncident(inc *detect.Incident) error {
	st, err := s.stmt(putIncidentSQL)
	if err != nil {
		return err
	}
	return putIncident(st, inc)
}
