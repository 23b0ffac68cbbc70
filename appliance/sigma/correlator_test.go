package sigma

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

const corrBase = `
title: Failed login
id: failed
name: failed_login
logsource: {product: json}
detection:
  sel: {event.action: login-failed}
  condition: sel
---
title: Successful login
id: success
logsource: {product: json}
detection:
  sel: {event.action: login-success}
  condition: sel
`

// sprayRule counts the distinct users that failed to log in from one
// address within 10 minutes.
const sprayRule = `title: Spray
id: spray
correlation:
  type: value_count
  rules: [failed]
  group-by: [source.ip]
  timespan: 10m
  condition: {gte: 3, field: user.name}
`

// corrSet compiles the two base rules and one correlation rule.
func corrSet(t *testing.T, correlation string) *RuleSet {
	t.Helper()
	rules, err := ParseRules([]byte(corrBase + "---\n" + correlation))
	if err != nil {
		t.Fatal(err)
	}
	rs, errs := Compile(rules)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return rs
}

// corrEvent is one input: seconds after t0, action, user, source IP.
type corrEvent struct {
	sec          int
	action, user string
	ip           string
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// feed runs events through Match and Observe; each hit is rendered as
// "rule group [ids]".
func feed(t *testing.T, rs *RuleSet, c *Correlator, evs []corrEvent, from int) []string {
	t.Helper()
	var out []string
	for i, e := range evs {
		doc, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("e%d", from+i), "source": "json",
			"event.action": e.action, "user.name": e.user, "source.ip": e.ip})
		ev, err := NewEvent(doc)
		if err != nil {
			t.Fatal(err)
		}
		ts := t0.Add(time.Duration(e.sec) * time.Second)
		for _, h := range c.Observe(ev, ts, rs.Match(ev, nil)) {
			out = append(out, fmt.Sprintf("%s %s %v @%ds", h.Rule.ID, h.GroupKey, h.EventIDs, int(h.Time.Sub(t0).Seconds())))
		}
	}
	return out
}

