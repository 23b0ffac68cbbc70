package ui

// Long operations (a rule pack import, an evidence export): the form post
// starts a job and answers 303 to the job's page, which shows its progress
// and, once it ends, its result or its error. The page works without
// script (a "Check again" link); static/job.js updates it in place.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/ui/pages"
)

const (
	// maxSessionJobs and maxJobs bound the jobs kept (running, or ended
	// and not yet expired) per session and on the node: a result may be a
	// zip of some megabytes held in memory.
	maxSessionJobs = 4
	maxJobs        = 32
	// jobTTL is how long an ended job's page and result stay.
	jobTTL = 15 * time.Minute
	// jobTimeout cancels a job that runs longer.
	jobTimeout = 10 * time.Minute
	// maxResultBytes bounds the bytes of the downloads (evidence zips) that
	// ended jobs hold in memory across the node: keeping a new one drops the
	// oldest kept first, and a single one over it is refused, not built.
	maxResultBytes = 256 << 20
)

// errJobsStopped is the cause of a job's cancellation at shutdown.
var errJobsStopped = errors.New("the node is shutting down")

// jobOwner is the session that started a job: only it sees the job.
type jobOwner struct{ tenant, user, session string }

func ownerOf(r *http.Request) jobOwner {
	p := principalOf(r.Context())
	secret, _ := r.Context().Value(secretKey{}).(string)
	sum := sha256.Sum256([]byte("xdr-job\x00" + secret))
	return jobOwner{tenant: p.Tenant, user: p.User, session: hex.EncodeToString(sum[:])}
}

// job is one long operation. Its fields after mu change while it runs.
type job struct {
	id, title  string
	owner      jobOwner
	backURL    string // where the user came from
	backLabel  string
	started    time.Time
	mu         sync.Mutex
	stage      string // what it does now, e.g. "Storing rules"
	done, of   int    // progress in the stage; of == 0: not measurable
	unit       string // what done counts, e.g. "rules"
	ended      time.Time
	err        string // the user-facing failure
	report     *pages.ImportResult
	file       []byte // a result to download
	fileName   string
	fileDetail string
	fileSeq    uint64 // when file was kept, in jobs.seq's order
	// dropped: file was dropped to keep the node's results under their
	// bound; againURL is where a form posts to make it again.
	dropped  bool
	againURL string
	cancel   context.CancelCauseFunc
}

// progress sets what the job does now and how far it is.
func (j *job) progress(stage string, done, of int, unit string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stage, j.done, j.of, j.unit = stage, done, of, unit
}

// jobs holds the node's jobs; the zero value is ready. Expired jobs are
// dropped when the next one starts: at most maxJobs results wait for it.
type jobs struct {
	mu      sync.Mutex
	byID    map[string]*job
	stopped bool           // StopJobs ran: no job starts any more
	running sync.WaitGroup // the jobs' goroutines
	seq     uint64         // results kept so far
	// maxBytes is maxResultBytes unless a test lowers it.
	maxBytes atomic.Int64
}

// jobStatus is the progress as job.js reads it (GET /jobs/{id}/status).
type jobStatus struct {
	Running bool   `json:"running"`
	Stage   string `json:"stage"`
	Done    int    `json:"done"`
	Of      int    `json:"of"`
	Text    string `json:"text"`
}

func (j *job) status() jobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := jobStatus{Running: j.ended.IsZero(), Stage: j.stage, Done: j.done, Of: j.of}
	if j.of > 0 {
		st.Text = fmt.Sprintf("%s of %s %s", pages.Thousands(j.done), pages.Thousands(j.of), j.unit)
	}
	return st
}

// startJob registers a job for the request's session and runs it in the
// background: run reports progress through the job and returns its error.
// EBUSY when the session (or the node) already runs its share of jobs,
// EUNAVAILABLE once the node shuts down.
func (s *Server) startJob(r *http.Request, title, backURL, backLabel string, run func(ctx context.Context, j *job) error) (*job, error) {
	now := s.d.Now()
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand does not fail on Linux
	// The job outlives the request (its answer is the redirect) but keeps
	// its values: the principal and the request's log attributes. It ends
	// with the node: StopJobs cancels it.
	life, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
	j := &job{id: hex.EncodeToString(b[:]), title: title, owner: ownerOf(r), backURL: backURL, backLabel: backLabel,
		started: now, stage: "Starting", cancel: cancel}
	if err := s.jobs.add(j, now); err != nil {
		cancel(nil)
		return nil, err
	}
	go func() {
		defer s.jobs.running.Done()
		ctx, stop := context.WithTimeout(life, jobTimeout)
		defer stop()
		err := s.runJob(ctx, j, run)
		cancel(nil)
		j.mu.Lock()
		defer j.mu.Unlock()
		j.ended = s.d.Now()
		switch {
		case err == nil:
		case errors.Is(context.Cause(life), errJobsStopped):
			// The log is what stays of it once the node is down.
			j.err = "The appliance shut down while this operation ran, so it was stopped."
			s.d.Log.Warn("job stopped by shutdown", "job", j.title, "user", j.owner.user, "tenant", j.owner.tenant, "err", err)
		default:
			j.err = jobError(err)
			if statusOf(appliance.ErrorCode(err)) == http.StatusInternalServerError {
				s.d.Log.Error("job failed", "job", j.title, "user", j.owner.user, "tenant", j.owner.tenant, "err", err)
			}
		}
	}()
	return j, nil
}

