package ingest

// The "auth" source: raw Linux auth log lines (/var/log/auth.log, secure,
// journalctl -o short), each a syslog line (any shape ParseSyslog reads) from
// OpenSSH, sudo, su, login, PAM or the shadow tools. Recognised messages get
// event.category, event.action and, where the message says, event.outcome,
// user.name, source.ip, source.port and more; see authRecognise for the list.
//
// A syslog line whose message is not recognised (pam_limits noise, "Server
// listening on ...", kex_exchange_identification errors) is still accepted,
// with the fields of its syslog header and its message but no event.action
// or event.category, so it is searchable and a rule can still match its text.
// A line without a syslog header or without a program name is refused.
//
// Counting failed logins: each attempt is one event.action "ssh-login" with
// event.outcome "failure" (sshd's "Failed METHOD for ..."). The messages
// around it (PAM "authentication failure", "Invalid user", "Connection
// closed by ... [preauth]", "maximum authentication attempts exceeded") have
// actions of their own, so that counting ssh-login failures counts attempts.

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ParseAuth is the parser of the "auth" source.
func ParseAuth(line []byte, received time.Time) (Parsed, error) {
	s, orig := syslogText(line)
	f := newFields(20)
	h, err := parseSyslogHeader(s, received, f)
	if err != nil {
		return Parsed{}, err
	}
	if h.app == "" {
		return Parsed{}, fmt.Errorf("not an auth log line: no program name (expected \"TIMESTAMP HOST PROGRAM[PID]: MESSAGE\"), found %q", truncate(s, 48))
	}
	syslogFields(&h, f)
	authRecognise(h.app, h.msg, f)
	return Parsed{Timestamp: h.ts, Fields: f, Original: orig}, nil
}

// Auth event.category values.
const (
	authCategory = "authentication"
	authIAM      = "iam"
)

// authRecognise adds the fields of a recognised auth message of program app
// to f and reports whether it recognised it. The messages, by program:
//
//   - sshd, sshd-session, sshd-auth: Accepted/Failed METHOD for [invalid
//     user] USER from IP port N (ssh-login), Invalid user (ssh-invalid-user),
//     User ... not allowed (ssh-user-not-allowed), maximum authentication
//     attempts exceeded (ssh-max-auth-attempts), Connection closed by
//     (ssh-connection-closed), Disconnected from, Received disconnect,
//     Disconnecting (ssh-disconnect), Connection from (ssh-connection),
//     Timeout before authentication (ssh-timeout), Did not receive
//     identification string (ssh-no-identification), Unable to negotiate
//     (ssh-negotiation-failed), PAM: Authentication failure
//     (authentication-failure).
//   - any program, pam_MODULE(SERVICE:TYPE): authentication failure
//     (authentication-failure), check pass; user unknown (user-unknown),
//     session opened/closed for user (session-opened, session-closed),
//     password changed for (password-changed), Consecutive login failures
//     (account-locked). Every PAM line, recognised or not, gets
//     auth.pam.module, auth.pam.service and auth.pam.type.
//   - sudo: USER : [REASON ;] TTY=... ; PWD=... ; USER=... ; COMMAND=...
//     (sudo; a REASON such as "3 incorrect password attempts" or "user NOT
//     in sudoers" makes it a failure).
//   - su: (to USER) CALLER on TTY, FAILED SU (to USER) CALLER on TTY, and
//     shadow's Successful su / FAILED su for USER by CALLER (su).
//   - login: FAILED LOGIN, ROOT LOGIN (login).
//   - useradd, groupadd, userdel, usermod: new user, new group, delete user,
//     add USER to group (user-created, group-created, user-deleted,
//     user-added-to-group; event.category "iam").
//
// "message repeated N times: [ MSG]" (rsyslog) is recognised as MSG with
// auth.repeated N.
func authRecognise(app, msg string, f map[string]any) bool {
	if msg == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(msg, "message repeated "); ok {
		num, inner, ok := strings.Cut(rest, " times: [")
		n, numOK := syslogUint(num, 1<<31)
		if !ok || !numOK || !strings.HasSuffix(inner, "]") {
			return false
		}
		inner = strings.TrimSpace(inner[:len(inner)-1])
		if strings.HasPrefix(inner, "message repeated ") || !authRecognise(app, inner, f) {
			return false
		}
		f["auth.repeated"] = number(n)
		return true
	}
	category := authCategory
	var ok bool
	switch {
	case strings.HasPrefix(msg, "pam_"):
		category, ok = authPAM(msg, f)
	case strings.HasPrefix(app, "sshd"):
		ok = authSSHD(msg, f)
	case app == "sudo":
		ok = authSudo(msg, f)
	case app == "su":
		ok = authSu(msg, f)
	case app == "login":
		ok = authLogin(msg, f)
	case app == "useradd" || app == "groupadd" || app == "userdel" || app == "usermod":
		category, ok = authIAM, authShadowTools(msg, f)
	}
	if !ok {
		return false
	}
	f["event.category"] = category
	authRelated(f)
	return true
}