func TestCorrelations(t *testing.T) {
	const eventCount = `title: Brute force
id: brute
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [user.name]
  timespan: 5m
  condition: {gte: 3}
`
	tests := []struct {
		name, rule string
		events     []corrEvent
		want       []string
	}{
		{"event_count fires at the threshold, per group, then starts over", eventCount, []corrEvent{
			{0, "login-failed", "alice", ""}, {10, "login-failed", "bob", ""}, {20, "login-failed", "alice", ""},
			{30, "login-success", "alice", ""}, {40, "login-failed", "alice", ""}, {50, "login-failed", "alice", ""},
		}, []string{"brute user.name=alice [e0 e2 e4] @40s"}},
		{"event_count: events outside the timespan do not count", eventCount, []corrEvent{
			{0, "login-failed", "alice", ""}, {200, "login-failed", "alice", ""}, {400, "login-failed", "alice", ""},
			{500, "login-failed", "alice", ""},
		}, []string{"brute user.name=alice [e1 e2 e3] @500s"}},
		{"out of order: placed by event time", eventCount, []corrEvent{
			{100, "login-failed", "alice", ""}, {0, "login-failed", "alice", ""}, {50, "login-failed", "alice", ""},
		}, []string{"brute user.name=alice [e1 e2 e0] @100s"}},
		{"out of order: too late for the window is ignored", eventCount, []corrEvent{
			{400, "login-failed", "alice", ""}, {0, "login-failed", "alice", ""}, {401, "login-failed", "alice", ""},
			{402, "login-failed", "alice", ""},
		}, []string{"brute user.name=alice [e0 e2 e3] @402s"}},
		{"value_count counts distinct values", sprayRule, []corrEvent{
			{0, "login-failed", "a", "10.0.0.1"}, {1, "login-failed", "a", "10.0.0.1"}, {2, "login-failed", "b", "10.0.0.1"},
			{3, "login-failed", "c", "10.0.0.2"}, {4, "login-failed", "c", "10.0.0.1"},
		}, []string{"spray source.ip=10.0.0.1 [e0 e1 e2 e4] @4s"}},
		{"temporal: all rules within the timespan, any order", `title: Success after failure
id: saf
correlation:
  type: temporal
  rules: [failed, success]
  group-by: [user.name]
  timespan: 1m
`, []corrEvent{
			{0, "login-success", "alice", ""}, {100, "login-failed", "alice", ""}, {130, "login-success", "bob", ""},
			{150, "login-success", "alice", ""},
		}, []string{"saf user.name=alice [e1 e3] @150s"}},
		{"temporal_ordered: order of event times, not arrival", `title: Success after failure, ordered
id: safo
correlation:
  type: temporal_ordered
  rules: [failed, success]
  group-by: [user.name]
  timespan: 1m
`, []corrEvent{
			{0, "login-success", "alice", ""}, {10, "login-failed", "alice", ""}, // wrong order
			{100, "login-success", "bob", ""}, {90, "login-failed", "bob", ""}, // arrives late, in time order
		}, []string{"safo user.name=bob [e3 e2] @100s"}},
		{"lt is decided when the window closes", `title: Few logins
id: few
correlation:
  type: event_count
  rules: [success]
  group-by: [user.name]
  timespan: 1m
  condition: {lt: 2}
`, []corrEvent{
			{0, "login-success", "alice", ""}, {10, "login-success", "bob", ""}, {20, "login-success", "bob", ""},
			{30, "login-failed", "carol", ""}, {200, "login-failed", "carol", ""},
		}, []string{"few user.name=alice [e0] @0s"}},
		{"range condition", `title: Between
id: between
correlation:
  type: event_count
  rules: [failed]
  group-by: [user.name]
  timespan: 1m
  condition: {gte: 2, lte: 3}
`, []corrEvent{
			{0, "login-failed", "a", ""}, {1, "login-failed", "a", ""}, {2, "login-failed", "a", ""}, {3, "login-failed", "a", ""},
			{4, "login-failed", "b", ""}, {5, "login-failed", "b", ""}, {500, "login-failed", "z", ""},
		}, []string{"between user.name=b [e4 e5] @5s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := corrSet(t, tt.rule)
			got := feed(t, rs, NewCorrelator(rs), tt.events, 0)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("hits\n got %q\nwant %q", got, tt.want)
			}
			// The same sequence on another node gives the same hits, and
			// a node restored from a snapshot half-way continues exactly.
			for cut := 0; cut <= len(tt.events); cut++ {
				a := NewCorrelator(rs)
				first := feed(t, rs, a, tt.events[:cut], 0)
				b := restoredCopy(t, rs, a)
				rest := feed(t, rs, b, tt.events[cut:], cut)
				if all := append(first, rest...); !reflect.DeepEqual(all, tt.want) && !(len(all) == 0 && len(tt.want) == 0) {
					t.Errorf("restored at event %d: hits %q, want %q", cut, all, tt.want)
				}
				again, _ := b.MarshalBinary()
				c := NewCorrelator(rs)
				feed(t, rs, c, tt.events, 0)
				final, _ := c.MarshalBinary()
				if string(again) != string(final) {
					t.Errorf("restored at event %d: final state differs:\n%s\n%s", cut, again, final)
				}
			}
		})
	}
}

func TestCorrelationParseErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{"correlation:\n  type: nope\n  rules: [a]\n  timespan: 1m\n  condition: {gte: 1}\n", "want event_count"},
		{"correlation:\n  type: event_count\n  timespan: 1m\n  condition: {gte: 1}\n", "missing the rules"},
		{"correlation:\n  type: event_count\n  rules: [a]\n  condition: {gte: 1}\n", "missing timespan"},
		{"correlation:\n  type: event_count\n  rules: [a]\n  timespan: 5x\n  condition: {gte: 1}\n", "unknown unit"},
		{"correlation:\n  type: event_count\n  rules: [a]\n  timespan: 1m\n", "missing condition"},
		{"correlation:\n  type: value_count\n  rules: [a]\n  timespan: 1m\n  condition: {gte: 1}\n", "needs the field"},
		{"correlation:\n  type: event_count\n  rules: [a]\n  timespan: 1m\n  condition: {gte: -1}\n", "non-negative"},
		{"correlation:\n  type: event_count\n  rules: [a]\n  timespan: 1m\n  condition: {about: 1}\n", "unknown condition operator"},
	}
	for _, tt := range tests {
		_, err := ParseRules([]byte("title: c\nid: c\n" + tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.body, err, tt.want)
		}
	}
	rules, err := ParseRules([]byte(corrBase + "---\ntitle: c\nid: c\ncorrelation:\n  type: event_count\n  rules: [nothing]\n  timespan: 1m\n  condition: {gte: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, errs := Compile(rules); len(errs) != 1 || !strings.Contains(errs[0].Error(), "unknown rules nothing") {
		t.Errorf("compile errors %v, want the unknown reference", errs)
	}
}