// StopJobs cancels the running jobs and waits until they have returned,
// or ctx ends; from then on no job starts. The node calls it on shutdown,
// before it closes the stores the jobs write to. Each job still running
// when ctx ends is logged.
func (s *Server) StopJobs(ctx context.Context) {
	js := &s.jobs
	js.mu.Lock()
	js.stopped = true
	all := make([]*job, 0, len(js.byID))
	for _, j := range js.byID {
		all = append(all, j)
	}
	js.mu.Unlock()
	for _, j := range all {
		j.cancel(errJobsStopped)
	}
	returned := make(chan struct{})
	go func() { js.running.Wait(); close(returned) }()
	select {
	case <-returned:
	case <-ctx.Done():
		for _, j := range all {
			if j.status().Running {
				s.d.Log.Warn("job still running at shutdown; the node stops without it", "job", j.title,
					"user", j.owner.user, "tenant", j.owner.tenant, "started", j.started)
			}
		}
	}
}

// runJob runs a job's function, turning a panic into an error so that the
// job ends and the node stays up.
func (s *Server) runJob(ctx context.Context, j *job, run func(ctx context.Context, j *job) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job %q panicked: %v\n%s", j.title, p, debug.Stack())
		}
	}()
	return run(ctx, j)
}

// jobError is what the job page says of a failure: the domain message, or
// for an internal error a pointer to the log (never its details).
func jobError(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("The operation took longer than %v and was stopped.", jobTimeout)
	case statusOf(appliance.ErrorCode(err)) != http.StatusInternalServerError:
		return appliance.ErrorMessage(err)
	}
	return "The operation failed on the appliance; its log has the details."
}

// add registers j, first dropping expired jobs and, to make room, the
// oldest ended one of the session or of the node.
func (js *jobs) add(j *job, now time.Time) error {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.stopped {
		return appliance.Errorf(appliance.EUNAVAILABLE, "The appliance is shutting down. Try again once it is back.")
	}
	if js.byID == nil {
		js.byID = map[string]*job{}
	}
	for id, o := range js.byID {
		if o.expired(now) {
			delete(js.byID, id)
		}
	}
	mine := func(o *job) bool { return o.owner == j.owner }
	if js.count(mine) >= maxSessionJobs && !js.dropOldestEnded(mine) {
		return appliance.Errorf(appliance.EBUSY, "You already have %d operations running. Wait for one to finish, then try again.", maxSessionJobs)
	}
	if len(js.byID) >= maxJobs && !js.dropOldestEnded(func(*job) bool { return true }) {
		return appliance.Errorf(appliance.EBUSY, "The appliance is running %d operations. Try again in a minute.", maxJobs)
	}
	js.byID[j.id] = j
	js.running.Add(1)
	return nil
}

// jobFile is a job's result to download.
type jobFile struct {
	name, detail string
	body         []byte
	againURL     string // where a form posts to make it again
}

// resultLimit is the bound in bytes on the results held across the node.
func (js *jobs) resultLimit() int {
	if n := js.maxBytes.Load(); n > 0 {
		return int(n)
	}
	return maxResultBytes
}

// keep makes f j's result, first dropping the results kept longest ago
// as long as the node's would exceed its bound with f; ETOOLARGE when f
// alone does.
func (js *jobs) keep(j *job, f jobFile) error {
	js.mu.Lock()
	defer js.mu.Unlock()
	limit := js.resultLimit()
	if len(f.body) > limit {
		return tooLargeResult(limit)
	}
	held := 0
	kept := make([]*job, 0, len(js.byID))
	for _, o := range js.byID {
		o.mu.Lock()
		if o.file != nil {
			held += len(o.file)
			kept = append(kept, o)
		}
		o.mu.Unlock()
	}
	sort.Slice(kept, func(a, b int) bool { return kept[a].fileSeq < kept[b].fileSeq })
	for _, o := range kept {
		if held+len(f.body) <= limit {
			break
		}
		o.mu.Lock()
		held -= len(o.file)
		o.file, o.dropped = nil, true
		o.mu.Unlock()
	}
	js.seq++
	j.mu.Lock()
	defer j.mu.Unlock()
	j.file, j.fileName, j.fileDetail, j.againURL, j.fileSeq = f.body, f.name, f.detail, f.againURL, js.seq
	return nil
}

// tooLargeResult is the failure of a result over the node's bound.
func tooLargeResult(limit int) error {
	return appliance.Errorf(appliance.ETOOLARGE,
		"The download would be larger than %s, the most the appliance holds for downloads at once, so it was not made.", sizeText(limit))
}

