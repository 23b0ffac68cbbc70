package sigma

import (
	"fmt"
	"strings"
)

// A selector is one way a logsource finds events: the ingest sources that
// carry them and, for Windows, the channels and event IDs (plus a few
// EventData conditions), with the field aliases that apply there. A
// logsource may have several (process_creation: Sysmon 1 or Security 4688).
type selector struct {
	sources  []string            // our ingest sources; empty: any
	channels []string            // Windows channels (case-insensitive); empty: any
	eventIDs []int               // Windows event IDs; empty: any
	dataset  string              // event.dataset the event must have (zeek.dns, suricata.alert)
	where    map[string]string   // EventData conditions (registry_add: EventType CreateKey)
	aliases  map[string][]string // Sigma field → other EventData names to try (4688: Image ← NewProcessName)
}

var windowsSources = []string{"windows", "sysmon"}

const sysmonChannel = "Microsoft-Windows-Sysmon/Operational"

// sysmonCategories are the Windows categories Sysmon logs, by event ID
// (modelled on SigmaHQ's tests/thor.yml; written for our event shape).
var sysmonCategories = map[string][]int{
	"process_creation":         {1},
	"file_change":              {2},
	"network_connection":       {3},
	"sysmon_status":            {4, 16},
	"process_termination":      {5},
	"driver_load":              {6},
	"image_load":               {7},
	"create_remote_thread":     {8},
	"raw_access_thread":        {9},
	"process_access":           {10},
	"file_event":               {11},
	"registry_event":           {12, 13, 14},
	"registry_add":             {12},
	"registry_delete":          {12},
	"registry_set":             {13},
	"registry_rename":          {14},
	"create_stream_hash":       {15},
	"pipe_created":             {17, 18},
	"wmi_event":                {19, 20, 21},
	"dns_query":                {22},
	"file_delete":              {23},
	"clipboard_change":         {24},
	"process_tampering":        {25},
	"file_delete_detected":     {26},
	"file_block_executable":    {27},
	"file_block_shredding":     {28},
	"file_executable_detected": {29},
	"sysmon_error":             {255},
}

// sysmonWhere narrows registry categories that share event 12.
var sysmonWhere = map[string][]map[string]string{
	"registry_add":    {{"EventType": "CreateKey"}},
	"registry_delete": {{"EventType": "DeleteKey"}, {"EventType": "DeleteValue"}},
}

var powershellChannels = []string{"Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational"}

// windowsEventCategories are categories logged by Windows itself.
var windowsEventCategories = map[string]selector{
	"ps_module":                 {channels: powershellChannels, eventIDs: []int{4103}},
	"ps_script":                 {channels: powershellChannels, eventIDs: []int{4104}},
	"ps_classic_start":          {channels: []string{"Windows PowerShell"}, eventIDs: []int{400}},
	"ps_classic_provider_start": {channels: []string{"Windows PowerShell"}, eventIDs: []int{600}},
	"ps_classic_script":         {channels: []string{"Windows PowerShell"}, eventIDs: []int{800}},
}

