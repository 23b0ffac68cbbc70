package ui

import (
	"context"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/auth"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/ui/pages"
)

// maxRulePackUpload bounds a rule pack posted from the rules page.
const maxRulePackUpload = 64 << 20

// rulesPerPage is the rules list's page size.
const rulesPerPage = 50

// ruleStatuses are Sigma's rule statuses, for the filter.
var ruleStatuses = []string{"stable", "test", "experimental", "deprecated", "unsupported"}

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request) {
	vm := pages.RulesVM{}
	if n := r.URL.Query().Get("changed"); n != "" {
		vm.Notice = "Rule " + n + " was " + r.URL.Query().Get("now") + "."
	}
	s.showRules(w, r, http.StatusOK, vm)
}

// showRules renders a page of the rules list, filtered by the query
// string, around vm (its notice or error).
func (s *Server) showRules(w http.ResponseWriter, r *http.Request, status int, vm pages.RulesVM) {
	svc, err := s.detection()
	if err != nil {
		s.pageFail(w, r, "rules", err)
		return
	}
	form := r.URL.Query()
	vm.Chrome, vm.CanEdit = chromeOf(r, "rules"), auth.CanAdminister(principalOf(r.Context()))
	vm.Query, vm.Level, vm.Status, vm.Enabled = form.Get("q"), form.Get("level"), form.Get("status"), form.Get("enabled")
	vm.Levels, vm.Statuses = options(detect.Severities, "any", vm.Level), options(ruleStatuses, "any", vm.Status)
	vm.EnabledOpts = []pages.Option{{Value: "", Label: "any", Selected: vm.Enabled == ""},
		{Value: "true", Label: "enabled", Selected: vm.Enabled == "true"}, {Value: "false", Label: "disabled", Selected: vm.Enabled == "false"}}
	lister, ok := svc.Reader().(ruleLister)
	if !ok {
		s.pageFail(w, r, "rules", appliance.Errorf(appliance.EUNAVAILABLE, "The rules list is not available on this node."))
		return
	}
	q := appliance.RuleQuery{Tenant: principalOf(r.Context()).Tenant, Status: vm.Status, Level: vm.Level, Title: vm.Query, Limit: rulesPerPage}
	if b, err := strconv.ParseBool(vm.Enabled); err == nil {
		q.Enabled = &b
	}
	link := func(p int) string {
		return "/rules?" + url.Values{"q": {vm.Query}, "level": {vm.Level}, "status": {vm.Status}, "enabled": {vm.Enabled}, "page": {strconv.Itoa(p)}}.Encode()
	}
	asked, _ := strconv.Atoi(form.Get("page"))
	q.Offset = (min(max(asked, 1), math.MaxInt/rulesPerPage) - 1) * rulesPerPage
	rules, total, err := lister.RuleList(r.Context(), q)
	pg := pageOf(total, rulesPerPage, form.Get("page"), link)
	if err == nil && pg.lo != q.Offset {
		// Past the end: the last page, as pageOf says.
		q.Offset = pg.lo
		rules, total, err = lister.RuleList(r.Context(), q)
		pg = pageOf(total, rulesPerPage, form.Get("page"), link)
	}
	if err != nil {
		s.pageFail(w, r, "rules", err)
		return
	}
	for _, ru := range rules {
		vm.Rows = append(vm.Rows, pages.RuleRow{ID: ru.ID, URL: "/rules/" + url.PathEscape(ru.ID), Title: ru.Title, Level: ru.Level,
			Status: ru.Status, Kind: ru.Kind, Techniques: techniqueTags(ru.Attack), Enabled: ru.Enabled, Builtin: ru.Builtin})
	}
	vm.Total, vm.Page, vm.PrevURL, vm.NextURL = pages.Thousands(total), pg.label, pg.prev, pg.next
	s.render(w, r, status, pages.Rules(vm))
}

// ruleLister is the rules page's listing, filtered and paged in the
// store; the detection service's reader implements it.
type ruleLister interface {
	RuleList(ctx context.Context, q appliance.RuleQuery) ([]detect.RuleInfo, int, error)
}

func (s *Server) rulePage(w http.ResponseWriter, r *http.Request) {
	svc, err := s.detection()
	var ru detect.RuleInfo
	if err == nil {
		ru, err = svc.Reader().Rule(r.Context(), principalOf(r.Context()).Tenant, r.PathValue("id"))
	}
	if err != nil {
		s.pageFail(w, r, "rules", err)
		return
	}
	vm := pages.RuleVM{Chrome: chromeOf(r, "rules"), ID: ru.ID, Title: ru.Title, Level: ru.Level, Status: ru.Status, Kind: ru.Kind,
		Description: ru.Description, Logsource: ru.Logsource, Source: ru.Source, Techniques: techniqueTags(ru.Attack), Tactics: ru.Tactics,
		Enabled: ru.Enabled, Builtin: ru.Builtin, CanEdit: auth.CanAdminister(principalOf(r.Context())),
		AlertsURL: "/alerts?" + url.Values{"q": {"rule_id:" + strconv.Quote(ru.ID)}}.Encode()}
	if !ru.Updated.IsZero() && ru.Updated.Unix() > 0 {
		vm.Updated = showTime(ru.Updated)
	}
	s.render(w, r, http.StatusOK, pages.Rule(vm))
}

