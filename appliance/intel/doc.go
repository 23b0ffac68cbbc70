// Package intel reads threat intelligence and matches it against events.
//
// It owns the import formats (STIX 2.1 bundles with their pattern language,
// MISP event JSON in both export shapes, CSV and plain lists), the
// normalised Indicator they all become, and the Matcher that finds
// indicators in an event's fields: IP addresses and CIDR ranges, domains
// (a listed domain also matches its subdomains), URLs, file hashes and file
// names. Indicators are valid between ValidFrom and ValidUntil, judged
// against the event's own time so that matching is deterministic.
//
// A malformed indicator is reported with where it was and why, and the
// rest of the input is imported; an indicator of a kind the appliance does
// not observe (an X.509 serial, a registry key) is counted as skipped.
//
// It imports only the standard library and the appliance error codes; it
// knows nothing of storage or the state machine.
package intel
