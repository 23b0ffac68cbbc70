package sigmacompare

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"
	mk "github.com/markuskont/go-sigma-rule-engine"
	"gopkg.in/yaml.v2"

	"github.com/minixdr/xdr/appliance/sigma"
	"github.com/minixdr/xdr/appliance/sigma/sigmatest"
)

// data is what every benchmark shares, loaded once.
var data struct {
	once  sync.Once
	err   error
	dir   string
	files []sigmatest.RuleFile
	evs   *sigmatest.Events
	flat  []map[string]any // events flattened as the reference did
	sel   map[string]selection
}

// selection is the reference's logsource preselection of one rule
// (rule_status.ndjson.gz): channels and EventID/EventType conditions.
type selection []struct {
	Channels   []string            `json:"channels"`
	Conditions map[string][]string `json:"conditions"`
}

func load(b *testing.B) {
	b.Helper()
	data.once.Do(func() {
		d := &data
		if d.dir, d.err = sigmatest.Dir(); d.err != nil {
			return
		}
		if d.files, d.err = sigmatest.RuleFiles(d.dir); d.err != nil {
			return
		}
		if d.evs, d.err = sigmatest.WindowsEvents(d.dir); d.err != nil {
			return
		}
		d.sel = map[string]selection{}
		d.err = sigmatest.ReadNDJSON(d.dir, "rule_status.ndjson.gz", func(line []byte) error {
			var st struct {
				Path      string    `json:"path"`
				Status    string    `json:"status"`
				Selection selection `json:"logsource_selection"`
			}
			if err := json.Unmarshal(line, &st); err != nil {
				return err
			}
			if st.Status == "evaluated" {
				d.sel[st.Path] = st.Selection
			}
			return nil
		})
	})
	if data.err != nil {
		b.Fatal(data.err)
	}
}

// loadFlat adds the events in the reference's shape, for the other
// engines only (our benchmark runs without them in the heap).
func loadFlat(b *testing.B) {
	load(b)
	flatOnce.Do(func() {
		for _, raw := range data.evs.Raw {
			f, err := flatten(raw)
			if err != nil {
				b.Fatal(err)
			}
			data.flat = append(data.flat, f)
		}
	})
}

var flatOnce sync.Once

