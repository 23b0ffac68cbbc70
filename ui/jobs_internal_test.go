package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minixdr/xdr/appliance"
)

// jobClock is a settable clock for the job tests.
type jobClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *jobClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *jobClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sessionRequest is a request of user's session secret in tenant.
func sessionRequest(tenant, user, secret, jobID string) *http.Request {
	r := httptest.NewRequest("GET", "/jobs/"+jobID, nil)
	r.SetPathValue("id", jobID)
	ctx := context.WithValue(r.Context(), principalKey{}, appliance.Principal{Tenant: tenant, User: user, Via: "session"})
	ctx = context.WithValue(ctx, secretKey{}, secret)
	return r.WithContext(ctx)
}

// waitEnded polls until j has ended.
func waitEnded(t *testing.T, j *job) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); j.status().Running; {
		if time.Now().After(deadline) {
			t.Fatalf("job %s did not end", j.title)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestJobs(t *testing.T) {
	clock := &jobClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := New(Deps{Now: clock.now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	release := make(chan struct{})
	blocked := func(ctx context.Context, j *job) error {
		j.progress("Working", 3, 10, "things")
		<-release
		return nil
	}
	alice := sessionRequest("acme", "alice", "secret-a", "")

	var running []*job
	for i := range maxSessionJobs {
		j, err := s.startJob(alice, "job "+strconv.Itoa(i), "/", "Back", blocked)
		if err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
		running = append(running, j)
	}
	for deadline := time.Now().Add(5 * time.Second); running[0].status().Text != "3 of 10 things"; {
		if time.Now().After(deadline) {
			t.Fatalf("progress %+v, want 3 of 10 things", running[0].status())
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := s.startJob(alice, "one too many", "/", "Back", blocked); appliance.ErrorCode(err) != appliance.EBUSY {
		t.Errorf("a fifth running job of the session: %v, want EBUSY", err)
	}

	t.Run("owner only", func(t *testing.T) {
		id := running[0].id
		if _, err := s.jobOf(sessionRequest("acme", "alice", "secret-a", id)); err != nil {
			t.Errorf("the owner: %v", err)
		}
		for name, r := range map[string]*http.Request{
			"another session":   sessionRequest("acme", "alice", "secret-b", id),
			"another user":      sessionRequest("acme", "bob", "secret-a", id),
			"another tenant":    sessionRequest("globex", "alice", "secret-a", id),
			"an unknown job id": sessionRequest("acme", "alice", "secret-a", "0123"),
		} {
			if _, err := s.jobOf(r); appliance.ErrorCode(err) != appliance.ENOTFOUND {
				t.Errorf("%s: %v, want ENOTFOUND", name, err)
			}
		}
	})

	// Another session has its own share; when they end, new jobs replace
	// the oldest ended ones.
	bob := sessionRequest("acme", "bob", "secret-c", "")
	if _, err := s.startJob(bob, "bob's", "/", "Back", blocked); err != nil {
		t.Fatalf("another session: %v", err)
	}
	close(release)
	for _, j := range running {
		waitEnded(t, j)
	}
	for i := range maxSessionJobs + 2 {
		j, err := s.startJob(alice, "quick "+strconv.Itoa(i), "/", "Back", func(context.Context, *job) error { return nil })
		if err != nil {
			t.Fatalf("quick job %d after the others ended: %v", i, err)
		}
		waitEnded(t, j)
		clock.add(time.Second)
	}
	s.jobs.mu.Lock()
	kept := s.jobs.count(func(j *job) bool { return j.owner == ownerOf(alice) })
	s.jobs.mu.Unlock()
	if kept != maxSessionJobs {
		t.Errorf("the session keeps %d jobs, want %d", kept, maxSessionJobs)
	}

	t.Run("failures", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			run  func(context.Context, *job) error
			want string
		}{
			{"domain error", func(context.Context, *job) error {
				return appliance.Errorf(appliance.EINVALID, "rule x: bad condition")
			}, "rule x: bad condition"},
			{"internal error", func(context.Context, *job) error {
				return errors.New("disk /var/lib/xdr: input/output error")
			}, "The operation failed on the appliance; its log has the details."},
			{"panic", func(context.Context, *job) error { panic("nil map") }, "The operation failed on the appliance; its log has the details."},
			{"timeout", func(context.Context, *job) error {
				return context.DeadlineExceeded
			}, "The operation took longer than 10m0s and was stopped."},
		} {
			j, err := s.startJob(bob, tc.name, "/", "Back", tc.run)
			if err != nil {
				t.Fatal(err)
			}
			waitEnded(t, j)
			if j.err != tc.want {
				t.Errorf("%s: the page says %q, want %q", tc.name, j.err, tc.want)
			}
		}
	})

	t.Run("expiry", func(t *testing.T) {
		j, err := s.startJob(alice, "expiring", "/", "Back", func(context.Context, *job) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		waitEnded(t, j)
		r := sessionRequest("acme", "alice", "secret-a", j.id)
		clock.add(jobTTL - time.Second)
		if _, err := s.jobOf(r); err != nil {
			t.Errorf("before its expiry: %v", err)
		}
		clock.add(2 * time.Second)
		if _, err := s.jobOf(r); appliance.ErrorCode(err) != appliance.ENOTFOUND {
			t.Errorf("after its expiry: %v, want ENOTFOUND", err)
		}
	})
}

// TestJobsNodeLimit: the node runs at most maxJobs jobs at once, whoever
// starts them.
func TestJobsNodeLimit(t *testing.T) {
	s := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	release := make(chan struct{})
	defer close(release)
	wait := func(context.Context, *job) error { <-release; return nil }
	for i := range maxJobs {
		if _, err := s.startJob(sessionRequest("acme", "u", "session-"+strconv.Itoa(i), ""), "j", "/", "Back", wait); err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	if _, err := s.startJob(sessionRequest("acme", "u", "one more", ""), "j", "/", "Back", wait); appliance.ErrorCode(err) != appliance.EBUSY {
		t.Errorf("job %d: %v, want EBUSY", maxJobs+1, err)
	}
}

// SetResultLimit lowers the bound on the bytes of the results the node
// holds (maxResultBytes), for the tests of package ui_test.
func (s *Server) SetResultLimit(n int) { s.jobs.maxBytes.Store(int64(n)) }

// TestStopJobs: StopJobs cancels a running job, returns once the job has
// returned, and refuses jobs after it; the job says it was stopped.
func TestStopJobs(t *testing.T) {
	s := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	cancelled, finish := make(chan struct{}), make(chan struct{})
	j, err := s.startJob(sessionRequest("acme", "alice", "secret-a", ""), "long", "/", "Back", func(ctx context.Context, j *job) error {
		<-ctx.Done()
		close(cancelled)
		<-finish // what a job does between noticing and returning
		return fmt.Errorf("stopped after 3 rules: %w", ctx.Err())
	})
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { s.StopJobs(context.Background()); close(stopped) }()
	<-cancelled
	select {
	case <-stopped:
		t.Fatal("StopJobs returned while the job still ran")
	default:
	}
	close(finish)
	<-stopped
	if st := j.status(); st.Running {
		t.Fatalf("after StopJobs the job still runs: %+v", st)
	}
	if want := "The appliance shut down while this operation ran, so it was stopped."; j.err != want {
		t.Errorf("the job says %q, want %q", j.err, want)
	}
	_, err = s.startJob(sessionRequest("acme", "bob", "secret-b", ""), "late", "/", "Back", func(context.Context, *job) error { return nil })
	if appliance.ErrorCode(err) != appliance.EUNAVAILABLE || !strings.Contains(appliance.ErrorMessage(err), "shutting down") {
		t.Errorf("a job started after StopJobs: %v, want EUNAVAILABLE", err)
	}
}

// TestStopJobsBounded: a job that ignores its cancellation does not hold
// the shutdown past StopJobs's context, and the log names it.
func TestStopJobsBounded(t *testing.T) {
	var log SyncBuffer
	s := New(Deps{Log: slog.New(slog.NewTextHandler(&log, nil))})
	release := make(chan struct{})
	defer close(release)
	if _, err := s.startJob(sessionRequest("acme", "alice", "secret-a", ""), "stubborn export", "/", "Back",
		func(context.Context, *job) error { <-release; return nil }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the grace is over at once
	s.StopJobs(ctx)
	if got := log.String(); !strings.Contains(got, "job still running at shutdown") || !strings.Contains(got, `job="stubborn export"`) {
		t.Errorf("the log does not name the job left running:\n%s", got)
	}
}

// SyncBuffer is a bytes.Buffer safe for a logger and a test to share
// (for this package's tests, inside and out).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestJobResultBound: keeping a result drops the results kept longest ago
// while the node's would exceed the bound; one result over the bound alone
// is refused with a message naming it.
func TestJobResultBound(t *testing.T) {
	s := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.SetResultLimit(100)
	var js []*job
	for i := range 4 {
		j, err := s.startJob(sessionRequest("acme", "u", "session-"+strconv.Itoa(i), ""), "export", "/", "Back",
			func(context.Context, *job) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		waitEnded(t, j)
		js = append(js, j)
	}
	size := []int{30, 30, 30, 50}
	for i, j := range js {
		if err := s.jobs.keep(j, jobFile{name: "r" + strconv.Itoa(i) + ".zip", body: make([]byte, size[i]), againURL: "/again"}); err != nil {
			t.Fatalf("keep result %d: %v", i, err)
		}
	}
	// 30+30+30 fit; the 50 bytes make room by dropping the first two.
	for i, wantKept := range []bool{false, false, true, true} {
		j := js[i]
		if kept := j.file != nil; kept != wantKept || j.dropped == kept {
			t.Errorf("result %d: kept %v dropped %v, want kept %v", i, kept, j.dropped, wantKept)
		}
	}
	err := s.jobs.keep(js[0], jobFile{name: "big.zip", body: make([]byte, 101)})
	if appliance.ErrorCode(err) != appliance.ETOOLARGE || !strings.Contains(appliance.ErrorMessage(err), "larger than 100 bytes") {
		t.Errorf("a result over the bound: %v, want ETOOLARGE naming 100 bytes", err)
	}
	if js[2].file == nil || js[3].file == nil {
		t.Error("a refused result dropped others")
	}
	for n, want := range map[int]string{256 << 20: "256 MiB", 100: "100 bytes", 1<<20 + 1: "1048577 bytes"} {
		if got := sizeText(n); got != want {
			t.Errorf("sizeText(%d) = %q, want %q", n, got, want)
		}
	}
}