// TestCorrelationWindowsFields: group-by and value_count fields go through
// the Windows field mapping of every selector of the referenced rule.
func TestCorrelationWindowsFields(t *testing.T) {
	rules, err := ParseRules([]byte(`title: Whoami
id: whoami
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\whoami.exe'}
  condition: sel
---
title: Whoami from several parents
id: whoami-parents
correlation:
  type: value_count
  rules: [whoami]
  group-by: [Computer]
  timespan: 1h
  condition: {gte: 2, field: ParentImage}
`))
	if err != nil {
		t.Fatal(err)
	}
	rs, errs := Compile(rules)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c := NewCorrelator(rs)
	docs := []map[string]any{
		{"id": "a", "source": "sysmon", "winlog.channel": "Microsoft-Windows-Sysmon/Operational", "winlog.event_id": 1, "host.name": "WS1",
			"winlog.event_data.Image": `C:\Windows\System32\whoami.exe`, "winlog.event_data.ParentImage": `C:\Windows\explorer.exe`},
		{"id": "b", "source": "windows", "winlog.channel": "Security", "winlog.event_id": 4688, "host.name": "WS1",
			"winlog.event_data.NewProcessName": `C:\Windows\System32\whoami.exe`, "winlog.event_data.ParentProcessName": `C:\Windows\System32\cmd.exe`},
	}
	var hits []CorrelationHit
	for i, d := range docs {
		b, _ := json.Marshal(d)
		ev, err := NewEvent(b)
		if err != nil {
			t.Fatal(err)
		}
		hits = append(hits, c.Observe(ev, t0.Add(time.Duration(i)*time.Minute), rs.Match(ev, nil))...)
	}
	if len(hits) != 1 || hits[0].GroupKey != "Computer=WS1" || !reflect.DeepEqual(hits[0].EventIDs, []string{"a", "b"}) {
		t.Errorf("hits %+v", hits)
	}
}

func TestCorrelatorStateFormats(t *testing.T) {
	rs := corrSet(t, `title: Brute force
id: brute
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [user.name]
  timespan: 5m
  condition: {gte: 3}
`)
	// The first (JSON) version still restores.
	legacy := `{"version":1,"watermark":` + fmt.Sprint(t0.UnixNano()) + `,"groups":[{"rule":"brute","d":0,"k":"user.name=alice","o":[{"t":` +
		fmt.Sprint(t0.UnixNano()) + `,"r":0,"i":"x1"},{"t":` + fmt.Sprint(t0.Add(time.Second).UnixNano()) + `,"r":0,"i":"x2"}]}]}`
	c := NewCorrelator(rs)
	if err := c.UnmarshalBinary([]byte(legacy)); err != nil {
		t.Fatal(err)
	}
	got := feed(t, rs, c, []corrEvent{{2, "login-failed", "alice", ""}}, 3)
	if want := []string{"brute user.name=alice [x1 x2 e3] @2s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the legacy state: %q, want %q", got, want)
	}
	// Malformed states are refused with a reason, never a panic.
	good, _ := NewCorrelator(rs).MarshalBinary()
	for _, bad := range [][]byte{nil, []byte("XSC"), []byte("nope"), append(append([]byte{}, good...), 1), []byte("XSC\x02\x00\xff\xff\xff\xff\x0f")} {
		if err := NewCorrelator(rs).UnmarshalBinary(bad); err == nil {
			t.Errorf("state %q accepted", bad)
		}
	}
}

