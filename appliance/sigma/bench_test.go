package sigma

import (
	"syscall"
	"testing"
	"time"
)

// windowsRules parses and compiles the SigmaHQ Windows rules (product
// windows, or the antivirus category) of the test archive.
func windowsRules(b *testing.B) *RuleSet {
	b.Helper()
	set, _ := Compile(windowsRuleList(b))
	return set
}

// BenchmarkMatchWindows runs every test event through the compiled SigmaHQ
// Windows rules: one op is one event (NewEvent from the stored document,
// then Match), so events/s = 1e9 / ns/op.
func BenchmarkMatchWindows(b *testing.B) {
	set := windowsRules(b)
	_, docs := loadEvents(b)
	b.Logf("%d rules compiled, %d events", len(set.Rules()), len(docs))
	var dst []*Rule
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev, err := NewEvent(docs[i%len(docs)])
		if err != nil {
			b.Fatal(err)
		}
		dst = set.Match(ev, dst[:0])
	}
	reportRates(b, cpu)
}

// BenchmarkMatchDocument is BenchmarkMatchWindows through MatchDocument,
// which reads each stored document into reused memory: from the document
// to matches, as the apply does for events it needs only the rules of.
func BenchmarkMatchDocument(b *testing.B) {
	set := windowsRules(b)
	_, docs := loadEvents(b)
	var dst []*Rule
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		if _, dst, err = set.MatchDocument(docs[i%len(docs)], dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, cpu)
}

// reportRates reports events per wall-clock second and per second of CPU
// time of the process: on a shared, loaded machine the second is the one
// that says what one core does.
func reportRates(b *testing.B, cpuStart time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpu := cpuTime() - cpuStart; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMatchOnly is Match alone, on prepared events.
func BenchmarkMatchOnly(b *testing.B) {
	set := windowsRules(b)
	events, _ := loadEvents(b)
	var dst []*Rule
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = set.Match(events[i%len(events)], dst[:0])
	}
	reportRates(b, cpu)
}

// BenchmarkNewEvent is reading the stored documents alone.
func BenchmarkNewEvent(b *testing.B) {
	_, docs := loadEvents(b)
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := NewEvent(docs[i%len(docs)]); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, cpu)
}

// BenchmarkCompile is parsing and compiling every SigmaHQ rule of the
// archive (what a node does after a rule change).
func BenchmarkCompile(b *testing.B) {
	files := loadRuleFiles(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var rules []*Rule
		for _, f := range files {
			rs, err := ParseRules(f.Data)
			if err != nil {
				b.Fatal(err)
			}
			rules = append(rules, rs...)
		}
		Compile(rules)
	}
}

// BenchmarkMatchAllRules is Match with every rule of the archive that
// compiles (Windows, Linux, network…) over the Windows events: what a
// tenant importing the whole SigmaHQ release runs.
func BenchmarkMatchAllRules(b *testing.B) {
	var rules []*Rule
	for _, f := range loadRuleFiles(b) {
		rs, err := ParseRules(f.Data)
		if err != nil {
			b.Fatal(err)
		}
		rules = append(rules, rs...)
	}
	set, _ := Compile(rules)
	events, _ := loadEvents(b)
	var dst []*Rule
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = set.Match(events[i%len(events)], dst[:0])
	}
	reportRates(b, cpu)
}