// windowsServices maps logsource.service to channels.
var windowsServices = map[string][]string{
	"security":                             {"Security"},
	"system":                               {"System"},
	"application":                          {"Application"},
	"sysmon":                               {sysmonChannel},
	"powershell":                           powershellChannels,
	"powershell-classic":                   {"Windows PowerShell"},
	"ntlm":                                 {"Microsoft-Windows-NTLM/Operational"},
	"taskscheduler":                        {"Microsoft-Windows-TaskScheduler/Operational"},
	"wmi":                                  {"Microsoft-Windows-WMI-Activity/Operational"},
	"dhcp":                                 {"Microsoft-Windows-DHCP-Server/Operational"},
	"printservice-admin":                   {"Microsoft-Windows-PrintService/Admin"},
	"printservice-operational":             {"Microsoft-Windows-PrintService/Operational"},
	"smbclient-security":                   {"Microsoft-Windows-SmbClient/Security"},
	"smbclient-connectivity":               {"Microsoft-Windows-SmbClient/Connectivity"},
	"smbserver-connectivity":               {"Microsoft-Windows-SMBServer/Connectivity"},
	"terminalservices-localsessionmanager": {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"},
	"codeintegrity-operational":            {"Microsoft-Windows-CodeIntegrity/Operational"},
	"applocker": {"Microsoft-Windows-AppLocker/MSI and Script", "Microsoft-Windows-AppLocker/EXE and DLL",
		"Microsoft-Windows-AppLocker/Packaged app-Deployment", "Microsoft-Windows-AppLocker/Packaged app-Execution"},
	"msexchange-management": {"MSExchange Management"},
	"windefend":             {"Microsoft-Windows-Windows Defender/Operational"},
	"firewall-as":           {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"},
	"bits-client":           {"Microsoft-Windows-Bits-Client/Operational"},
	"security-mitigations":  {"Microsoft-Windows-Security-Mitigations/Kernel Mode", "Microsoft-Windows-Security-Mitigations/User Mode"},
	"diagnosis-scripted":    {"Microsoft-Windows-Diagnosis-Scripted/Operational"},
	"shell-core":            {"Microsoft-Windows-Shell-Core/Operational"},
	"openssh":               {"OpenSSH/Operational"},
	"ldap":                  {"Microsoft-Windows-LDAP-Client/Debug"},
	"bitlocker":             {"Microsoft-Windows-BitLocker/BitLocker Management"},
	"vhdmp":                 {"Microsoft-Windows-VHDMP/Operational"},
	"appxdeployment-server": {"Microsoft-Windows-AppXDeploymentServer/Operational"},
	"lsa-server":            {"Microsoft-Windows-LSA/Operational"},
	"appxpackaging-om":      {"Microsoft-Windows-AppxPackaging/Operational"},
	"dns-client":            {"Microsoft-Windows-DNS Client Events/Operational"},
	"appmodel-runtime":      {"Microsoft-Windows-AppModel-Runtime/Admin"},
	"capi2":                 {"Microsoft-Windows-CAPI2/Operational"},
	"certificateservicesclient-lifecycle-system": {"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"},
	"kernel-shimengine":                          {"Microsoft-Windows-Kernel-ShimEngine/Operational", "Microsoft-Windows-Kernel-ShimEngine/Diagnostic"},
	"application-experience": {"Microsoft-Windows-Application-Experience/Program-Telemetry",
		"Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant"},
	"ntfs":                        {"Microsoft-Windows-Ntfs/Operational"},
	"hyper-v-worker":              {"Microsoft-Windows-Hyper-V-Worker"},
	"kernel-event-tracing":        {"Microsoft-Windows-Kernel-EventTracing"},
	"sense":                       {"Microsoft-Windows-SENSE/Operational"},
	"servicebus-client":           {"Microsoft-ServiceBus-Client/Admin", "Microsoft-ServiceBus-Client/Operational"},
	"microsoft-servicebus-client": {"Microsoft-ServiceBus-Client/Admin", "Microsoft-ServiceBus-Client/Operational"},
	"iis-configuration":           {"Microsoft-IIS-Configuration/Operational"},
	"dns-server":                  {"DNS Server"},
	"dns-server-analytic":         {"Microsoft-Windows-DNSServer/Analytical"},
	"driver-framework":            {"Microsoft-Windows-DriverFrameworks-UserMode/Operational"},
}

// defenderDetectionIDs are the Defender events that name a threat and a
// path: the antivirus category.
var defenderDetectionIDs = []int{1006, 1007, 1008, 1009, 1010, 1011, 1012, 1017, 1018, 1019, 1115, 1116}

// ourSources are the ingest sources of docs/ingest.md. A rule may name one
// as its product (our own rules do: product: cowrie).
var ourSources = map[string]bool{
	"windows": true, "sysmon": true, "auth": true, "cowrie": true, "suricata": true, "zeek": true,
	"osquery": true, "cef": true, "syslog": true, "json": true,
}

// linuxServices maps logsource.service of product linux to our sources.
var linuxServices = map[string][]string{
	"auth": {"auth", "syslog"}, "sshd": {"auth", "syslog"}, "sudo": {"auth", "syslog"},
	"syslog": {"syslog", "auth"}, "cron": {"syslog"}, "su": {"auth", "syslog"},
}

// selectors resolves a rule's logsource to the events it applies to.
func selectors(ls Logsource) ([]selector, error) {
	product, cat, svc := ls.Product, ls.Category, ls.Service
	switch {
	case product == "windows" || (product == "" && cat == "antivirus"):
		return windowsSelectors(cat, svc)
	case product == "sysmon":
		return windowsSelectors(cat, "sysmon")
	case ourSources[product]:
		sel := selector{sources: []string{product}}
		if svc != "" {
			switch product {
			case "zeek", "suricata":
				sel.dataset = product + "." + svc
			case "windows":
			default:
				return nil, fmt.Errorf("no mapping for service %q of product %q", svc, product)
			}
		}
		return []selector{sel}, nil
	case product == "linux":
		switch {
		case cat == "process_creation":
			return []selector{{sources: []string{"osquery", "json"}}}, nil
		case cat == "network_connection":
			return []selector{{sources: []string{"osquery", "json"}}}, nil
		case cat == "" && svc == "":
			return []selector{{sources: []string{"auth", "syslog", "osquery", "json"}}}, nil
		case cat == "" && linuxServices[svc] != nil:
			return []selector{{sources: linuxServices[svc]}}, nil
		}
	case product == "zeek":
		return []selector{{sources: []string{"zeek"}, dataset: "zeek." + svc}}, nil
	case product == "":
		switch cat {
		case "dns":
			return []selector{{sources: []string{"zeek"}, dataset: "zeek.dns"}, {sources: []string{"suricata"}, dataset: "suricata.dns"}}, nil
		case "firewall":
			return []selector{{sources: []string{"zeek"}, dataset: "zeek.conn"}, {sources: []string{"suricata"}, dataset: "suricata.flow"}, {sources: []string{"cef"}}}, nil
		case "proxy", "webserver":
			return []selector{{sources: []string{"zeek"}, dataset: "zeek.http"}, {sources: []string{"suricata"}, dataset: "suricata.http"}}, nil
		}
	}
	return nil, fmt.Errorf("no logsource mapping for %s", describeLogsource(ls))
}

func describeLogsource(ls Logsource) string {
	var parts []string
	for _, kv := range [][2]string{{"product", ls.Product}, {"category", ls.Category}, {"service", ls.Service}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+" "+kv[1])
		}
	}
	if len(parts) == 0 {
		return "an empty logsource"
	}
	return strings.Join(parts, ", ")
}