// authRelated fills related.user and related.ip from the fields set.
func authRelated(f map[string]any) {
	var users, ips []any
	add := func(list []any, k string) []any {
		v := f[k] // appended as it is: re-boxing the string would allocate
		if s, _ := v.(string); s == "" {
			return list
		}
		for _, e := range list {
			if e == v {
				return list
			}
		}
		return append(list, v)
	}
	for _, k := range [...]string{"user.name", "user.effective.name", "user.target.name", "auth.by_user.name", "auth.pam.ruser"} {
		users = add(users, k)
	}
	for _, k := range [...]string{"source.ip", "destination.ip"} {
		ips = add(ips, k)
	}
	if users != nil {
		f["related.user"] = users
	}
	if ips != nil {
		f["related.ip"] = ips
	}
}

// authSet stores the common fields; empty strings and negative ports are
// left out.
func authSet(f map[string]any, action, outcome, user, host string, port int) {
	f["event.action"] = action
	if outcome != "" {
		f["event.outcome"] = outcome
	}
	if user != "" {
		f["user.name"] = user
	}
	authAddr(f, sourceAddr, host, port)
}

// addrFields names the fields of one end of a connection.
type addrFields struct{ ip, domain, port string }

var (
	sourceAddr      = addrFields{"source.ip", "source.domain", "source.port"}
	destinationAddr = addrFields{"destination.ip", "destination.domain", "destination.port"}
)

// authAddr stores host as its ip field when it is an IP address, else as
// its domain field (sshd with UseDNS, PAM rhost), and port as its port field.
func authAddr(f map[string]any, to addrFields, host string, port int) {
	if host != "" {
		if _, err := netip.ParseAddr(host); err == nil {
			f[to.ip] = host
		} else {
			f[to.domain] = host
		}
	}
	if port >= 0 {
		f[to.port] = number(port)
	}
}

// authHostPort parses "HOST[ port N]REST" (also "HOST: REST", as old sshd
// wrote): the host, the port (-1 when none) and what follows.
func authHostPort(s string) (host string, port int, rest string) {
	host, rest, _ = strings.Cut(s, " ")
	host = strings.TrimSuffix(host, ":")
	port = -1
	if r, ok := strings.CutPrefix(rest, "port "); ok {
		p, n := syslogNum(r, 5)
		if n > 0 && p <= 65535 {
			port, rest = p, r[n:]
		}
	}
	return host, port, rest
}

// authFrom parses "USER from HOST port N REST".
func authFrom(s string) (user, host string, port int, rest string, ok bool) {
	i := strings.LastIndex(s, " from ")
	if i < 0 {
		return "", "", -1, "", false
	}
	host, port, rest = authHostPort(s[i+len(" from "):])
	return s[:i], host, port, rest, host != ""
}

