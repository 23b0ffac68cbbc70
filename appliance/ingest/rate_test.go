package ingest

import (
	"syscall"
	"testing"
	"time"
)

// Rate measures a parser benchmark's throughput: per wall-clock second, and
// per second of the process's CPU time, which a machine shared with other
// work disturbs far less (run with -cpu 1 for a per-core figure: the
// collector then shares the benchmark's one core).
type Rate struct{ cpu0 time.Duration }

// StartRate begins measuring; call it just before the benchmark's loop.
func StartRate() Rate { return Rate{cpu0: cpuTime()} }

// Report reports n items, named unit (say "events"), since StartRate.
func (r Rate) Report(b *testing.B, n int, unit string) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), unit+"/s")
	if cpu := cpuTime() - r.cpu0; cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), unit+"/cpu-s")
	}
}

// Release hands back p's field map, as the ingest path does once it has
// built the event, so that a parser benchmark measures what ingest does.
func Release(p Parsed) { releaseFields(p.Fields) }

// cpuTime is the user and system time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