func windowsSelectors(cat, svc string) ([]selector, error) {
	if cat == "" {
		if svc == "" {
			return []selector{{sources: windowsSources}}, nil
		}
		ch, ok := windowsServices[svc]
		if !ok {
			return nil, fmt.Errorf("no logsource mapping for Windows service %q", svc)
		}
		return []selector{{sources: windowsSources, channels: ch}}, nil
	}
	if cat == "antivirus" {
		return []selector{{sources: windowsSources, channels: windowsServices["windefend"], eventIDs: defenderDetectionIDs,
			aliases: map[string][]string{"Signature": {"Threat Name", "ThreatName"}, "Filename": {"Path"}}}}, nil
	}
	if ids, ok := sysmonCategories[cat]; ok {
		var sels []selector
		if wheres, ok := sysmonWhere[cat]; ok {
			for _, w := range wheres {
				sels = append(sels, selector{sources: windowsSources, channels: []string{sysmonChannel}, eventIDs: ids, where: w})
			}
		} else {
			sels = append(sels, selector{sources: windowsSources, channels: []string{sysmonChannel}, eventIDs: ids})
		}
		if cat == "process_creation" {
			sels = append(sels, selector{sources: []string{"windows"}, channels: []string{"Security"}, eventIDs: []int{4688},
				aliases: map[string][]string{"Image": {"NewProcessName"}, "ParentImage": {"ParentProcessName"}}})
		}
		return sels, nil
	}
	if sel, ok := windowsEventCategories[cat]; ok {
		sel.sources = windowsSources
		return []selector{sel}, nil
	}
	return nil, fmt.Errorf("no logsource mapping for Windows category %q", cat)
}
