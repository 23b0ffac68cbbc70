package sigma

import "strings"

// Field mapping: where a Sigma field name is found in our stored document.
// Each name resolves to candidate document keys, tried in order; the first
// present one is the field's value. docs/detection.md has the tables.

// windowsSystem are the System fields of a Windows event, by the names
// Sigma rules use, and where ingest stores them. Fields ingest does not
// lift are read from the original (evtx shape, then Winlogbeat shape).
var windowsSystem = map[string][]string{
	"EventID":         {"winlog.event_id"},
	"Channel":         {"winlog.channel"},
	"Computer":        {"host.name"},
	"Provider_Name":   {"event.provider"},
	"EventRecordID":   {"winlog.record_id"},
	"Keywords":        {"winlog.keywords"},
	"Security_UserID": {"winlog.user.identifier"},
	"Provider_Guid":   {"original.Event.System.Provider.Guid", "original.winlog.provider_guid"},
	"Level":           {"original.Event.System.Level"},
	"Task":            {"original.Event.System.Task", "original.winlog.task"},
	"Opcode":          {"original.Event.System.Opcode", "original.winlog.opcode"},
	"Version":         {"original.Event.System.Version", "original.winlog.version"},
	"ProcessID":       {"original.Event.System.Execution.ProcessID", "original.winlog.process.pid"},
	"ThreadID":        {"original.Event.System.Execution.ThreadID", "original.winlog.process.thread.id"},
}

// ecsNames maps the field names of Sigma's generic (non-Windows) rules to
// our ECS fields: Linux process creation, network connections, DNS, web.
var ecsNames = map[string][]string{
	"Image":               {"process.executable"},
	"CommandLine":         {"process.command_line"},
	"ParentImage":         {"process.parent.executable"},
	"ParentCommandLine":   {"process.parent.command_line"},
	"ProcessId":           {"process.pid"},
	"ParentProcessId":     {"process.parent.pid"},
	"CurrentDirectory":    {"process.working_directory"},
	"User":                {"user.name"},
	"LogonId":             {"user.id"},
	"DestinationIp":       {"destination.ip"},
	"DestinationPort":     {"destination.port"},
	"DestinationHostname": {"destination.domain", "url.domain"},
	"SourceIp":            {"source.ip"},
	"SourcePort":          {"source.port"},
	"src_ip":              {"source.ip"},
	"dst_ip":              {"destination.ip"},
	"src_port":            {"source.port"},
	"dst_port":            {"destination.port"},
	"QueryName":           {"dns.question.name"},
	"query":               {"dns.question.name"},
	"answer":              {"dns.answers.data"},
	"record_type":         {"dns.question.type"},
	"c-uri":               {"url.original"},
	"cs-uri":              {"url.original"},
	"c-useragent":         {"user_agent.original"},
	"cs-method":           {"http.request.method"},
	"cs-host":             {"url.domain"},
	"sc-status":           {"http.response.status_code"},
	"Hashes":              {"file.hash.sha256"},
	"TargetFilename":      {"file.path"},
	"Hostname":            {"host.name"},
	"Message":             {"message"},
}

// fieldKeys returns the document keys a Sigma field name is looked up in,
// for events of the given selector.
func fieldKeys(name string, sel *selector) []string {
	if strings.HasPrefix(name, "original.") {
		return []string{name}
	}
	var keys []string
	add := func(k ...string) {
		for _, x := range k {
			keys = appendOnce(keys, x)
		}
	}
	if sel.isWindows() {
		if sys, ok := windowsSystem[name]; ok {
			add(sys...)
		}
		names := append([]string{name}, sel.aliases[name]...)
		for _, n := range names {
			add("winlog.event_data."+n, "winlog.user_data."+n)
		}
	} else {
		for _, src := range sel.sources {
			switch src {
			case "zeek":
				if ds, ok := strings.CutPrefix(sel.dataset, "zeek."); ok && ds != "" {
					add("zeek." + ds + "." + name)
				}
			case "cowrie", "suricata", "osquery":
				add(src + "." + name)
			}
		}
		if src, ok := ecsNames[name]; ok {
			add(src...)
		}
		if sel.hasSource("osquery") {
			add("osquery.columns." + name)
		}
	}
	// A name that is already one of our fields (source.ip, user.name), or
	// (not for Windows, whose original is the Event tree) a key of the
	// original JSON object: the json source keeps it whole.
	add(name)
	if !sel.isWindows() {
		add("original." + name)
	}
	return keys
}

func (s *selector) isWindows() bool {
	return s.hasSource("windows") || s.hasSource("sysmon")
}

func (s *selector) hasSource(src string) bool {
	for _, x := range s.sources {
		if x == src {
			return true
		}
	}
	return false
}
