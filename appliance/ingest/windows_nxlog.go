package ingest

// NXLog's flat shape of a Windows event: im_msvistalog with to_json() puts
// the System values under NXLog's own names and every EventData field at
// the top level of one object:
//
//	{"EventTime":"2024-03-01 12:00:00","Hostname":"DC01","EventID":4624,
//	 "SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security",
//	 "TargetUserName":"alice","IpAddress":"203.0.113.9",...}

import (
	"fmt"
	"strconv"
)

// winNXLogOwn are the fields NXLog adds itself, with the field each is
// kept as ("": read by the mapping, or left in the original only). Every
// other top-level field is EventData.
var winNXLogOwn = map[string]string{
	"EventTime": "", "EventReceivedTime": "", "Hostname": "", "EventID": "", "SourceName": "", "Channel": "",
	"Keywords": "", "EventType": "", "RecordNumber": "", "UserID": "", "Message": "",
	"SeverityValue": "", "Severity": "", "OpcodeValue": "", "Task": "", "Version": "",
	"SourceModuleName": "", "SourceModuleType": "",
	"ProviderGuid": "winlog.provider_guid", "ActivityID": "winlog.activity_id", "RelatedActivityID": "winlog.related_activity_id",
	"ExecutionProcessID": "winlog.process.pid", "ExecutionThreadID": "winlog.process.thread.id",
	"Category": "winlog.task", "Opcode": "winlog.opcode",
	// The account of the event's security UserID, which NXLog resolves.
	"AccountName": "winlog.user.name", "Domain": "winlog.user.domain", "AccountType": "winlog.user.type",
}

// winIsNXLog tells NXLog's flat shape: an EventID beside NXLog's provider
// or channel field.
func winIsNXLog(obj map[string]any) bool {
	_, id := obj["EventID"]
	_, src := obj["SourceName"]
	_, ch := obj["Channel"]
	return id && (src || ch)
}

// fromNXLog reads NXLog's flat shape. EventTime without a zone (NXLog's
// default rendering, the collector's local time) is taken as UTC.
func (w *winEvent) fromNXLog(obj map[string]any, p *Parsed, budget int) error {
	idv := obj["EventID"]
	if _, ok := winEventID(idv); !ok {
		return fmt.Errorf("EventID %s is not an event number", winQuote(idv))
	}
	r := winSystemRec{eventID: idv, providerName: obj["SourceName"], channel: obj["Channel"], computer: obj["Hostname"],
		recordID: obj["RecordNumber"], keywords: winNXLogKeywords(obj["Keywords"]), userID: obj["UserID"]}
	f := make(map[string]any, len(obj)+16)
	p.Fields = f
	if err := w.fromSystem(&r, f, p); err != nil {
		return err
	}
	if v := obj["EventTime"]; v != nil {
		ts, err := winTime(v)
		if err != nil {
			return fmt.Errorf("EventTime %w", err)
		}
		p.Timestamp = ts
	}
	switch obj["EventType"] {
	case "AUDIT_SUCCESS":
		w.auditSuccess = true
	case "AUDIT_FAILURE":
		w.auditFailure = true
	}
	for k, v := range obj {
		if _, own := winNXLogOwn[k]; !own {
			budget = winNameBytes(len(winEventDataPrefix)+len(k), v, 2, budget)
		}
	}
	if budget < 0 {
		return errWinNames
	}
	for k, v := range obj {
		if field, own := winNXLogOwn[k]; own {
			if field != "" {
				winPutScalar(f, field, v)
			}
			continue
		}
		key := winDataKeyOf(k)
		if err := flatten(f, key.field, v, 2); err != nil {
			return err
		}
		w.setData(key.idx, v)
	}
	return nil
}

// winNXLogKeywords renders NXLog's Keywords, a signed 64-bit number
// (-9214364837600034816 for Audit Success), as EVTX does: "0x8020000000000000".
func winNXLogKeywords(v any) any {
	n, ok := v.(float64)
	if !ok || n < -(1<<63) || n >= 1<<64 {
		return v
	}
	var u uint64
	if n < 0 {
		u = uint64(int64(n))
	} else {
		u = uint64(n)
	}
	return "0x" + strconv.FormatUint(u, 16)
}
