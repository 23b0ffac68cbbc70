package sqlstore

// migrations is the ordered schema history. Append only: the schema version
// of a database is the number of migrations applied (PRAGMA user_version),
// and a database newer than this list is refused.
//
// Every table has an explicit primary key; snapshots and digests order rows
// by it, so the order rows were inserted in never matters.
var migrations = []string{
	// 1: identity.
	`CREATE TABLE tenants (
		name    TEXT PRIMARY KEY,
		created INTEGER NOT NULL
	);
	CREATE TABLE users (
		name          TEXT PRIMARY KEY,
		tenant        TEXT NOT NULL REFERENCES tenants(name),
		role          TEXT NOT NULL,
		password_hash TEXT NOT NULL,
		created       INTEGER NOT NULL
	);
	CREATE INDEX users_tenant ON users(tenant, name);
	CREATE TABLE tokens (
		hash    BLOB PRIMARY KEY,
		tenant  TEXT NOT NULL REFERENCES tenants(name),
		name    TEXT NOT NULL,
		scope   TEXT NOT NULL,
		role    TEXT NOT NULL,
		created INTEGER NOT NULL
	);
	CREATE INDEX tokens_tenant ON tokens(tenant, name);
	CREATE TABLE sessions (
		hash      BLOB PRIMARY KEY,
		tenant    TEXT NOT NULL REFERENCES tenants(name),
		user_name TEXT NOT NULL,
		created   INTEGER NOT NULL,
		expires   INTEGER NOT NULL
	);
	CREATE INDEX sessions_expires ON sessions(expires);`,
	// 2: cluster name and the record of scheduled backups.
	`CREATE TABLE cluster_meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);
	CREATE TABLE backup_schedule (
		id             INTEGER PRIMARY KEY CHECK (id = 1),
		last_slot      INTEGER NOT NULL DEFAULT 0,
		success_at     INTEGER NOT NULL DEFAULT 0,
		success_record INTEGER NOT NULL DEFAULT 0,
		raft_index     INTEGER NOT NULL DEFAULT 0,
		file           TEXT NOT NULL DEFAULT '',
		size           INTEGER NOT NULL DEFAULT 0,
		duration       INTEGER NOT NULL DEFAULT 0,
		successes      INTEGER NOT NULL DEFAULT 0,
		failure_at     INTEGER NOT NULL DEFAULT 0,
		failure_slot   INTEGER NOT NULL DEFAULT 0,
		failure_record INTEGER NOT NULL DEFAULT 0,
		error          TEXT NOT NULL DEFAULT '',
		failures       INTEGER NOT NULL DEFAULT 0,
		last_record    INTEGER NOT NULL DEFAULT 0
	);`,
	// 3: detection: rules, threat intel, correlation state, alerts and
	// incidents (storage/sqlstore/detection.go).
	`CREATE TABLE rules (
		tenant  TEXT NOT NULL REFERENCES tenants(name),
		id      TEXT NOT NULL,
		title   TEXT NOT NULL,
		status  TEXT NOT NULL,
		level   TEXT NOT NULL,
		kind    TEXT NOT NULL,
		enabled INTEGER NOT NULL,
		builtin INTEGER NOT NULL,
		source  BLOB,
		info    TEXT NOT NULL,
		updated INTEGER NOT NULL,
		PRIMARY KEY (tenant, id)
	);
	CREATE TABLE indicators (
		tenant TEXT NOT NULL REFERENCES tenants(name),
		id     TEXT NOT NULL,
		source TEXT NOT NULL,
		type   TEXT NOT NULL,
		value  TEXT NOT NULL,
		doc    TEXT NOT NULL,
		PRIMARY KEY (tenant, id)
	);
	CREATE INDEX indicators_source ON indicators(tenant, source);
	CREATE TABLE correlation_state (
		tenant TEXT PRIMARY KEY REFERENCES tenants(name),
		state  BLOB NOT NULL
	);
	CREATE TABLE incidents (
		tenant     TEXT NOT NULL REFERENCES tenants(name),
		id         TEXT NOT NULL,
		status     TEXT NOT NULL,
		severity   TEXT NOT NULL,
		key_type   TEXT NOT NULL,
		key_value  TEXT NOT NULL,
		created    INTEGER NOT NULL,
		updated    INTEGER NOT NULL,
		last_alert INTEGER NOT NULL,
		doc        TEXT NOT NULL,
		PRIMARY KEY (tenant, id)
	);
	CREATE INDEX incidents_key ON incidents(tenant, key_type, key_value, last_alert);
	CREATE INDEX incidents_updated ON incidents(tenant, updated, id);
	CREATE TABLE alerts (
		tenant   TEXT NOT NULL REFERENCES tenants(name),
		id       TEXT NOT NULL,
		time     INTEGER NOT NULL,
		rule_id  TEXT NOT NULL,
		severity TEXT NOT NULL,
		incident TEXT NOT NULL,
		doc      TEXT NOT NULL,
		PRIMARY KEY (tenant, id)
	);
	CREATE INDEX alerts_time ON alerts(tenant, time, id);
	CREATE INDEX alerts_incident ON alerts(tenant, incident, time);`,
	// 4: the correlation log: events that fed a tenant's correlator since
	// its state was saved (appliance/detect/correlate.go).
	`CREATE TABLE correlation_log (
		tenant TEXT NOT NULL REFERENCES tenants(name),
		seq    INTEGER NOT NULL,
		events BLOB NOT NULL,
		PRIMARY KEY (tenant, seq)
	);`,
	// 5: alert filters in SQL (alert_filter.go): the alert's entities as
	// columns, filled for the alerts stored before, and indexes in list
	// order (time, id) for the common filters, the incident's too (without
	// the id, the planner walked every alert by time rather than sort).
	// NOCASE, as the query language compares case-insensitively.
	`ALTER TABLE alerts ADD COLUMN ip TEXT NOT NULL DEFAULT '' COLLATE NOCASE;
	ALTER TABLE alerts ADD COLUMN user_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE;
	ALTER TABLE alerts ADD COLUMN host TEXT NOT NULL DEFAULT '' COLLATE NOCASE;
	UPDATE alerts SET
		ip = coalesce((SELECT json_extract(e.value, '$.value') FROM json_each(alerts.doc, '$.entities') AS e
			WHERE json_extract(e.value, '$.type') = 'ip'), ''),
		user_name = coalesce((SELECT json_extract(e.value, '$.value') FROM json_each(alerts.doc, '$.entities') AS e
			WHERE json_extract(e.value, '$.type') = 'user'), ''),
		host = coalesce((SELECT json_extract(e.value, '$.value') FROM json_each(alerts.doc, '$.entities') AS e
			WHERE json_extract(e.value, '$.type') = 'host'), '');
	CREATE INDEX alerts_severity ON alerts(tenant, severity COLLATE NOCASE, time, id);
	CREATE INDEX alerts_rule ON alerts(tenant, rule_id COLLATE NOCASE, time, id);
	CREATE INDEX alerts_ip ON alerts(tenant, ip, time, id);
	CREATE INDEX alerts_user ON alerts(tenant, user_name, time, id);
	CREATE INDEX alerts_host ON alerts(tenant, host, time, id);
	DROP INDEX alerts_incident;
	CREATE INDEX alerts_incident ON alerts(tenant, incident, time, id);`,
	// 6: the rule listing's filters in SQL (rule_list.go): indexes in list
	// order (id) holding every filtered column, so a filter reads no rule
	// row (each holds the YAML) but the page's; one per equality filter to
	// start from.
	`CREATE INDEX rules_list ON rules(tenant, id, status, level, enabled, title);
	CREATE INDEX rules_status ON rules(tenant, status, id, level, enabled, title);
	CREATE INDEX rules_level ON rules(tenant, level, id, status, enabled, title);
	CREATE INDEX rules_enabled ON rules(tenant, enabled, id, status, level, title);`,
	// 7: the analyst pages' counts (incident_list.go): the alert time index
	// holds the severity (the dashboard's histogram reads no alert row);
	// incidents by status and severity (open counts, list totals); the
	// incident list's severity and alert-count orders as indexes; alerts
	// per (tenant, hour, ATT&CK technique), kept by PutAlert and filled
	// here for the alerts stored before.
	`DROP INDEX alerts_time;
	CREATE INDEX alerts_time ON alerts(tenant, time, id, severity);
	CREATE INDEX incidents_status ON incidents(tenant, status, severity);
	CREATE INDEX incidents_severity ON incidents(tenant,
		(CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END), updated, id);
	CREATE INDEX incidents_alerts ON incidents(tenant, json_extract(doc, '$.alert_count'), updated, id);
	CREATE TABLE alert_techniques (
		tenant    TEXT NOT NULL REFERENCES tenants(name),
		hour      INTEGER NOT NULL,
		technique TEXT NOT NULL,
		alerts    INTEGER NOT NULL,
		PRIMARY KEY (tenant, hour, technique)
	) WITHOUT ROWID;
	-- the hour as floorHour (incident_list.go)
	INSERT INTO alert_techniques (tenant, hour, technique, alerts)
	SELECT alerts.tenant, alerts.time - (((alerts.time % 3600000000000) + 3600000000000) % 3600000000000), t.value, count(*)
	FROM alerts, json_each(alerts.doc, '$.attack') AS t WHERE t.type = 'text' GROUP BY 1, 2, 3;`,
	// 8: alerts per (tenant, hour, severity), kept by PutAlert and filled
	// here for the alerts stored before: the dashboard's histogram counts
	// whole hours from it (incident_list.go).
	`CREATE TABLE alert_severities (
		tenant   TEXT NOT NULL REFERENCES tenants(name),
		hour     INTEGER NOT NULL,
		severity TEXT NOT NULL,
		alerts   INTEGER NOT NULL,
		PRIMARY KEY (tenant, hour, severity)
	) WITHOUT ROWID;
	INSERT INTO alert_severities (tenant, hour, severity, alerts)
	SELECT tenant, time - (((time % 3600000000000) + 3600000000000) % 3600000000000), severity, count(*)
	FROM alerts GROUP BY 1, 2, 3;`,
	// 9: each correlation log row holds the tenant's event count up to and
	// including it, so an append reads the newest row rather than summing
	// the log (AppendCorrelationLog); filled here for the rows stored before.
	`ALTER TABLE correlation_log ADD COLUMN total INTEGER NOT NULL DEFAULT 0;
	` + fillCorrelationLogTotals,
}

// localTables hold node-local bookkeeping, not replicated state: snapshots
// and digests leave them out.
var localTables = map[string]bool{"raft_applied": true}

const localSchema = `CREATE TABLE IF NOT EXISTS raft_applied (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	idx INTEGER NOT NULL
)`