// FuzzCorrelatorState: any bytes are restored or refused, never a panic.
func FuzzCorrelatorState(f *testing.F) {
	f.Add([]byte("XSC\x02\x00\x00"))
	f.Add([]byte(`{"version":1,"watermark":5,"groups":[{"rule":"brute","k":"a","o":[{"t":1,"r":0,"i":"x"}]}]}`))
	rules, err := ParseRules([]byte(corrBase + "---\ntitle: b\nid: brute\ncorrelation: {type: event_count, rules: [failed], group-by: [user.name], timespan: 5m, condition: {lt: 3}}\n"))
	if err != nil {
		f.Fatal(err)
	}
	rs, _ := Compile(rules)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewCorrelator(rs)
		if c.UnmarshalBinary(data) != nil {
			return
		}
		if _, err := c.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
		ev, _ := NewEvent([]byte(`{"id":"e","source":"json","event.action":"login-failed","user.name":"a"}`))
		c.Observe(ev, t0, rs.Match(ev, nil))
	})
}

// TestCorrelationObservationCap: a group keeps its newest observations
// only, and distinct counts follow the ones it drops.
func TestCorrelationObservationCap(t *testing.T) {
	rs := corrSet(t, `title: Spray
id: spray
correlation:
  type: value_count
  rules: [failed]
  group-by: [source.ip]
  timespan: 1h
  condition: {gte: 3, field: user.name}
`)
	c := NewCorrelator(rs)
	c.defs[0].maxObs = 3
	got := feed(t, rs, c, []corrEvent{
		{0, "login-failed", "a", "ip"}, {1, "login-failed", "b", "ip"}, {2, "login-failed", "a", "ip"},
		{3, "login-failed", "a", "ip"}, {4, "login-failed", "c", "ip"}, // window a, a, c: 2 users
		{5, "login-failed", "d", "ip"}, // a, c, d: 3
	}, 0)
	if want := []string{"spray source.ip=ip [e3 e4 e5] @5s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hits %q, want %q", got, want)
	}
}

// The running count of observations equals a recount after every event,
// through firing, sliding, late events and closing windows, and survives
// a save and restore.
func TestObservationsCount(t *testing.T) {
	for _, rule := range []string{`title: Brute force
id: brute
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [user.name]
  timespan: 5m
  condition: {gte: 4}
`, `title: Quiet
id: quiet
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [source.ip]
  timespan: 2m
  condition: {lt: 3}
`} {
		rs := corrSet(t, rule)
		c := NewCorrelator(rs)
		recount := func() int {
			n := 0
			for _, g := range c.groups {
				n += len(g.Obs)
			}
			return n
		}
		for i := range 400 {
			sec := i * 13
			if i%11 == 0 {
				sec -= 400 // late events, some too late for their window
			}
			feed(t, rs, c, []corrEvent{{sec, "login-failed", fmt.Sprint("u", i%5), fmt.Sprint("10.0.0.", i%9)}}, i)
			if got, want := c.Observations(), recount(); got != want {
				t.Fatalf("%s, after event %d: Observations() = %d, recount %d", rs.Rules()[2].ID, i, got, want)
			}
		}
		restored := restoredCopy(t, rs, c)
		if restored.Observations() != c.Observations() {
			t.Fatalf("restored %d observations, had %d", restored.Observations(), c.Observations())
		}
	}
}

