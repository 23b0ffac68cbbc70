package ingest

import "time"

// sources maps each ingest source name of INTERFACE.md that this build
// parses to its parser.
func sources() map[string]Parser {
	return map[string]Parser{
		"json":   func(line []byte, _ time.Time) (Parsed, error) { return ParseJSON(line) },
		"syslog": ParseSyslog,
		"auth":   ParseAuth,
		"cef":    ParseCEF,

		"windows": ParseWindows,
		"sysmon":  ParseSysmon,

		"cowrie":   ParseCowrie,
		"suricata": ParseSuricata,
		"zeek":     ParseZeek,
		"osquery":  ParseOsquery,
	}
}