// flatten gives an event the reference's shape: EventData names at the top,
// System as EventID, Channel, Provider_Name, Computer, Security_UserID…,
// UserData leaves by their name, and the 4688 aliases.
func flatten(raw []byte) (map[string]any, error) {
	var ev struct {
		Event struct {
			System    map[string]any `json:"System"`
			EventData map[string]any `json:"EventData"`
			UserData  map[string]any `json:"UserData"`
		} `json:"Event"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, v := range ev.Event.System {
		switch m := v.(type) {
		case map[string]any:
			for k2, v2 := range m {
				out[k+"_"+k2] = v2
			}
		default:
			out[k] = v
		}
	}
	if p, ok := ev.Event.System["Provider"].(map[string]any); ok {
		out["Provider_Name"] = p["Name"]
	}
	var leaves func(m map[string]any)
	leaves = func(m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				leaves(sub)
			} else {
				out[k] = v
			}
		}
	}
	leaves(ev.Event.UserData)
	for k, v := range ev.Event.EventData {
		out[k] = v
	}
	if fmt.Sprint(out["EventID"]) == "4688" {
		out["Image"], out["ParentImage"] = out["NewProcessName"], out["ParentProcessName"]
	}
	return out, nil
}

// preselect indexes rules by channel and EventID as the reference did:
// key "channel|eventid" or "channel|*".
type preselect map[string][]int

func (p preselect) add(sel selection, i int) {
	for _, alt := range sel {
		for _, ch := range alt.Channels {
			ids := alt.Conditions["EventID"]
			if len(ids) == 0 {
				ids = []string{"*"}
			}
			for _, id := range ids {
				p[ch+"|"+id] = append(p[ch+"|"+id], i)
			}
		}
	}
}

func (p preselect) rules(ev map[string]any) []int {
	ch := fmt.Sprint(ev["Channel"])
	return append(p[ch+"|"+fmt.Sprint(ev["EventID"])], p[ch+"|*"]...)
}

// BenchmarkOurs: appliance/sigma with every SigmaHQ Windows rule, from the
// stored document to the matches (MatchDocument, as the detection pipeline
// reads a batch).
func BenchmarkOurs(b *testing.B) {
	load(b)
	var rules []*sigma.Rule
	for _, f := range data.files {
		rs, err := sigma.ParseRules(f.Data)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rs {
			if r.Logsource.Product == "windows" || r.Logsource.Category == "antivirus" {
				rules = append(rules, r)
			}
		}
	}
	set, _ := sigma.Compile(rules)
	b.Logf("%d rules", len(set.Rules()))
	var dst []*sigma.Rule
	run(b, 1, func(i int) {
		var err error
		if _, dst, err = set.MatchDocument(data.evs.Docs[i], dst[:0]); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkSigmaGo: the reference engine on the rules it evaluates, each
// event checked against the rules its channel and EventID select.
func BenchmarkSigmaGo(b *testing.B) {
	loadFlat(b)
	var evals []*evaluator.RuleEvaluator
	pre := preselect{}
	for _, f := range data.files {
		sel, ok := data.sel[f.Path]
		if !ok {
			continue
		}
		r, err := sigmago.ParseRule(f.Data)
		if err != nil {
			continue
		}
		pre.add(sel, len(evals))
		evals = append(evals, evaluator.ForRule(r))
	}
	b.Logf("%d rules", len(evals))
	ctx := context.Background()
	run(b, spread, func(i int) {
		ev := data.flat[i]
		for _, r := range pre.rules(ev) {
			if _, err := evals[r].Matches(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// mkEvent adapts a flattened event to go-sigma-rule-engine.
type mkEvent map[string]any

func (e mkEvent) Keywords() ([]string, bool) { return nil, false }
func (e mkEvent) Select(k string) (any, bool) {
	v, ok := e[k]
	if f, isNum := v.(float64); isNum {
		return strconv.FormatFloat(f, 'f', -1, 64), ok
	}
	return v, ok
}

// BenchmarkMarkuskont: github.com/markuskont/go-sigma-rule-engine on the
// rules it loads of those the reference evaluates, preselected likewise.
func BenchmarkMarkuskont(b *testing.B) {
	loadFlat(b)
	var trees []*mk.Tree
	pre := preselect{}
	failed := 0
	for _, f := range data.files {
		sel, ok := data.sel[f.Path]
		if !ok {
			continue
		}
		var r mk.Rule
		if err := yaml.Unmarshal(f.Data, &r); err != nil {
			failed++
			continue
		}
		t, err := mk.NewTree(mk.RuleHandle{Rule: r, Path: f.Path})
		if err != nil {
			failed++
			continue
		}
		pre.add(sel, len(trees))
		trees = append(trees, t)
	}
	b.Logf("%d rules loaded, %d refused", len(trees), failed)
	run(b, spread, func(i int) {
		ev := mkEvent(data.flat[i])
		for _, r := range pre.rules(ev) {
			trees[r].Match(ev)
		}
	})
}

// spread is the stride of the slow engines: they get through a few
// hundred events only, and a prime stride spreads those over the whole
// file (its 409 attack logs differ a lot) rather than its start. Ours
// reads the events in order, many times over.
const spread = 7919

// run times fn over the events, reporting events per second of wall clock
// and of process CPU time (the machine is shared).
func run(b *testing.B, stride int, fn func(i int)) {
	n := len(data.evs.Docs)
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fn(i * stride % n)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if c := cpuTime() - cpu; c > 0 {
		b.ReportMetric(float64(b.N)/c.Seconds(), "events/cpu-s")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