// sizeText is n bytes as the limits are written: "256 MiB", or bytes.
func sizeText(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func (js *jobs) count(match func(*job) bool) int {
	n := 0
	for _, o := range js.byID {
		if match(o) {
			n++
		}
	}
	return n
}

// dropOldestEnded removes the ended job that match selects which ended
// first; false when every such job still runs.
func (js *jobs) dropOldestEnded(match func(*job) bool) bool {
	var oldest *job
	for _, o := range js.byID {
		if e := o.endedAt(); match(o) && !e.IsZero() && (oldest == nil || e.Before(oldest.endedAt())) {
			oldest = o
		}
	}
	if oldest == nil {
		return false
	}
	delete(js.byID, oldest.id)
	return true
}

func (j *job) endedAt() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ended
}

func (j *job) expired(now time.Time) bool {
	e := j.endedAt()
	return !e.IsZero() && now.Sub(e) > jobTTL
}

// jobOf returns the job of the path if the request's session owns it and it has not
// expired; anybody else gets ENOTFOUND, as for a job that never was.
func (s *Server) jobOf(r *http.Request) (*job, error) {
	s.jobs.mu.Lock()
	j := s.jobs.byID[r.PathValue("id")]
	s.jobs.mu.Unlock()
	if j == nil || j.owner != ownerOf(r) || j.expired(s.d.Now()) {
		return nil, appliance.Errorf(appliance.ENOTFOUND,
			"There is no such operation. Results are kept for %d minutes after an operation ends, for the session that started it.", int(jobTTL.Minutes()))
	}
	return j, nil
}

// jobFailuresPerPage bounds the rows of an import report's failure table
// on one page (a SigmaHQ release has hundreds).
const jobFailuresPerPage = 100

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request) {
	j, err := s.jobOf(r)
	if err != nil {
		s.pageFail(w, r, "", err)
		return
	}
	self := "/jobs/" + j.id
	st := j.status()
	j.mu.Lock()
	vm := pages.JobVM{Chrome: chromeOf(r, ""), Title: j.title, SelfURL: self, StatusURL: self + "/status",
		Running: st.Running, Stage: st.Stage, Done: st.Done, Of: st.Of, Text: st.Text, Error: j.err,
		BackURL: j.backURL, BackLabel: j.backLabel, Started: showTime(j.started)}
	if !j.ended.IsZero() {
		vm.Took = "under a second"
		if d := j.ended.Sub(j.started); d >= time.Second {
			vm.Took = d.Round(100 * time.Millisecond).String()
		}
	}
	switch {
	case j.file != nil:
		vm.DownloadURL, vm.DownloadName = self+"/download", j.fileName
		vm.DownloadDetail = fmt.Sprintf("%s. Kept here for %d minutes", j.fileDetail, int(jobTTL.Minutes()))
	case j.dropped:
		vm.Dropped = fmt.Sprintf("The download %s is no longer kept: the appliance holds at most %s of results, and newer ones took its place.",
			j.fileName, sizeText(s.jobs.resultLimit()))
		vm.AgainURL = j.againURL
	}
	report := j.report
	j.mu.Unlock()
	if report != nil {
		vm.Import = s.reportPage(r, *report, self)
	}
	s.render(w, r, http.StatusOK, pages.Job(vm))
}

// reportPage is the page of an import report's failures the query asks
// for, with links to the others.
func (s *Server) reportPage(r *http.Request, rep pages.ImportResult, self string) *pages.ImportResult {
	pg := pageOf(len(rep.Failed), jobFailuresPerPage, r.URL.Query().Get("page"), func(p int) string {
		return self + "?" + url.Values{"page": {strconv.Itoa(p)}}.Encode() + "#failed-caption"
	})
	if len(rep.Failed) > jobFailuresPerPage {
		rep.FailedPage = pg.label
	}
	rep.Failed, rep.PrevURL, rep.NextURL = rep.Failed[pg.lo:pg.hi], pg.prev, pg.next
	return &rep
}

func (s *Server) jobStatusJSON(w http.ResponseWriter, r *http.Request) {
	j, err := s.jobOf(r)
	if err != nil {
		writeError(w, r, s.d.Log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, j.status())
}

func (s *Server) jobDownload(w http.ResponseWriter, r *http.Request) {
	j, err := s.jobOf(r)
	if err != nil {
		s.pageFail(w, r, "", err)
		return
	}
	j.mu.Lock()
	body, name, dropped := j.file, j.fileName, j.dropped
	j.mu.Unlock()
	switch {
	case dropped:
		s.pageFail(w, r, "", appliance.Errorf(appliance.ENOTFOUND,
			"The download %s is no longer kept: newer results took its place. Its operation's page offers to run it again.", name))
		return
	case body == nil:
		s.pageFail(w, r, "", appliance.Errorf(appliance.ENOTFOUND, "This operation has nothing to download (yet)."))
		return
	}
	sendZip(w, name, body)
}
