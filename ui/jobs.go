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
	"strconv"
	"sync"
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
)

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
	mu   sync.Mutex
	byID map[string]*job
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
// EBUSY when the session (or the node) already runs its share of jobs.
func (s *Server) startJob(r *http.Request, title, backURL, backLabel string, run func(ctx context.Context, j *job) error) (*job, error) {
	now := s.d.Now()
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand does not fail on Linux
	j := &job{id: hex.EncodeToString(b[:]), title: title, owner: ownerOf(r), backURL: backURL, backLabel: backLabel,
		started: now, stage: "Starting"}
	if err := s.jobs.add(j, now); err != nil {
		return nil, err
	}
	// The job outlives the request (its answer is the redirect) but keeps
	// its values: the principal and the request's log attributes.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), jobTimeout)
	go func() {
		defer cancel()
		err := s.runJob(ctx, j, run)
		j.mu.Lock()
		defer j.mu.Unlock()
		j.ended = s.d.Now()
		if err != nil {
			j.err = jobError(err)
			if statusOf(appliance.ErrorCode(err)) == http.StatusInternalServerError {
				s.d.Log.Error("job failed", "job", j.title, "user", j.owner.user, "tenant", j.owner.tenant, "err", err)
			}
		}
	}()
	return j, nil
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
	return nil
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
	if j.file != nil {
		vm.DownloadURL, vm.DownloadName = self+"/download", j.fileName
		vm.DownloadDetail = fmt.Sprintf("%s. Kept here for %d minutes", j.fileDetail, int(jobTTL.Minutes()))
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
	body, name := j.file, j.fileName
	j.mu.Unlock()
	if body == nil {
		s.pageFail(w, r, "", appliance.Errorf(appliance.ENOTFOUND, "This operation has nothing to download (yet)."))
		return
	}
	sendZip(w, name, body)
}
