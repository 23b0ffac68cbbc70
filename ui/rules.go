package ui

import (
	"fmt"
	"io"
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

// ruleStatuses are Sigma's rule statuses, for the filter.
var ruleStatuses = []string{"stable", "test", "experimental", "deprecated", "unsupported"}

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request) {
	vm := pages.RulesVM{}
	if n := r.URL.Query().Get("changed"); n != "" {
		vm.Notice = "Rule " + n + " was " + r.URL.Query().Get("now") + "."
	}
	s.showRules(w, r, http.StatusOK, vm)
}

// showRules renders the rules list, filtered by the query string, around
// vm (its notice, error and import report).
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
	f := detect.RuleFilter{Status: vm.Status, Level: vm.Level}
	if b, err := strconv.ParseBool(vm.Enabled); err == nil {
		f.Enabled = &b
	}
	rules, err := svc.Reader().Rules(r.Context(), principalOf(r.Context()).Tenant, f)
	if err != nil {
		s.pageFail(w, r, "rules", err)
		return
	}
	q := strings.ToLower(vm.Query)
	for _, ru := range rules {
		if q != "" && !strings.Contains(strings.ToLower(ru.Title), q) {
			continue
		}
		vm.Rows = append(vm.Rows, pages.RuleRow{ID: ru.ID, URL: "/rules/" + url.PathEscape(ru.ID), Title: ru.Title, Level: ru.Level,
			Status: ru.Status, Kind: ru.Kind, Techniques: techniqueTags(ru.Attack), Enabled: ru.Enabled, Builtin: ru.Builtin})
	}
	vm.Total = pages.Thousands(len(vm.Rows))
	s.render(w, r, status, pages.Rules(vm))
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

// ruleImport imports the uploaded YAML files and .tar.gz packs and shows
// the per-rule report.
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
	rep, err := svc.ImportRules(r.Context(), principalOf(r.Context()).Tenant, files, detect.ImportOptions{Disabled: r.PostFormValue("disabled") != ""})
	vm := pages.RulesVM{Import: &pages.ImportResult{Imported: pages.Thousands(rep.Imported), Skipped: pages.Thousands(rep.Skipped)}}
	for _, f := range rep.Failed {
		vm.Import.Failed = append(vm.Import.Failed, pages.ImportFailure{File: f.File, Rule: f.Rule, Reason: f.Reason})
	}
	status := http.StatusOK
	if err != nil {
		status, vm.Error = statusOf(appliance.ErrorCode(err)), "The import stopped: "+appliance.ErrorMessage(err)
	}
	s.showRules(w, r, status, vm)
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
// .tar.gz/.tgz packs unpacked.
func uploadedRules(r *http.Request) (map[string][]byte, error) {
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		return nil, appliance.Errorf(appliance.EINVALID, "The upload could not be read (at most %d MB): %v", maxRulePackUpload>>20, err)
	}
	files := map[string][]byte{}
	for _, fh := range r.MultipartForm.File["pack"] {
		f, err := fh.Open()
		if err != nil {
			return nil, appliance.Errorf(appliance.EINVALID, "%s: %v", fh.Filename, err)
		}
		name := strings.ToLower(fh.Filename)
		if strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".tgz") {
			inner, err := detect.ReadRuleArchive(f)
			f.Close()
			if err != nil {
				return nil, appliance.Errorf(appliance.EINVALID, "%s: %v", fh.Filename, err)
			}
			for n, b := range inner {
				files[fh.Filename+"/"+n] = b
			}
			continue
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, appliance.Errorf(appliance.EINVALID, "%s: %v", fh.Filename, err)
		}
		files[fh.Filename] = b
	}
	if len(files) == 0 {
		return nil, appliance.Errorf(appliance.EINVALID, "Choose one or more .yml files or a .tar.gz pack to import.")
	}
	return files, nil
}