// ruleAdmin checks that the user may change rules and returns the service.
func (s *Server) ruleAdmin(r *http.Request) (*detect.Service, error) {
	if !auth.CanAdminister(principalOf(r.Context())) {
		return nil, appliance.Errorf(appliance.EFORBIDDEN, "Changing rules needs the super_admin or security_admin role.")
	}
	return s.detection()
}

func (s *Server) ruleSetEnabled(w http.ResponseWriter, r *http.Request) {
	svc, err := s.ruleAdmin(r)
	var ru detect.RuleInfo
	if err == nil {
		enabled, perr := strconv.ParseBool(r.PostFormValue("enabled"))
		if perr != nil {
			err = appliance.Errorf(appliance.EINVALID, "The form did not say whether to enable or disable the rule.")
		} else {
			ru, err = svc.SetRuleEnabled(r.Context(), principalOf(r.Context()).Tenant, r.PathValue("id"), enabled)
		}
	}
	if err != nil {
		s.pageFail(w, r, "rules", err)
		return
	}
	now := "disabled"
	if ru.Enabled {
		now = "enabled"
	}
	http.Redirect(w, r, "/rules?"+url.Values{"changed": {ru.Title}, "now": {now}}.Encode(), http.StatusSeeOther)
}

// ruleImport reads the uploaded YAML files and .tar.gz or .zip packs and
// starts their import, whose page shows the progress and then the
// per-rule report.
func (s *Server) ruleImport(w http.ResponseWriter, r *http.Request) {
	svc, err := s.ruleAdmin(r)
	if err != nil {
		s.pageFail(w, r, "rules", err)
		return
	}
	files, err := uploadedRules(r)
	if err != nil {
		s.showRules(w, r, statusOf(appliance.ErrorCode(err)), pages.RulesVM{Error: appliance.ErrorMessage(err)})
		return
	}
	tenant, opt := principalOf(r.Context()).Tenant, detect.ImportOptions{Disabled: r.PostFormValue("disabled") != ""}
	j, err := s.startJob(r, "Rule pack import", "/rules", "Back to the rules", func(ctx context.Context, j *job) error {
		j.progress("Checking "+pages.Thousands(len(files))+" rule files (parsing and compiling)", 0, 0, "")
		opt.Progress = func(stored, total int) { j.progress("Storing the rules that passed the check", stored, total, "rules") }
		rep, err := svc.ImportRules(ctx, tenant, files, opt)
		res := &pages.ImportResult{Imported: pages.Thousands(rep.Imported), Skipped: pages.Thousands(rep.Skipped), Refused: pages.Thousands(len(rep.Failed))}
		for _, f := range rep.Failed {
			res.Failed = append(res.Failed, pages.ImportFailure{File: f.File, Rule: f.Rule, Reason: f.Reason})
		}
		j.mu.Lock()
		j.report = res
		j.mu.Unlock()
		if err != nil {
			return fmt.Errorf("the import stopped after %d rules: %w", rep.Imported, err)
		}
		return nil
	})
	if err != nil {
		s.showRules(w, r, statusOf(appliance.ErrorCode(err)), pages.RulesVM{Error: appliance.ErrorMessage(err)})
		return
	}
	http.Redirect(w, r, "/jobs/"+j.id, http.StatusSeeOther)
}

// limitUpload bounds a multipart upload before anything reads it: the
// session check reads the form (for its CSRF field), which with no bound
// would spool any amount to temporary files.
func (s *Server) limitUpload(limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			s.renderError(w, r, pages.Chrome{}, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("The upload is larger than %d MB. Split the pack and import the parts.", limit>>20))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// uploadedRules reads the multipart "pack" files: YAML files as they are,
// .tar.gz/.tgz and .zip packs unpacked. An error names the uploaded file
// (and the member of the pack) at fault.
func uploadedRules(r *http.Request) (map[string][]byte, error) {
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		return nil, appliance.Errorf(appliance.EINVALID, "The upload could not be read (at most %d MB): %v", maxRulePackUpload>>20, err)
	}
	files := map[string][]byte{}
	for _, fh := range r.MultipartForm.File["pack"] {
		inner, err := uploadedRuleFile(fh)
		if err != nil {
			return nil, appliance.Errorf(appliance.EINVALID, "%s: %v", fh.Filename, err)
		}
		for n, b := range inner {
			files[n] = b
		}
	}
	if len(files) == 0 {
		return nil, appliance.Errorf(appliance.EINVALID, "Choose one or more .yml files, or a .tar.gz or .zip pack, to import.")
	}
	return files, nil
}

// uploadedRuleFile reads one uploaded file: the rule files of a pack, by
// "<pack>/<path in the pack>", or the file itself.
func uploadedRuleFile(fh *multipart.FileHeader) (map[string][]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var inner map[string][]byte
	switch name := strings.ToLower(fh.Filename); {
	case strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".tgz"):
		inner, err = detect.ReadRuleArchive(f)
	case strings.HasSuffix(name, ".zip"):
		inner, err = detect.ReadRuleZip(f, fh.Size)
	default:
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		return map[string][]byte{fh.Filename: b}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(inner))
	for n, b := range inner {
		out[fh.Filename+"/"+n] = b
	}
	return out, nil
}