// authUserHostPort parses "[authenticating |invalid ]user USER HOST port N"
// or "HOST port N": the user, whether sshd called it invalid, host and port.
func authUserHostPort(s string) (user string, invalid bool, host string, port int, ok bool) {
	hasUser := false
	for _, p := range [...]string{"authenticating user ", "invalid user ", "user "} {
		if r, cut := strings.CutPrefix(s, p); cut {
			s, hasUser, invalid = r, true, p == "invalid user "
			break
		}
	}
	i := strings.LastIndex(s, " port ")
	if i < 0 {
		return "", false, "", -1, false
	}
	before := s[:i]
	if j := strings.LastIndexByte(before, ' '); j >= 0 {
		user, host = before[:j], before[j+1:]
	} else {
		host = before
	}
	if user != "" && !hasUser {
		return "", false, "", -1, false
	}
	p, n := syslogNum(s[i+len(" port "):], 5)
	if n == 0 || p > 65535 {
		return "", false, "", -1, false
	}
	return user, invalid, host, p, host != ""
}

// authSSHD recognises OpenSSH's messages.
func authSSHD(m string, f map[string]any) bool {
	m = strings.TrimSuffix(m, " [preauth]")
	for _, p := range [...]string{"error: ", "fatal: ", "debug1: "} {
		m = strings.TrimPrefix(m, p)
	}
	verb, rest, _ := strings.Cut(m, " ")
	switch verb {
	case "Accepted", "Failed":
		method, rest, ok := strings.Cut(rest, " for ")
		if !ok || method == "" || strings.IndexByte(method, ' ') >= 0 {
			return false
		}
		invalid := false
		if r, cut := strings.CutPrefix(rest, "invalid user "); cut {
			rest, invalid = r, true
		}
		user, host, port, tail, ok := authFrom(rest)
		if !ok {
			return false
		}
		outcome := "success"
		if verb == "Failed" {
			outcome = "failure"
		}
		authSet(f, "ssh-login", outcome, user, host, port)
		f["auth.ssh.method"] = method
		if invalid {
			f["auth.invalid_user"] = true
		}
		if _, sig, ok := strings.Cut(tail, ": "); ok && sig != "" {
			f["auth.ssh.signature"] = sig
		}
		return true
	case "Invalid", "User", "PAM:", "maximum":
		var after string
		var ok bool
		action, invalid := "", false
		switch verb {
		case "Invalid":
			after, ok = strings.CutPrefix(rest, "user ")
			action, invalid = "ssh-invalid-user", true
		case "User": // "User root from 1.2.3.4 not allowed because ..."
			after, ok = rest, strings.Contains(rest, " not allowed because ")
			if ok {
				after = after[:strings.LastIndex(after, " not allowed because ")]
			}
			action = "ssh-user-not-allowed"
		case "PAM:":
			after, ok = strings.CutPrefix(rest, "Authentication failure for ")
			if r, cut := strings.CutPrefix(after, "illegal user "); cut {
				after, invalid = r, true
			}
			action = "authentication-failure"
		case "maximum":
			after, ok = strings.CutPrefix(rest, "authentication attempts exceeded for ")
			if r, cut := strings.CutPrefix(after, "invalid user "); cut {
				after, invalid = r, true
			}
			action = "ssh-max-auth-attempts"
		}
		if !ok {
			return false
		}
		user, host, port, _, ok := authFrom(after)
		if !ok {
			return false
		}
		authSet(f, action, "failure", user, host, port)
		if invalid {
			f["auth.invalid_user"] = true
		}
		return true
	case "Connection", "Disconnected", "Disconnecting":
		var after string
		var ok, tooMany bool
		action := "ssh-disconnect"
		switch verb {
		case "Connection":
			if after, ok = strings.CutPrefix(rest, "closed by "); ok {
				action = "ssh-connection-closed"
			} else if after, ok = strings.CutPrefix(rest, "from "); ok {
				// "Connection from IP port N on IP port N"
				host, port, tail := authHostPort(after)
				if host == "" || port < 0 {
					return false
				}
				authSet(f, "ssh-connection", "", "", host, port)
				if on, ok := strings.CutPrefix(tail, " on "); ok {
					dhost, dport, _ := authHostPort(on)
					authAddr(f, destinationAddr, dhost, dport)
				}
				return true
			}
		case "Disconnected":
			after, ok = strings.CutPrefix(rest, "from ")
		case "Disconnecting":
			after, ok = rest, true
			if i := strings.Index(after, ": "); i >= 0 {
				after = after[:i]
				tooMany = strings.Contains(rest[i:], "Too many authentication failures")
			}
		}
		if !ok {
			return false
		}
		user, invalid, host, port, ok := authUserHostPort(after)
		if !ok {
			return false
		}
		outcome := ""
		if tooMany {
			outcome = "failure"
		}
		authSet(f, action, outcome, user, host, port)
		if invalid {
			f["auth.invalid_user"] = true
		}
		return true
	case "Received":
		after, ok := strings.CutPrefix(rest, "disconnect from ")
		if !ok {
			return false
		}
		host, port, _ := authHostPort(after)
		if host == "" {
			return false
		}
		authSet(f, "ssh-disconnect", "", "", host, port)
		return true
	case "Timeout", "Did", "Unable":
		var after string
		var ok bool
		action, outcome := "", "failure"
		switch verb {
		case "Timeout":
			after, ok = strings.CutPrefix(rest, "before authentication for ")
			action = "ssh-timeout"
		case "Did":
			after, ok = strings.CutPrefix(rest, "not receive identification string from ")
			action, outcome = "ssh-no-identification", ""
		case "Unable":
			after, ok = strings.CutPrefix(rest, "to negotiate with ")
			action = "ssh-negotiation-failed"
		}
		if !ok {
			return false
		}
		host, port, _ := authHostPort(after)
		if host == "" {
			return false
		}
		authSet(f, action, outcome, "", host, port)
		return true
	}
	return false
}

