package ingest

// What well-known Windows events are: event.action and event.category by
// provider and event ID.

import (
	"strconv"
	"strings"
)

// winKind is what a well-known event is: ECS event.action and
// event.category, strings (boxed once, in the tables) or nil.
type winKind struct{ action, category any }

func (k winKind) actionText() string {
	s, _ := k.action.(string)
	return s
}

func (k winKind) categoryText() string {
	s, _ := k.category.(string)
	return s
}

// winCodes are the boxed event.code values of the events in the tables.
var winCodes = func() map[uint32]any {
	m := map[uint32]any{}
	for _, t := range []map[uint32]winKind{winSecurityActions, winSysmonActions, winServiceActions,
		winPowerShellActions, winDefenderActions, winTaskSchedulerActions} {
		for id := range t {
			m[id] = strconv.FormatUint(uint64(id), 10)
		}
	}
	return m
}()

// winSecurityActions are the Security log's events (Microsoft-Windows-
// Security-Auditing, and Microsoft-Windows-Eventlog's log events).
var winSecurityActions = map[uint32]winKind{
	104:  {"log-cleared", "configuration"},
	1100: {"event-logging-shut-down", "configuration"},
	1102: {"audit-log-cleared", "configuration"},
	1104: {"security-log-full", "configuration"},
	4608: {"windows-started", "host"},
	4614: {"notification-package-loaded", "configuration"},
	4616: {"system-time-changed", "configuration"},
	4622: {"security-package-loaded", "configuration"},
	4624: {"logged-in", "authentication"},
	4625: {"logon-failed", "authentication"},
	4634: {"logged-out", "authentication"},
	4647: {"logged-out", "authentication"},
	4648: {"logged-in-explicit", "authentication"},
	4656: {"object-handle-requested", nil},
	4657: {"registry-value-modified", "registry"},
	4661: {"object-handle-requested", nil},
	4662: {"directory-object-accessed", nil},
	4663: {"object-accessed", nil},
	4672: {"logged-in-special", "iam"},
	4673: {"privileged-service-called", "iam"},
	4674: {"privileged-object-operation", "iam"},
	4688: {"process-created", "process"},
	4689: {"process-terminated", "process"},
	4697: {"service-installed", "configuration"},
	4698: {"scheduled-task-created", "configuration"},
	4699: {"scheduled-task-deleted", "configuration"},
	4700: {"scheduled-task-enabled", "configuration"},
	4701: {"scheduled-task-disabled", "configuration"},
	4702: {"scheduled-task-updated", "configuration"},
	4719: {"audit-policy-changed", "configuration"},
	4720: {"user-account-created", "iam"},
	4722: {"user-account-enabled", "iam"},
	4723: {"password-change-attempted", "iam"},
	4724: {"password-reset-attempted", "iam"},
	4725: {"user-account-disabled", "iam"},
	4726: {"user-account-deleted", "iam"},
	4727: {"group-created", "iam"},
	4728: {"added-member-to-group", "iam"},
	4729: {"removed-member-from-group", "iam"},
	4730: {"group-deleted", "iam"},
	4731: {"group-created", "iam"},
	4732: {"added-member-to-group", "iam"},
	4733: {"removed-member-from-group", "iam"},
	4734: {"group-deleted", "iam"},
	4735: {"group-changed", "iam"},
	4737: {"group-changed", "iam"},
	4738: {"user-account-changed", "iam"},
	4740: {"account-locked", "iam"},
	4741: {"computer-account-created", "iam"},
	4742: {"computer-account-changed", "iam"},
	4743: {"computer-account-deleted", "iam"},
	4754: {"group-created", "iam"},
	4755: {"group-changed", "iam"},
	4756: {"added-member-to-group", "iam"},
	4757: {"removed-member-from-group", "iam"},
	4758: {"group-deleted", "iam"},
	4765: {"sid-history-added", "iam"},
	4767: {"account-unlocked", "iam"},
	4768: {"kerberos-tgt-requested", "authentication"},
	4769: {"kerberos-service-ticket-requested", "authentication"},
	4770: {"kerberos-service-ticket-renewed", "authentication"},
	4771: {"kerberos-preauth-failed", "authentication"},
	4776: {"credential-validated", "authentication"},
	4778: {"session-reconnected", "session"},
	4779: {"session-disconnected", "session"},
	4781: {"account-renamed", "iam"},
	4798: {"group-membership-enumerated", "iam"},
	4799: {"group-membership-enumerated", "iam"},
	4964: {"special-groups-logged-in", "authentication"},
	5136: {"directory-object-modified", "configuration"},
	5137: {"directory-object-created", "configuration"},
	5141: {"directory-object-deleted", "configuration"},
	5140: {"network-share-accessed", "network"},
	5145: {"network-share-object-checked", "network"},
	5156: {"network-connection-allowed", "network"},
	5157: {"network-connection-blocked", "network"},
}

