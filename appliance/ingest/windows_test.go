package ingest_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/internal/shareddata"
)

// winSamplePath is the real Windows event sample of ../shared/testdata:
// 13,307 events converted from EVTX files (Velocidex shape).
const winSamplePath = "../../../shared/testdata/sigma/events_developer.ndjson.gz"

var winReceived = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// winSampleLines reads the sample, or skips the test when the shared test
// data is absent.
func winSampleLines(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open(winSamplePath)
	if errors.Is(err, fs.ErrNotExist) {
		shareddata.Root(t) // skips when the whole shared folder is absent
		t.Fatalf("real Windows sample %s absent from the shared folder", winSamplePath)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(gz)
	sc.Buffer(nil, 1<<20)
	var lines [][]byte
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// winCheckParsed checks what every accepted line must satisfy.
func winCheckParsed(t *testing.T, what string, line []byte, p ingest.Parsed) {
	t.Helper()
	if !bytes.Equal(p.Original, bytes.TrimSpace(line)) {
		t.Fatalf("%s: Original is not the trimmed line", what)
	}
	for k, v := range p.Fields {
		switch v := v.(type) {
		case string, float64, bool:
		case []any:
			for _, e := range v {
				switch e.(type) {
				case string, float64, bool:
				default:
					t.Fatalf("%s: field %q holds a %T in its list", what, k, e)
				}
			}
		default:
			t.Fatalf("%s: field %q holds a %T", what, k, v)
		}
	}
	for _, k := range []string{"event.code", "winlog.event_id", "message"} {
		if _, ok := p.Fields[k]; !ok {
			t.Fatalf("%s: no %s in %v", what, k, p.Fields)
		}
	}
	if o, ok := p.Fields["event.outcome"]; ok && o != "success" && o != "failure" {
		t.Fatalf("%s: event.outcome %q", what, o)
	}
}

// winSubset fails unless every want field is in got with that value (nil:
// absent).
func winSubset(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if w == nil {
			if ok {
				t.Errorf("%s: %s = %#v, want it absent", what, k, g)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %s = %#v, want %#v", what, k, g, w)
		}
	}
}

// TestParseWindowsRealSample parses every event of the real sample with the
// windows parser, and with the sysmon parser, which takes exactly the
// Sysmon ones.
func TestParseWindowsRealSample(t *testing.T) {
	lines := winSampleLines(t)
	if len(lines) != 13307 {
		t.Fatalf("sample has %d lines, want 13307", len(lines))
	}
	var failed, sysmon int
	actions := map[string]int{}
	for i, line := range lines {
		p, err := ingest.ParseWindows(line, winReceived)
		if err != nil {
			failed++
			t.Errorf("line %d: %v", i+1, err)
			continue
		}
		what := "line " + itoa(i+1)
		winCheckParsed(t, what, line, p)
		var raw struct {
			Event struct {
				System struct {
					EventID     int
					Provider    struct{ Name string }
					TimeCreated struct{ SystemTime string }
					Computer    string
				}
				EventData map[string]any
			}
		}
		if err := json.Unmarshal(line, &raw); err != nil {
			t.Fatal(err)
		}
		sys := raw.Event.System
		if p.Fields["event.code"] != itoa(sys.EventID) || p.Fields["host.name"] != sys.Computer || p.Fields["event.provider"] != sys.Provider.Name {
			t.Fatalf("%s: event.code %v host.name %v event.provider %v, want %d %s %s", what,
				p.Fields["event.code"], p.Fields["host.name"], p.Fields["event.provider"], sys.EventID, sys.Computer, sys.Provider.Name)
		}
		ts, err := time.Parse(time.RFC3339Nano, sys.TimeCreated.SystemTime)
		if err != nil || !p.Timestamp.Equal(ts) {
			t.Fatalf("%s: timestamp %v, want %s", what, p.Timestamp, sys.TimeCreated.SystemTime)
		}
		for name, v := range raw.Event.EventData {
			if _, ok := p.Fields["winlog.event_data."+name]; !ok && v != nil {
				t.Fatalf("%s: EventData %s not kept", what, name)
			}
		}
		if a, ok := p.Fields["event.action"].(string); ok {
			actions[a]++
		}

		_, serr := ingest.ParseSysmon(line, winReceived)
		isSysmon := sys.Provider.Name == "Microsoft-Windows-Sysmon"
		if isSysmon {
			sysmon++
			if serr != nil {
				t.Fatalf("%s: sysmon refused a Sysmon event: %v", what, serr)
			}
		} else if serr == nil || !strings.Contains(serr.Error(), "not a Sysmon event") {
			t.Fatalf("%s: sysmon took a %s event (error %v)", what, sys.Provider.Name, serr)
		}
	}
	t.Logf("%d lines: %d parsed, %d failed; %d Sysmon events; %d distinct event.action values",
		len(lines), len(lines)-failed, failed, sysmon, len(actions))
	if failed != 0 {
		t.Fatalf("%d lines failed", failed)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestParseWindowsRealEvents checks chosen real events field by field.
func TestParseWindowsRealEvents(t *testing.T) {
	lines := winSampleLines(t)
	for _, tc := range []struct {
		name      string
		line      int // 1-based, in the sample
		timestamp string
		want      map[string]any
	}{
		{"4625 failed logon", 12035, "2023-09-25T20:39:50.8223974Z", map[string]any{
			"event.code": "4625", "event.action": "logon-failed", "event.outcome": "failure", "event.category": "authentication",
			"event.provider": "Microsoft-Windows-Security-Auditing", "host.name": "WIN", "winlog.channel": "Security",
			"winlog.event_id": 4625.0, "winlog.record_id": 11286.0, "user.name": "Admin", "user.domain": "WIN",
			"user.id":   nil,                     // S-1-0-0, the null SID
			"source.ip": nil, "source.port": nil, // "-"
			"winlog.logon.type": "Interactive", "process.pid": 6924.0,
			"process.executable":                          `C:\Users\Admin\Desktop\AccountRestore.bin\AccountRestore.exe`,
			"winlog.event_data.Status":                    "0xc000006d",
			"winlog.event_data.SubStatus":                 "0xc000006a",
			"winlog.event_data.LogonType":                 2.0,
			"winlog.event_data.TargetUserSid":             "S-1-0-0",
			"winlog.event_data.LogonProcessName":          "Advapi  ",
			"winlog.event_data.IpAddress":                 "-",
			"winlog.event_data.ProcessName":               `C:\Users\Admin\Desktop\AccountRestore.bin\AccountRestore.exe`,
			"winlog.event_data.SubjectUserName":           "Admin",
			"winlog.keywords":                             "0x8010000000000000",
			"winlog.activity_id":                          nil, // in original only
			"message":                                     "4625 logon-failed: Admin",
			"winlog.event_data.TransmittedServices":       "-",
			"winlog.event_data.FailureReason":             "%%2313",
			"winlog.event_data.AuthenticationPackageName": "Negotiate",
		}},
		{"4625 failed logon from the network, unknown user", 8053, "2021-10-23T21:50:11.6665197Z", map[string]any{
			"event.action": "logon-failed", "event.outcome": "failure", "source.ip": "10.23.23.9",
			"source.port":       nil, // "0"
			"user.name":         nil, // TargetUserName "-": not the machine account of Subject
			"winlog.logon.type": "RemoteInteractive", "message": "4625 logon-failed: from 10.23.23.9",
		}},
		{"4624 network logon", 3419, "2020-09-23T16:50:16.6977366Z", map[string]any{
			"event.action": "logged-in", "event.outcome": "success", "user.name": "Administrator", "user.domain": "3B",
			"user.id": "S-1-5-21-308926384-506822093-3341789130-500", "source.ip": "172.16.66.37", "source.port": 50106.0,
			"winlog.logon.type": "Network", "winlog.logon.id": "0x1136e95", "process.pid": nil, "process.executable": nil,
			"message": "4624 logged-in: Administrator from 172.16.66.37:50106",
		}},
		{"4688 process creation", 8024, "2021-06-10T21:21:26.3907508Z", map[string]any{
			"event.action": "process-created", "event.category": "process", "event.outcome": "success",
			"process.executable": `C:\Windows\System32\cmd.exe`, "process.name": "cmd.exe", "process.pid": 976.0,
			"process.command_line":      `cmd.exe /C whoami > C:\Windows\Temp\bouWFQYO.tmp 2>&1`,
			"process.parent.executable": `C:\Windows\System32\svchost.exe`, "process.parent.name": "svchost.exe",
			"process.parent.pid": 1044.0, "user.name": "FS01$", "user.domain": "OFFSEC", "user.id": "S-1-5-18",
			"user.target.name": nil, "user.target.id": nil, "host.name": "fs01.offsec.lan",
			"winlog.event_data.NewProcessId": "0x3d0", "winlog.event_data.MandatoryLabel": "S-1-16-16384",
			"message": `4688 process-created: FS01$ cmd.exe /C whoami > C:\Windows\Temp\bouWFQYO.tmp 2>&1`,
		}},
		{"Sysmon 1 process creation", 3, "2019-04-27T15:57:53.3688632Z", map[string]any{
			"event.code": "1", "event.action": "process-created", "event.outcome": nil,
			"winlog.channel": "Microsoft-Windows-Sysmon/Operational", "host.name": "IEWIN7",
			"process.executable": `C:\Users\IEUser\Downloads\Flash_update.exe`, "process.name": "Flash_update.exe",
			"process.pid": 2680.0, "process.command_line": `"C:\Users\IEUser\Downloads\Flash_update.exe" `,
			"process.parent.executable": `C:\Windows\explorer.exe`, "process.parent.pid": 2772.0,
			"process.parent.command_line": `C:\Windows\Explorer.EXE`, "process.working_directory": `C:\Users\IEUser\Downloads\`,
			"process.entity_id": "{365ABB72-7C01-5CC4-0000-00102B3E0C00}", "process.parent.entity_id": "{365ABB72-7ACC-5CC4-0000-0010B2470300}",
			"process.hash.sha1":   "b4e581f173f782a2f1da5d29c95946ee500eb2d0",
			"process.hash.md5":    "42893adbc36605ec79b5bd610759947e",
			"process.hash.sha256": "1a061c74619de6af8c02cba0fa00754bdd9e3515c0e08cad6350c7adfc8cdd5b",
			"process.pe.imphash":  "40bec1a4a3bcb7d3089b5e1532386613",
			"user.name":           "IEUser", "user.domain": "IEWIN7",
			"user.id":                             nil, // System.Security.UserID is Sysmon's own account
			"winlog.user.identifier":              "S-1-5-18",
			"winlog.event_data.Hashes":            "SHA1=B4E581F173F782A2F1DA5D29C95946EE500EB2D0,MD5=42893ADBC36605EC79B5BD610759947E,SHA256=1A061C74619DE6AF8C02CBA0FA00754BDD9E3515C0E08CAD6350C7ADFC8CDD5B,IMPHASH=40BEC1A4A3BCB7D3089B5E1532386613",
			"winlog.event_data.TerminalSessionId": 1.0,
			"winlog.event_data.RuleName":          "technique_id=T1036,technique_name=Masquerading",
			"winlog.event_data.IntegrityLevel":    "High",
			"message":                             `1 process-created: IEWIN7\IEUser "C:\Users\IEUser\Downloads\Flash_update.exe"`,
		}},
		{"Sysmon 3 network connection", 284, "2019-07-19T14:50:25.3760308Z", map[string]any{
			"event.code": "3", "event.action": "network-connection", "event.category": "network",
			"source.ip": "10.0.2.15", "source.port": 49727.0, "source.domain": "MSEDGEWIN10.home",
			"destination.ip": "172.217.17.132", "destination.port": 80.0, "destination.domain": "ams15s30-in-f4.1e100.net",
			"network.transport": "tcp", "network.direction": "egress", "user.name": "IEUser", "user.domain": "MSEDGEWIN10",
			"process.executable": `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "process.pid": 3912.0,
			"winlog.event_data.Initiated": true, "winlog.event_data.SourceIsIpv6": false,
			"winlog.event_data.DestinationPort": 80.0, "winlog.event_data.SourcePortName": "",
			"message": `3 network-connection: MSEDGEWIN10\IEUser from 10.0.2.15:49727 to 172.217.17.132:80 C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		}},
		{"Sysmon 22 DNS query", 7178, "2020-10-20T11:51:01.4767229Z", map[string]any{
			"event.action": "dns-query", "dns.question.name": "wpad", "process.executable": `C:\Windows\System32\svchost.exe`,
			"winlog.event_data.QueryStatus": "9003", "winlog.event_data.RuleName": "-", "message": "22 dns-query: wpad",
		}},
		{"Sysmon 10 process access", 21, "2019-04-27T15:57:53.9313632Z", map[string]any{
			"event.action": "process-access", "process.executable": `C:\Users\IEUser\AppData\Roaming\NvSmart.exe`,
			"process.pid": 2992.0, "process.entity_id": "{365ABB72-7C01-5CC4-0000-0010F9530C00}",
			"winlog.event_data.TargetImage": `C:\Windows\system32\cmd.exe`, "winlog.event_data.GrantedAccess": "0x1fffff",
		}},
		{"1102 audit log cleared (UserData)", 675, "2019-02-13T18:01:41.59383Z", map[string]any{
			"event.action": "audit-log-cleared", "event.outcome": "success", "user.name": "admin01", "user.domain": "EXAMPLE",
			"user.id": "S-1-5-21-1587066498-1489273250-1035260531-1108", "winlog.user_data.SubjectLogonId": "0xaf855",
			"winlog.user_data.xml_name": "LogFileCleared", "winlog.user_data.xmlns:auto-ns3": nil,
			"message": "1102 audit-log-cleared: admin01",
		}},
		{"4728 member added to a global group", 9058, "2020-07-12T06:01:13.7587346Z", map[string]any{
			"event.action": "added-member-to-group", "event.category": "iam", "user.name": "lambda-user",
			"group.name": "Domain Admins", "group.domain": "OFFSEC", "group.id": "S-1-5-21-4230534742-2542757381-3142984815-512",
			"user.target.name": "honey-pot1", "user.target.id": "S-1-5-21-4230534742-2542757381-3142984815-1159",
			"message": "4728 added-member-to-group: lambda-user -> honey-pot1 group Domain Admins",
		}},
		{"4768 Kerberos TGT from an IPv4-mapped address", 7367, "2021-12-12T17:57:52.2724321Z", map[string]any{
			"event.action": "kerberos-tgt-requested", "user.name": "lgrove", "source.ip": "172.16.66.19", "source.port": 50611.0,
			"winlog.event_data.IpAddress": "::ffff:172.16.66.19", "service.name": "krbtgt",
		}},
		{"5156 WFP connection allowed", 676, "2019-02-13T18:01:47.5123404Z", map[string]any{
			"event.action": "network-connection-allowed", "source.ip": "fe80::80ac:4126:fa58:1b81", "source.port": 546.0,
			"destination.ip": "ff02::1:2", "destination.port": 547.0, "network.transport": "udp", "process.pid": 820.0,
			"process.executable": `\device\harddiskvolume1\windows\system32\svchost.exe`,
			"message":            "5156 network-connection-allowed: from [fe80::80ac:4126:fa58:1b81]:546 to [ff02::1:2]:547 \\device\\harddiskvolume1\\windows\\system32\\svchost.exe",
		}},
		{"7045 service installed", 7251, "2019-05-12T12:52:43.702578Z", map[string]any{
			"event.action": "service-installed", "service.name": "WinPwnage", "user.name": nil,
			"user.id": "S-1-5-21-3583694148-1414552638-2922671848-1000", "message": "7045 service-installed: WinPwnage",
			"winlog.event_data.ImagePath": `%COMSPEC% /c ping -n 1 127.0.0.1 >nul && echo 'WinPwnage' > \\.\pipe\WinPwnagePipe`,
			"winlog.channel":              "System",
		}},
		{"4104 PowerShell script block", 2705, "2020-06-30T14:24:08.254605Z", map[string]any{
			"event.action": "powershell-script-block", "user.id": "S-1-5-21-3461203602-4096304019-2269080069-1000",
			"message": "4104 powershell-script-block: function Memory($path) …", "user.name": nil,
			"winlog.event_data.MessageNumber": 1.0,
		}},
		{"MSSQL unnamed data list", 2692, "2019-11-04T13:46:01.1713393Z", map[string]any{
			"event.code": "18456", "event.provider": "MSSQLSERVER", "event.action": nil, "winlog.channel": "Application",
			"winlog.event_data.Data": []any{"sa", " Reason: Password did not match that for the login provided.", " [CLIENT: 10.0.2.17]"},
			"message":                "18456 MSSQLSERVER",
		}},
		{"numeric channel", 2781, "2020-09-18T14:02:36.2195349Z", map[string]any{
			"winlog.channel": "4", "event.provider": "Microsoft-Windows-RPC", "winlog.event_data.Endpoint": "lsasspirpc",
		}},
		{"nine fraction digits", 7499, "2020-06-23T09:35:56.82551Z", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := lines[tc.line-1]
			p, err := ingest.ParseWindows(line, winReceived)
			if err != nil {
				t.Fatal(err)
			}
			winCheckParsed(t, tc.name, line, p)
			if want, _ := time.Parse(time.RFC3339Nano, tc.timestamp); !p.Timestamp.Equal(want) || p.Timestamp.Location() != time.UTC {
				t.Errorf("timestamp %v, want %s", p.Timestamp, tc.timestamp)
			}
			winSubset(t, tc.name, p.Fields, tc.want)
		})
	}
}

// winlogbeat4625 is a Security 4625 as Winlogbeat 8 ships it (abridged).
const winlogbeat4625 = `{"@timestamp":"2024-03-01T11:59:58.123Z","agent":{"type":"winlogbeat","version":"8.12.0"},` +
	`"event":{"code":"4625","kind":"event","provider":"Microsoft-Windows-Security-Auditing","action":"logon-failed","outcome":"failure","category":["authentication"],"type":["start"],"module":"security"},` +
	`"host":{"name":"dc01"},"log":{"level":"information"},"message":"An account failed to log on.\n\nSubject:...",` +
	`"winlog":{"channel":"Security","computer_name":"DC01.corp.example","event_id":"4625","provider_name":"Microsoft-Windows-Security-Auditing",` +
	`"record_id":"1234567","keywords":["Audit Failure"],"logon":{"type":"Network","failure":{"reason":"Unknown user name or bad password."}},` +
	`"event_data":{"SubjectUserSid":"S-1-0-0","SubjectUserName":"-","TargetUserSid":"S-1-0-0","TargetUserName":"administrator",` +
	`"TargetDomainName":"CORP","Status":"0xc000006d","LogonType":"3","WorkstationName":"KALI","IpAddress":"10.0.0.5","IpPort":"51234","ProcessId":"0x0"}},` +
	`"ecs":{"version":"8.0.0"}}`

// nxlog4624 is a Security 4624 as NXLog CE's im_msvistalog and to_json()
// write it: System values under NXLog's names, EventData flat beside them,
// Keywords as a signed number, EventTime in the collector's local time.
const nxlog4624 = `{"EventTime":"2024-03-01 12:00:00","Hostname":"DC01.corp.example","Keywords":-9214364837600034816,` +
	`"EventType":"AUDIT_SUCCESS","SeverityValue":2,"Severity":"INFO","EventID":4624,"SourceName":"Microsoft-Windows-Security-Auditing",` +
	`"ProviderGuid":"{54849625-5478-4994-A5BA-3E3B0328C30D}","Version":2,"Task":12544,"OpcodeValue":0,"RecordNumber":1234568,` +
	`"ActivityID":"{8C3B4E4A-7C3A-0001-9B4E-3B8C3A7CDA01}","ExecutionProcessID":656,"ExecutionThreadID":2872,"Channel":"Security",` +
	`"Message":"An account was successfully logged on.\r\n\r\nSubject:\r\n\tSecurity ID:\t\tS-1-0-0","Category":"Logon","Opcode":"Info",` +
	`"SubjectUserSid":"S-1-0-0","SubjectUserName":"-","SubjectDomainName":"-","SubjectLogonId":"0x0",` +
	`"TargetUserSid":"S-1-5-21-3623811015-3361044348-30300820-1104","TargetUserName":"alice","TargetDomainName":"CORP",` +
	`"TargetLogonId":"0x8d2c4f1","LogonType":"3","LogonProcessName":"NtLmSsp ","AuthenticationPackageName":"NTLM",` +
	`"WorkstationName":"WS01","LogonGuid":"{00000000-0000-0000-0000-000000000000}","TransmittedServices":"-","LmPackageName":"NTLM V2",` +
	`"KeyLength":"128","ProcessId":"0x0","ProcessName":"-","IpAddress":"203.0.113.9","IpPort":"50123","ImpersonationLevel":"%%1833",` +
	`"EventReceivedTime":"2024-03-01 12:00:01","SourceModuleName":"eventlog","SourceModuleType":"im_msvistalog"}`

func TestParseWindowsHandWritten(t *testing.T) {
	for _, tc := range []struct {
		name      string
		line      string
		timestamp string // "" when there is none
		want      map[string]any
		sysmon    bool
	}{
		{"Winlogbeat 4625: its ECS fields kept, the rest filled in", winlogbeat4625, "2024-03-01T11:59:58.123Z", map[string]any{
			"event.code": "4625", "event.action": "logon-failed", "event.outcome": "failure", "host.name": "dc01",
			"event.category": []any{"authentication"}, "event.module": "security", "winlog.computer_name": "DC01.corp.example",
			"winlog.event_id": 4625.0, "winlog.record_id": 1234567.0, "winlog.channel": "Security",
			"user.name": "administrator", "user.domain": "CORP", "user.id": nil, "source.ip": "10.0.0.5", "source.port": 51234.0,
			"source.domain": "KALI", "winlog.logon.type": "Network", "winlog.logon.failure.reason": "Unknown user name or bad password.",
			"winlog.event_data.LogonType": "3", "message": "An account failed to log on.\n\nSubject:...", "agent.type": "winlogbeat",
			"ecs.version": nil, // not an ECS group
		}, false},
		{"Winlogbeat with dotted keys and no ECS fields", `{"@timestamp":1709294400123,"winlog.event_id":4688,"winlog.channel":"Security",` +
			`"winlog.provider_name":"Microsoft-Windows-Security-Auditing","winlog.computer_name":"ws1","winlog.keywords":["Audit Success"],` +
			`"winlog.event_data.NewProcessName":"C:\\Windows\\System32\\whoami.exe","winlog.event_data.NewProcessId":"0x1a2c",` +
			`"winlog.event_data.ProcessId":"0x4","winlog.event_data.CommandLine":"whoami /all","winlog.event_data.SubjectUserName":"bob",` +
			`"winlog.event_data.ParentProcessName":"C:\\Windows\\System32\\cmd.exe"}`,
			"2024-03-01T12:00:00.123Z", map[string]any{
				"event.code": "4688", "event.action": "process-created", "event.outcome": "success", "host.name": "ws1",
				"process.executable": `C:\Windows\System32\whoami.exe`, "process.pid": 6700.0, "process.parent.pid": 4.0,
				"process.command_line": "whoami /all", "process.parent.executable": `C:\Windows\System32\cmd.exe`, "user.name": "bob",
				"message": "4688 process-created: bob whoami /all",
			}, false},
		{"Winlogbeat Sysmon 13 with the event id only in event.code", `{"event":{"code":"13"},"winlog":{"provider_name":"Microsoft-Windows-Sysmon",` +
			`"event_data":{"EventType":"SetValue","TargetObject":"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\evil","Details":"C:\\evil.exe","Image":"C:\\evil.exe","User":"NT AUTHORITY\\SYSTEM"}}}`,
			"", map[string]any{
				"event.code": "13", "event.action": "registry-value-set", "event.category": "registry", "winlog.event_id": 13.0,
				"registry.path": `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\evil`, "user.name": "SYSTEM", "user.domain": "NT AUTHORITY",
				"process.executable": `C:\evil.exe`, "message": `13 registry-value-set: NT AUTHORITY\SYSTEM HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\evil`,
			}, true},
		{"NXLog to_json 4624: flat EventData, signed Keywords, local EventTime", nxlog4624, "2024-03-01T12:00:00Z", map[string]any{
			"event.code": "4624", "event.action": "logged-in", "event.outcome": "success", "event.provider": "Microsoft-Windows-Security-Auditing",
			"winlog.channel": "Security", "host.name": "DC01.corp.example", "winlog.event_id": 4624.0, "winlog.record_id": 1234568.0,
			"winlog.keywords": "0x8020000000000000", "winlog.task": "Logon", "winlog.process.pid": 656.0,
			"user.name": "alice", "user.domain": "CORP", "user.id": "S-1-5-21-3623811015-3361044348-30300820-1104",
			"source.ip": "203.0.113.9", "source.port": 50123.0, "source.domain": "WS01", "winlog.logon.type": "Network",
			"winlog.event_data.AuthenticationPackageName": "NTLM", "winlog.event_data.TargetUserName": "alice",
			"winlog.event_data.EventTime": nil, "winlog.event_data.Message": nil, "winlog.event_data.Hostname": nil,
			"message": "4624 logged-in: alice from 203.0.113.9:50123",
		}, false},
		{"NXLog to_json 4625 with a zoned EventTime, failure from EventType", `{"EventTime":"2024-03-01T13:00:00+01:00",` +
			`"Hostname":"DC01","EventType":"AUDIT_FAILURE","EventID":4625,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security",` +
			`"TargetUserName":"administrator","TargetDomainName":"CORP","Status":"0xc000006d","LogonType":"3","IpAddress":"10.0.0.5","IpPort":"51234"}`,
			"2024-03-01T12:00:00Z", map[string]any{
				"event.action": "logon-failed", "event.outcome": "failure", "user.name": "administrator", "source.ip": "10.0.0.5",
				"winlog.event_data.Status": "0xc000006d",
			}, false},
		{"NXLog to_json Sysmon 1", `{"EventTime":"2024-03-01 12:00:00","Hostname":"WS2","Keywords":-9223372036854775808,"EventType":"INFO",` +
			`"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","Domain":"NT AUTHORITY",` +
			`"AccountName":"SYSTEM","UserID":"S-1-5-18","AccountType":"User","Category":"Process Create (rule: ProcessCreate)",` +
			`"UtcTime":"2024-03-01 12:00:00.000","ProcessGuid":"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}","ProcessId":"6228",` +
			`"Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /priv","CurrentDirectory":"C:\\Users\\bob\\",` +
			`"User":"CORP\\bob","Hashes":"SHA256=0A1B","ParentProcessId":"3048","ParentImage":"C:\\Windows\\System32\\cmd.exe",` +
			`"ParentCommandLine":"cmd.exe"}`,
			"2024-03-01T12:00:00Z", map[string]any{
				"event.action": "process-created", "process.executable": `C:\Windows\System32\whoami.exe`, "process.pid": 6228.0,
				"process.command_line": "whoami /priv", "process.parent.pid": 3048.0, "user.name": "bob", "user.domain": "CORP",
				"winlog.user.identifier": "S-1-5-18", "winlog.user.name": "SYSTEM", "winlog.keywords": "0x8000000000000000",
				"process.hash.sha256": "0a1b",
			}, true},
		{"evtx_dump shape: #attributes and #text", `{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},` +
			`"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing","Guid":"{54849625-5478-4994-A5BA-3E3B0328C30D}"}},` +
			`"EventID":4624,"Version":2,"Keywords":"0x8020000000000000","TimeCreated":{"#attributes":{"SystemTime":"2024-03-01T11:00:00.1234567Z"}},` +
			`"EventRecordID":77,"Execution":{"#attributes":{"ProcessID":612,"ThreadID":700}},"Channel":"Security","Computer":"WS1.corp.example","Security":null},` +
			`"EventData":{"TargetUserName":"alice","TargetDomainName":"CORP","TargetUserSid":"S-1-5-21-1-2-3-1104","LogonType":10,` +
			`"IpAddress":"::ffff:10.0.0.7","IpPort":"50123","Data":{"#text":"x"}}}}`,
			"2024-03-01T11:00:00.1234567Z", map[string]any{
				"event.code": "4624", "event.action": "logged-in", "event.outcome": "success", "event.provider": "Microsoft-Windows-Security-Auditing",
				"winlog.provider_guid": nil, "winlog.record_id": 77.0,
				"user.name": "alice", "user.domain": "CORP", "user.id": "S-1-5-21-1-2-3-1104", "source.ip": "10.0.0.7", "source.port": 50123.0,
				"winlog.logon.type": "RemoteInteractive", "winlog.event_data.Data": "x", "host.name": "WS1.corp.example",
				"message": "4624 logged-in: alice from 10.0.0.7:50123",
			}, false},
		{"EventID with qualifiers, classic service install", `{"Event":{"System":{"Provider":{"#attributes":{"Name":"Service Control Manager","EventSourceName":"Service Control Manager"}},` +
			`"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},"TimeCreated":{"#attributes":{"SystemTime":"2024-03-01 11:00:00.5"}},"Channel":"System","Computer":"SRV"},` +
			`"EventData":{"ServiceName":"PSEXESVC","ImagePath":"%SystemRoot%\\PSEXESVC.exe","ServiceType":"user mode service","StartType":"demand start","AccountName":"LocalSystem"}}}`,
			"2024-03-01T11:00:00.5Z", map[string]any{
				"event.code": "7045", "event.action": "service-installed", "service.name": "PSEXESVC", "user.name": nil,
				"winlog.event_data.AccountName": "LocalSystem", "message": "7045 service-installed: PSEXESVC",
			}, false},
		{"named Data list (XML-to-JSON converters)", `{"Event":{"System":{"Provider":{"Name":"Microsoft-Windows-Security-Auditing"},"EventID":"4720",` +
			`"TimeCreated":{"SystemTime":"2024-03-01T11:00:00+01:00"},"Channel":"Security","Computer":"DC1","Keywords":"0x8020000000000000"},` +
			`"EventData":{"Data":[{"@Name":"TargetUserName","#text":"eve"},{"@Name":"TargetDomainName","#text":"CORP"},{"@Name":"TargetSid","#text":"S-1-5-21-9"},` +
			`{"@Name":"SubjectUserName","#text":"admin"},{"@Name":"SubjectDomainName","#text":"CORP"},{"@Name":"PrivilegeList"},"unnamed"]}}}`,
			"2024-03-01T10:00:00Z", map[string]any{
				"event.action": "user-account-created", "event.outcome": "success", "user.name": "admin", "user.target.name": "eve",
				"user.target.domain": "CORP", "user.target.id": "S-1-5-21-9", "winlog.event_data.TargetUserName": "eve",
				"winlog.event_data.PrivilegeList": "", "winlog.event_data.Data": []any{"unnamed"},
				"message": "4720 user-account-created: admin -> eve",
			}, false},
		{"wrapper-less Event content; audit failure keyword", `{"System":{"Provider":{"Name":"Microsoft-Windows-Security-Auditing"},"EventID":4663,` +
			`"Keywords":"0x8010000000000000","Channel":"Security","Computer":"FS1","TimeCreated":{"SystemTime":"2024-03-01T11:00:00Z"}},` +
			`"EventData":{"SubjectUserName":"carol","ObjectName":"C:\\secret.txt","ProcessName":"C:\\Windows\\explorer.exe","ProcessId":"0x10"}}`,
			"2024-03-01T11:00:00Z", map[string]any{
				"event.action": "object-accessed", "event.outcome": "failure", "user.name": "carol", "process.pid": 16.0,
			}, false},
		{"4740 account locked out names the locked account", `{"Event":{"System":{"Provider":{"Name":"Microsoft-Windows-Security-Auditing"},"EventID":4740,` +
			`"Channel":"Security","Computer":"DC1","TimeCreated":{"SystemTime":"2024-03-01T11:00:00Z"}},"EventData":{"TargetUserName":"dave",` +
			`"TargetDomainName":"WS7","TargetSid":"S-1-5-21-5","SubjectUserName":"DC1$","SubjectDomainName":"CORP"}}}`,
			"2024-03-01T11:00:00Z", map[string]any{
				"event.action": "account-locked", "user.name": "dave", "user.id": "S-1-5-21-5", "message": "4740 account-locked: dave",
			}, false},
		{"Sysmon 11, no time, null EventData value", `{"Event":{"System":{"Provider":{"Name":"Microsoft-Windows-Sysmon"},"EventID":11,` +
			`"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS2"},"EventData":{"Image":"C:\\x.exe","TargetFilename":"C:\\Users\\u\\a.ps1",` +
			`"RuleName":null,"Hashes":"SHA256=AB,MD5=CD"}}}`,
			"", map[string]any{
				"event.action": "file-created", "file.path": `C:\Users\u\a.ps1`, "file.name": "a.ps1", "file.hash.sha256": "ab",
				"file.hash.md5": "cd", "process.hash.sha256": nil, "winlog.event_data.RuleName": nil, "message": `11 file-created: C:\Users\u\a.ps1`,
			}, true},
		{"Sysmon 17 pipe, time without zone", `{"Event":{"System":{"Provider":{"Name":"Microsoft-Windows-Sysmon"},"EventID":17,` +
			`"TimeCreated":{"SystemTime":"2024-03-01T11:00:00.1234567"},"Computer":"WS2"},"EventData":{"PipeName":"\\PSEXESVC","Image":"C:\\PSEXESVC.exe"}}}`,
			"2024-03-01T11:00:00.1234567Z", map[string]any{
				"event.action": "pipe-created", "file.name": `\PSEXESVC`, "winlog.channel": nil,
			}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ingest.ParseWindows([]byte(tc.line), winReceived)
			if err != nil {
				t.Fatal(err)
			}
			winCheckParsed(t, tc.name, []byte(tc.line), p)
			if tc.timestamp == "" {
				if !p.Timestamp.IsZero() {
					t.Errorf("timestamp %v, want none", p.Timestamp)
				}
			} else if want, err := time.Parse(time.RFC3339Nano, tc.timestamp); err != nil || !p.Timestamp.Equal(want) {
				t.Errorf("timestamp %v, want %s", p.Timestamp, tc.timestamp)
			}
			winSubset(t, tc.name, p.Fields, tc.want)
			if _, err := ingest.ParseSysmon([]byte(tc.line), winReceived); (err == nil) != tc.sysmon {
				t.Errorf("ParseSysmon: %v, want sysmon %v", err, tc.sysmon)
			}
		})
	}
}

func TestParseWindowsErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`not json`, "not a JSON object"},
		{`[1,2]`, "not a JSON object"},
		{`null`, "not a JSON object: null"},
		{`{"Event":{"System":{"EventID":1}}} {"x":1}`, "more than one JSON value"},
		{`{"Event":{"System":{"EventID":1}}}]`, "unexpected characters after the JSON object"},
		{`{"foo":1}`, "not a Windows event: neither Event.System, winlog nor NXLog's EventID"},
		{`{"EventID":4624}`, "not a Windows event"},
		{`{"EventID":"x","Channel":"Security"}`, `EventID "x" is not an event number`},
		{`{"EventID":4624,"SourceName":"Microsoft-Windows-Security-Auditing","EventTime":"yesterday"}`, `EventTime "yesterday" is not an RFC 3339 time`},
		{`{"EventID":1,"Channel":"x","` + strings.Repeat("k", 5000) + `":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1}}`, "field names too long"},
		{`{"winlog":"x"}`, "not a Windows event"},
		{`{"Event":"x"}`, "Event is not a JSON object"},
		{`{"Event":{}}`, "Event.System missing"},
		{`{"Event":{"System":[]}}`, "Event.System is not a JSON object"},
		{`{"Event":{"System":{"Channel":"Security"}}}`, "Event.System.EventID missing"},
		{`{"Event":{"System":{"EventID":"abc"}}}`, `Event.System.EventID "abc" is not an event number`},
		{`{"Event":{"System":{"EventID":-1}}}`, `Event.System.EventID -1 is not an event number`},
		{`{"Event":{"System":{"EventID":1.5}}}`, `Event.System.EventID 1.5 is not an event number`},
		{`{"Event":{"System":{"EventID":[4624]}}}`, `Event.System.EventID (a list) is not an event number`},
		{`{"Event":{"System":{"EventID":4624,"TimeCreated":{"SystemTime":"yesterday"}}}}`, `Event.System.TimeCreated.SystemTime "yesterday" is not an RFC 3339 time`},
		{`{"Event":{"System":{"EventID":4624,"TimeCreated":{"SystemTime":"1601-01-01T00:00:00Z"}}}}`, `Event.System.TimeCreated.SystemTime "1601-01-01T00:00:00Z" is outside 1970-2261`},
		{`{"winlog":{"channel":"Security"}}`, "winlog.event_id missing"},
		{`{"winlog":{"event_id":"x4624"}}`, `winlog.event_id "x4624" is not an event number`},
		{`{"@timestamp":"now","winlog":{"event_id":4624}}`, `@timestamp "now" is not an RFC 3339 time`},
		{`{"Event":{"System":{"EventID":1},"EventData":` + strings.Repeat(`{"a":`, 16) + "1" + strings.Repeat("}", 16) + "}}", "nests deeper than 16 levels"},
		{`{"winlog":{"event_id":1,"` + strings.Repeat("k", 5000) + `":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1}}}`, "field names too long"},
		{`{"Event":{"System":{"EventID":1},"EventData":{"` + strings.Repeat("k", 5000) + `":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1}}}}`, "field names too long"},
	} {
		for name, parse := range map[string]ingest.Parser{"windows": ingest.ParseWindows, "sysmon": ingest.ParseSysmon} {
			_, err := parse([]byte(tc.line), winReceived)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s %s: error %v, want %q", name, tc.line, err, tc.want)
			}
		}
	}
	_, err := ingest.ParseSysmon([]byte(`{"Event":{"System":{"Provider":{"Name":"Microsoft-Windows-Security-Auditing"},"EventID":4624,"Channel":"Security"}}}`), winReceived)
	if want := `not a Sysmon event: provider "Microsoft-Windows-Security-Auditing", channel "Security"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ParseSysmon of a Security event: %v, want %q", err, want)
	}
}

// TestParseWindowsConcurrent parses the sample from several goroutines at
// once (the parser reuses working memory through a pool) and compares with
// a sequential parse.
func TestParseWindowsConcurrent(t *testing.T) {
	lines := winSampleLines(t)
	if testing.Short() {
		lines = lines[:1000]
	}
	want := make([]ingest.Parsed, len(lines))
	for i, l := range lines {
		want[i], _ = ingest.ParseWindows(l, winReceived)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(lines); i += 2 {
				p, err := ingest.ParseWindows(lines[i], winReceived)
				if err != nil || !reflect.DeepEqual(p.Fields, want[i].Fields) || !p.Timestamp.Equal(want[i].Timestamp) {
					errs <- "line " + itoa(i+1) + " differs when parsed concurrently"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestParseWindowsInvalidUTF8 checks that a line with invalid UTF-8 is
// stored as valid UTF-8.
func TestParseWindowsInvalidUTF8(t *testing.T) {
	line := []byte("{\"Event\":{\"System\":{\"EventID\":4624,\"Computer\":\"W\xffS\"},\"EventData\":{\"TargetUserName\":\"a\xfe\"}}}")
	p, err := ingest.ParseWindows(line, winReceived)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(p.Original) || !bytes.Equal(p.Original, bytes.ToValidUTF8(line, []byte("\uFFFD"))) {
		t.Fatalf("Original %q", p.Original)
	}
}

// BenchmarkParseWindows parses the real sample's 13,307 lines round robin.
func BenchmarkParseWindows(b *testing.B) {
	benchRoundRobin(b, winSampleLines(b), ingest.ParseWindows)
}

// BenchmarkParseSysmon parses the Sysmon events of the real sample round
// robin.
func BenchmarkParseSysmon(b *testing.B) {
	var lines [][]byte
	for _, l := range winSampleLines(b) {
		if _, err := ingest.ParseSysmon(l, winReceived); err == nil {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		b.Fatal("no Sysmon events in the sample")
	}
	benchRoundRobin(b, lines, ingest.ParseSysmon)
}

// benchRoundRobin parses lines round robin. Each line is first copied into
// one buffer, as the ingest path's scanner hands lines over (and so the
// line is in cache, as it is there).
func benchRoundRobin(b *testing.B, lines [][]byte, parse func([]byte, time.Time) (ingest.Parsed, error)) {
	var size int
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size / len(lines)))
	var buf []byte
	n := 0
	rate := ingest.StartRate()
	for b.Loop() {
		buf = append(buf[:0], lines[n%len(lines)]...)
		p, err := parse(buf, winReceived)
		if err != nil {
			b.Fatal(err)
		}
		ingest.Release(p)
		n++
	}
	rate.Report(b, n, "events")
}

// BenchmarkParseWindowsWinlogbeat parses a Winlogbeat-shaped 4625.
func BenchmarkParseWindowsWinlogbeat(b *testing.B) {
	benchWindowsLine(b, winlogbeat4625)
}

// BenchmarkParseWindowsNXLog parses NXLog's flat 4624 (the reference reader:
// the fast one takes only the EVTX and Winlogbeat shapes).
func BenchmarkParseWindowsNXLog(b *testing.B) {
	benchWindowsLine(b, nxlog4624)
}

// benchWindowsLine parses one line again and again, in place.
func benchWindowsLine(b *testing.B, text string) {
	line := []byte(text)
	b.SetBytes(int64(len(line)))
	n := 0
	rate := ingest.StartRate()
	for b.Loop() {
		p, err := ingest.ParseWindows(line, winReceived)
		if err != nil {
			b.Fatal(err)
		}
		ingest.Release(p)
		n++
	}
	rate.Report(b, n, "events")
}