// authPAM recognises "pam_MODULE(SERVICE:TYPE): TEXT". It stores the module,
// service and type of every PAM line, and reports the event category and
// whether it recognised the text.
func authPAM(m string, f map[string]any) (string, bool) {
	open := strings.IndexByte(m, '(')
	end := strings.Index(m, "): ")
	if open < 0 || end < open || strings.IndexByte(m[:open], ' ') >= 0 {
		return "", false
	}
	service, typ, _ := strings.Cut(m[open+1:end], ":")
	f["auth.pam.module"] = m[:open]
	if service != "" {
		f["auth.pam.service"] = service
	}
	if typ != "" {
		f["auth.pam.type"] = typ
	}
	text := m[end+3:]
	switch {
	case strings.HasPrefix(text, "authentication failure;"):
		// logname= uid=0 euid=0 tty=ssh ruser= rhost=10.200.0.2  user=root
		var user, rhost, ruser, tty string
		for kv := range strings.FieldsSeq(text[len("authentication failure;"):]) {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "user":
				user = v
			case "rhost":
				rhost = v
			case "ruser":
				ruser = v
			case "tty":
				tty = v
			}
		}
		authSet(f, "authentication-failure", "failure", user, rhost, -1)
		if ruser != "" {
			f["auth.pam.ruser"] = ruser
		}
		if tty != "" {
			f["auth.tty"] = tty
		}
		return authCategory, true
	case strings.HasPrefix(text, "check pass; user unknown"):
		authSet(f, "user-unknown", "failure", "", "", -1)
		return authCategory, true
	case strings.HasPrefix(text, "session opened for user "):
		// USER(uid=N) by BY(uid=M); older: USER by (uid=M)
		rest := text[len("session opened for user "):]
		who, by, _ := strings.Cut(rest, " by ")
		name, uid := authNameUID(who)
		if name == "" {
			return "", false
		}
		authSet(f, "session-opened", "success", name, "", -1)
		if uid != "" {
			f["user.id"] = uid
		}
		if byName, byUID := authNameUID(by); byName != "" || byUID != "" {
			if byName != "" {
				f["auth.by_user.name"] = byName
			}
			if byUID != "" {
				f["auth.by_user.id"] = byUID
			}
		}
		return authCategory, true
	case strings.HasPrefix(text, "session closed for user "):
		name, _ := authNameUID(text[len("session closed for user "):])
		if name == "" {
			return "", false
		}
		authSet(f, "session-closed", "success", name, "", -1)
		return authCategory, true
	case strings.HasPrefix(text, "password changed for "):
		name := strings.TrimSpace(text[len("password changed for "):])
		if name == "" {
			return "", false
		}
		authSet(f, "password-changed", "success", name, "", -1)
		return authIAM, true
	case strings.HasPrefix(text, "Consecutive login failures for user "):
		// pam_faillock: "... for user X account temporarily locked"
		name, _, _ := strings.Cut(text[len("Consecutive login failures for user "):], " ")
		if name == "" {
			return "", false
		}
		authSet(f, "account-locked", "failure", name, "", -1)
		return authCategory, true
	}
	return "", false
}