var winSysmonActions = map[uint32]winKind{
	1:   {"process-created", "process"},
	2:   {"file-creation-time-changed", "file"},
	3:   {"network-connection", "network"},
	4:   {"sysmon-state-changed", "configuration"},
	5:   {"process-terminated", "process"},
	6:   {"driver-loaded", "driver"},
	7:   {"image-loaded", "library"},
	8:   {"create-remote-thread", "process"},
	9:   {"raw-access-read", "file"},
	10:  {"process-access", "process"},
	11:  {"file-created", "file"},
	12:  {"registry-object-created-or-deleted", "registry"},
	13:  {"registry-value-set", "registry"},
	14:  {"registry-object-renamed", "registry"},
	15:  {"file-stream-created", "file"},
	16:  {"sysmon-config-changed", "configuration"},
	17:  {"pipe-created", "file"},
	18:  {"pipe-connected", "file"},
	19:  {"wmi-filter-registered", "process"},
	20:  {"wmi-consumer-registered", "process"},
	21:  {"wmi-consumer-bound", "process"},
	22:  {"dns-query", "network"},
	23:  {"file-deleted", "file"},
	24:  {"clipboard-changed", "process"},
	25:  {"process-tampering", "process"},
	26:  {"file-delete-detected", "file"},
	27:  {"file-block-executable", "file"},
	28:  {"file-block-shredding", "file"},
	29:  {"file-executable-detected", "file"},
	255: {"sysmon-error", nil},
}

var winServiceActions = map[uint32]winKind{ // Service Control Manager, System log
	7000: {"service-start-failed", "configuration"},
	7009: {"service-start-timed-out", "configuration"},
	7034: {"service-crashed", "configuration"},
	7036: {"service-state-changed", "configuration"},
	7040: {"service-start-type-changed", "configuration"},
	7045: {"service-installed", "configuration"},
}

var winPowerShellActions = map[uint32]winKind{
	400:  {"powershell-engine-started", "process"},
	403:  {"powershell-engine-stopped", "process"},
	600:  {"powershell-provider-started", "process"},
	800:  {"powershell-pipeline-executed", "process"},
	4103: {"powershell-module-logged", "process"},
	4104: {"powershell-script-block", "process"},
	4105: {"powershell-script-block-started", "process"},
	4106: {"powershell-script-block-completed", "process"},
}

var winDefenderActions = map[uint32]winKind{
	1006: {"malware-detected", "malware"},
	1116: {"malware-detected", "malware"},
	1117: {"malware-action-taken", "malware"},
	5001: {"realtime-protection-disabled", "configuration"},
	5007: {"configuration-changed", "configuration"},
}

var winTaskSchedulerActions = map[uint32]winKind{
	106: {"scheduled-task-registered", "configuration"},
	141: {"scheduled-task-deleted", "configuration"},
	200: {"scheduled-task-action-started", "process"},
}

// Providers with tables, or otherwise known.
const (
	winOtherProvider = iota
	winSysmon
	winSecurityAuditing
	winEventlog
	winServiceControlManager
	winPowerShell
	winDefender
	winTaskScheduler
)

var winProviders = map[string]int{
	winSysmonProvider: winSysmon, "Microsoft-Windows-Security-Auditing": winSecurityAuditing,
	"Microsoft-Windows-Eventlog": winEventlog, "Service Control Manager": winServiceControlManager,
	"Microsoft-Windows-PowerShell": winPowerShell, "PowerShell": winPowerShell,
	"Microsoft-Windows-Windows Defender": winDefender, "Microsoft-Windows-TaskScheduler": winTaskScheduler,
}

// winProviderOf classifies a provider name, in any case.
func winProviderOf(p string) int {
	if c, ok := winProviders[p]; ok {
		return c
	}
	for name, c := range winProviders {
		if len(name) == len(p) && strings.EqualFold(name, p) {
			return c
		}
	}
	return winOtherProvider
}

// kindOf looks the event up in its provider's table (or, without a
// provider, its channel's).
func (w *winEvent) kindOf() winKind {
	var table map[uint32]winKind
	switch {
	case w.sysmon:
		table = winSysmonActions
	case w.class == winSecurityAuditing, w.class == winEventlog:
		table = winSecurityActions
	case w.class == winServiceControlManager:
		table = winServiceActions
	case w.class == winPowerShell:
		table = winPowerShellActions
	case w.class == winDefender:
		table = winDefenderActions
	case w.class == winTaskScheduler:
		table = winTaskSchedulerActions
	case w.provider == "" && strings.EqualFold(w.channel, "Security"):
		table = winSecurityActions
	case w.provider == "" && strings.EqualFold(w.channel, "Microsoft-Windows-PowerShell/Operational"):
		table = winPowerShellActions
	}
	return table[w.eventID]
}

// winLogonEvents name the account in Target* (or Account*) fields: the
// account that logged on, failed to, or was authenticated. Other events name
// the acting account in Subject* and the one acted on in Target*.
var winLogonEvents = map[uint32]bool{
	4624: true, 4625: true, 4634: true, 4647: true, 4648: true, 4740: true, 4767: true,
	4768: true, 4769: true, 4770: true, 4771: true, 4776: true, 4778: true, 4779: true,
}

// winGroupEvents name a group in Target*.
var winGroupEvents = map[uint32]bool{
	4727: true, 4728: true, 4729: true, 4730: true, 4731: true, 4732: true, 4733: true, 4734: true,
	4735: true, 4737: true, 4754: true, 4755: true, 4756: true, 4757: true, 4758: true, 4799: true,
}

// winLogonTypes are the names Winlogbeat gives winlog.logon.type.
var winLogonTypes = [...]string{
	2: "Interactive", 3: "Network", 4: "Batch", 5: "Service", 7: "Unlock", 8: "NetworkCleartext",
	9: "NewCredentials", 10: "RemoteInteractive", 11: "CachedInteractive", 12: "CachedRemoteInteractive", 13: "CachedUnlock",
}