// restoredCopy is a new correlator restored from c's saved state.
func restoredCopy(t *testing.T, rs *RuleSet, c *Correlator) *Correlator {
	t.Helper()
	state, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := NewCorrelator(rs)
	if err := r.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCorrelatorForgetsIdleGroups: many group keys over advancing event
// time leave a state bounded by the last timespans, the hits are the
// expected ones, and a correlator restored midway derives the same hits
// and the same state.
func TestCorrelatorForgetsIdleGroups(t *testing.T) {
	for _, tt := range []struct{ rule, hot string }{
		{`title: Brute force
id: brute
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [user.name]
  timespan: 1m
  condition: {gte: 3}
`, "brute user.name=hot%d [h%d-0 h%d-1 h%d-2] @%ds"},
		{`title: Quiet
id: quiet
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [user.name]
  timespan: 1m
  condition: {lt: 2}
`, ""},
	} {
		rs := corrSet(t, tt.rule)
		c := NewCorrelator(rs)
		var restored *Correlator
		var got, gotRestored, want []string
		const n = 3000
		for i := range n {
			// One event per second for a new user each; every 50th
			// second a "hot" user fails three times.
			evs := []corrEvent{{i, "login-failed", fmt.Sprint("u", i), ""}}
			if i%50 == 0 {
				for range 3 {
					evs = append(evs, corrEvent{i, "login-failed", fmt.Sprint("hot", i), ""})
				}
				if tt.hot != "" {
					want = append(want, fmt.Sprintf(tt.hot, i, i, i, i, i))
				}
			}
			for j, e := range evs {
				id := fmt.Sprint("u", i)
				if j > 0 {
					id = fmt.Sprintf("h%d-%d", i, j-1)
				}
				got = append(got, observeOne(t, rs, c, e, id)...)
				if restored != nil {
					gotRestored = append(gotRestored, observeOne(t, rs, restored, e, id)...)
				}
			}
			// Two timespans of groups, plus the window being decided.
			if len(c.groups) > 2*60+5 || c.Observations() > 2*60+10 {
				t.Fatalf("%s, second %d: %d groups, %d observations", rs.Rules()[2].ID, i, len(c.groups), c.Observations())
			}
			if i == n/2 {
				restored = restoredCopy(t, rs, c)
				gotRestored = append([]string(nil), got...)
			}
		}
		if tt.hot != "" && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: hits %d, want %d: %q", rs.Rules()[2].ID, len(got), len(want), firstN(got, 5))
		}
		if tt.hot == "" && len(got) < n-100 { // every lone user's window closes quiet
			t.Errorf("quiet: %d hits, want about %d", len(got), n)
		}
		if !reflect.DeepEqual(gotRestored, got) {
			t.Errorf("%s: the restored correlator's hits differ", rs.Rules()[2].ID)
		}
		a, _ := c.MarshalBinary()
		b, _ := restored.MarshalBinary()
		if string(a) != string(b) {
			t.Errorf("%s: the restored correlator's state differs", rs.Rules()[2].ID)
		}
	}
}

// observeOne feeds one event with the given id and renders its hits.
func observeOne(t *testing.T, rs *RuleSet, c *Correlator, e corrEvent, id string) []string {
	t.Helper()
	doc, _ := json.Marshal(map[string]any{"id": id, "source": "json", "event.action": e.action, "user.name": e.user})
	ev, err := NewEvent(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range c.Observe(ev, t0.Add(time.Duration(e.sec)*time.Second), rs.Match(ev, nil)) {
		out = append(out, fmt.Sprintf("%s %s %v @%ds", h.Rule.ID, h.GroupKey, h.EventIDs, int(h.Time.Sub(t0).Seconds())))
	}
	return out
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }

// An observation keeps copies of the event's ID and counted value, not
// slices of its document: a group would otherwise hold every document it
// saw for the whole window (422 MB of a 735 MB heap under a brute-force
// storm of 50,000 addresses).
func TestCorrelatorKeepsNoDocument(t *testing.T) {
	rs := corrSet(t, sprayRule)
	c := NewCorrelator(rs)
	doc, _ := json.Marshal(map[string]any{"id": "e1", "source": "json", "event.action": "login-failed", "user.name": "alice", "source.ip": "10.0.0.1"})
	ev, matched, err := rs.MatchDocument(doc, nil)
	if err != nil || ev == nil {
		t.Fatalf("the event matched nothing: %v", err)
	}
	c.Observe(ev, t0, matched)
	inDoc := func(s string) bool {
		p, d := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(ev.doc)))
		return p >= d && p < d+uintptr(len(ev.doc))
	}
	if len(c.groups) != 1 {
		t.Fatalf("%d groups, want 1", len(c.groups))
	}
	for _, g := range c.groups {
		for _, o := range g.Obs {
			if o.ID != "e1" || o.Value != "alice" {
				t.Fatalf("observation %+v, want e1 and alice", o)
			}
			if inDoc(o.ID) || inDoc(o.Value) || inDoc(g.Key) {
				t.Fatalf("observation %+v of group %q points into the event's document", o, g.Key)
			}
		}
	}
}