// authNameUID splits "name(uid=N)" (either part may be missing).
func authNameUID(s string) (name, uid string) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "(uid="); i >= 0 && strings.HasSuffix(s, ")") {
		return s[:i], s[i+len("(uid=") : len(s)-1]
	}
	return s, ""
}

// authSudo recognises sudo's command log line:
// "USER : [REASON ; ]TTY=pts/0 ; PWD=/home/u ; USER=root ; COMMAND=/usr/bin/id".
func authSudo(m string, f map[string]any) bool {
	user, rest, ok := strings.Cut(strings.TrimLeft(m, " "), " : ")
	user = strings.TrimSpace(user)
	if !ok || user == "" || strings.IndexByte(user, ' ') >= 0 {
		return false
	}
	var reasons []string
	var tty, pwd, runas, group, command string
	sawKey := false
	for rest != "" {
		if cmd, ok := strings.CutPrefix(rest, "COMMAND="); ok {
			command, sawKey = cmd, true // the command is last and may hold " ; "
			break
		}
		part, next, _ := strings.Cut(rest, " ; ")
		rest = next
		k, v, isKV := strings.Cut(part, "=")
		if !isKV || !authUpperWord(k) {
			reasons = append(reasons, strings.TrimSpace(part))
			continue
		}
		sawKey = true
		switch k {
		case "TTY":
			tty = v
		case "PWD":
			pwd = v
		case "USER":
			runas = v
		case "GROUP":
			group = v
		}
	}
	if !sawKey {
		return false
	}
	outcome := "success"
	if len(reasons) > 0 {
		outcome = "failure"
		f["auth.sudo.reason"] = strings.Join(reasons, "; ")
	}
	authSet(f, "sudo", outcome, user, "", -1)
	if runas != "" {
		f["user.effective.name"] = runas
	}
	if group != "" {
		f["user.effective.group.name"] = group
	}
	if tty != "" && tty != "unknown" {
		f["auth.tty"] = tty
	}
	if pwd != "" {
		f["process.working_directory"] = pwd
	}
	if command != "" {
		f["process.command_line"] = command
		exe, _, _ := strings.Cut(command, " ")
		f["process.executable"] = exe
	}
	return true
}

func authUpperWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return s != ""
}

// authSu recognises su's messages: util-linux "(to root) user on pts/0" and
// "FAILED SU (to root) user on pts/0"; shadow "Successful su for root by
// user", "FAILED su for root by user".
func authSu(m string, f map[string]any) bool {
	outcome := "success"
	if r, ok := strings.CutPrefix(m, "FAILED SU "); ok {
		m, outcome = r, "failure"
	}
	if r, ok := strings.CutPrefix(m, "(to "); ok {
		target, rest, ok := strings.Cut(r, ") ")
		if !ok || target == "" {
			return false
		}
		caller, tty, _ := strings.Cut(rest, " on ")
		if caller == "" {
			return false
		}
		authSet(f, "su", outcome, caller, "", -1)
		f["user.effective.name"] = target
		if tty != "" {
			f["auth.tty"] = tty
		}
		return true
	}
	for _, p := range [...]struct{ prefix, outcome string }{{"Successful su for ", "success"}, {"FAILED su for ", "failure"}} {
		if r, ok := strings.CutPrefix(m, p.prefix); ok {
			target, caller, ok := strings.Cut(r, " by ")
			if !ok || target == "" || caller == "" {
				return false
			}
			authSet(f, "su", p.outcome, caller, "", -1)
			f["user.effective.name"] = target
			return true
		}
	}
	return false
}

// authLogin recognises login(1): "FAILED LOGIN (1) on '/dev/tty1' FOR
// 'root', Authentication failure" and "ROOT LOGIN  on '/dev/tty1'".
func authLogin(m string, f map[string]any) bool {
	if r, ok := strings.CutPrefix(m, "FAILED LOGIN "); ok {
		_, r, _ = strings.Cut(r, " on ")
		tty, r := authQuoted(r)
		_, r, ok = strings.Cut(r, "FOR ")
		user, _ := authQuoted(r)
		if !ok || user == "" {
			return false
		}
		authSet(f, "login", "failure", user, "", -1)
		if tty != "" {
			f["auth.tty"] = tty
		}
		return true
	}
	if r, ok := strings.CutPrefix(m, "ROOT LOGIN "); ok {
		_, r, _ = strings.Cut(r, "on ")
		tty, _ := authQuoted(r)
		authSet(f, "login", "success", "root", "", -1)
		if tty != "" {
			f["auth.tty"] = tty
		}
		return true
	}
	return false
}

// authQuoted returns the text between the first pair of single quotes in s
// and what follows it.
func authQuoted(s string) (string, string) {
	i := strings.IndexByte(s, '\'')
	if i < 0 {
		return "", s
	}
	j := strings.IndexByte(s[i+1:], '\'')
	if j < 0 {
		return "", s
	}
	return s[i+1 : i+1+j], s[i+2+j:]
}

// authShadowTools recognises useradd, groupadd, userdel and usermod:
// "new user: name=X, UID=N, GID=N, ...", "new group: name=X, GID=N",
// "delete user 'X'", "add 'X' to group 'G'".
func authShadowTools(m string, f map[string]any) bool {
	kv := func(s string) map[string]string {
		out := map[string]string{}
		for part := range strings.SplitSeq(s, ", ") {
			if k, v, ok := strings.Cut(part, "="); ok {
				out[k] = v
			}
		}
		return out
	}
	switch {
	case strings.HasPrefix(m, "new user: "):
		a := kv(m[len("new user: "):])
		if a["name"] == "" {
			return false
		}
		authSet(f, "user-created", "success", a["name"], "", -1)
		if a["UID"] != "" {
			f["user.id"] = a["UID"]
		}
		if a["GID"] != "" {
			f["group.id"] = a["GID"]
		}
		return true
	case strings.HasPrefix(m, "new group: "):
		a := kv(m[len("new group: "):])
		if a["name"] == "" {
			return false
		}
		f["event.action"], f["event.outcome"], f["group.name"] = "group-created", "success", a["name"]
		if a["GID"] != "" {
			f["group.id"] = a["GID"]
		}
		return true
	case strings.HasPrefix(m, "delete user "):
		user, _ := authQuoted(m)
		if user == "" {
			return false
		}
		authSet(f, "user-deleted", "success", user, "", -1)
		return true
	case strings.HasPrefix(m, "add "):
		user, rest := authQuoted(m)
		if !strings.Contains(rest, " group ") {
			return false
		}
		group, _ := authQuoted(rest)
		if user == "" || group == "" {
			return false
		}
		authSet(f, "user-added-to-group", "success", user, "", -1)
		f["group.name"] = group
		return true
	}
	return false
}
