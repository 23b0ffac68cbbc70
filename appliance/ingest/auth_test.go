package ingest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/minixdr/xdr/internal/shareddata"
)

// authSamples is the folder of real auth.log samples (see its README.md).
const authSamples = "../../../shared/testdata/samples/auth"

func TestParseAuth(t *testing.T) {
	const p = "2026-11-22T03:54:41.038847+00:00 smp-srv01 "
	const ts = "2026-11-22T03:54:41.038847Z"
	runSyslogCases(t, ParseAuth, []syslogCase{
		// sshd
		{name: "accepted publickey", line: p + "sshd[21480]: Accepted publickey for smpuser from 10.200.0.20 port 37132 ssh2: ED25519 SHA256:c21q5mj+/jqyx7ohFI27s4YTek4Df++qK9LSqzCZIQw",
			ts: ts, want: map[string]any{
				"event.category": "authentication", "event.action": "ssh-login", "event.outcome": "success",
				"user.name": "smpuser", "source.ip": "10.200.0.20", "source.port": 37132.0, "auth.ssh.method": "publickey",
				"auth.ssh.signature": "ED25519 SHA256:c21q5mj+/jqyx7ohFI27s4YTek4Df++qK9LSqzCZIQw",
				"process.name":       "sshd", "process.pid": 21480.0, "host.name": "smp-srv01",
				"related.user": []any{"smpuser"}, "related.ip": []any{"10.200.0.20"}, "auth.invalid_user": nil,
				"message": "Accepted publickey for smpuser from 10.200.0.20 port 37132 ssh2: ED25519 SHA256:c21q5mj+/jqyx7ohFI27s4YTek4Df++qK9LSqzCZIQw",
			}},
		{name: "accepted password", line: p + "sshd[21669]: Accepted password for smpops from 10.200.0.20 port 37160 ssh2",
			ts: ts, want: map[string]any{"event.action": "ssh-login", "event.outcome": "success", "user.name": "smpops", "auth.ssh.method": "password", "auth.ssh.signature": nil}},
		{name: "accepted keyboard-interactive/pam IPv6", line: p + "sshd[1]: Accepted keyboard-interactive/pam for bob from 2001:db8::7 port 50022 ssh2",
			ts: ts, want: map[string]any{"event.outcome": "success", "auth.ssh.method": "keyboard-interactive/pam", "source.ip": "2001:db8::7", "source.port": 50022.0}},
		{name: "failed password", line: p + "sshd[22021]: Failed password for root from 10.200.0.2 port 44040 ssh2",
			ts: ts, want: map[string]any{"event.action": "ssh-login", "event.outcome": "failure", "user.name": "root", "source.ip": "10.200.0.2", "source.port": 44040.0, "auth.invalid_user": nil}},
		{name: "failed password invalid user", line: p + "sshd[22022]: Failed password for invalid user admin from 10.200.0.2 port 44048 ssh2",
			ts: ts, want: map[string]any{"event.action": "ssh-login", "event.outcome": "failure", "user.name": "admin", "auth.invalid_user": true}},
		{name: "failed none, empty invalid user", line: p + "sshd[5]: Failed none for invalid user  from 192.0.2.9 port 4 ssh2",
			ts: ts, want: map[string]any{"event.action": "ssh-login", "event.outcome": "failure", "user.name": nil, "auth.invalid_user": true, "auth.ssh.method": "none", "related.user": nil}},
		{name: "failed password user with spaces and from", line: p + "sshd[5]: Failed password for invalid user a from b from 192.0.2.9 port 4 ssh2",
			ts: ts, want: map[string]any{"user.name": "a from b", "source.ip": "192.0.2.9"}},
		{name: "failed password from host name", line: p + "sshd[5]: Failed password for root from attacker.example port 4 ssh2",
			ts: ts, want: map[string]any{"source.ip": nil, "source.domain": "attacker.example", "related.ip": nil}},
		{name: "failed publickey preauth", line: p + "sshd-session[5]: Failed publickey for git from 192.0.2.9 port 4 ssh2: RSA SHA256:abc [preauth]",
			ts: ts, want: map[string]any{"event.action": "ssh-login", "event.outcome": "failure", "auth.ssh.method": "publickey", "auth.ssh.signature": "RSA SHA256:abc", "process.name": "sshd-session"}},
		{name: "message repeated", line: "Nov 22 03:54:41 h sshd[5]: message repeated 2 times: [ Failed password for root from 192.0.2.9 port 4 ssh2]",
			ts: "2026-11-22T03:54:41Z", want: map[string]any{"event.action": "ssh-login", "event.outcome": "failure", "auth.repeated": 2.0, "user.name": "root"}},
		{name: "invalid user", line: p + "sshd[22022]: Invalid user admin from 10.200.0.2 port 44048",
			ts: ts, want: map[string]any{"event.action": "ssh-invalid-user", "event.outcome": "failure", "user.name": "admin", "auth.invalid_user": true, "source.port": 44048.0}},
		{name: "invalid user, old format without port", line: p + "sshd[1]: Invalid user oracle from 192.0.2.1",
			ts: ts, want: map[string]any{"event.action": "ssh-invalid-user", "user.name": "oracle", "source.ip": "192.0.2.1", "source.port": nil}},
		{name: "connection closed authenticating user", line: p + "sshd[22021]: Connection closed by authenticating user root 10.200.0.2 port 44040 [preauth]",
			ts: ts, want: map[string]any{"event.action": "ssh-connection-closed", "event.outcome": nil, "user.name": "root", "source.ip": "10.200.0.2", "source.port": 44040.0, "auth.invalid_user": nil}},
		{name: "connection closed invalid user", line: p + "sshd[22022]: Connection closed by invalid user admin 10.200.0.2 port 44048 [preauth]",
			ts: ts, want: map[string]any{"event.action": "ssh-connection-closed", "user.name": "admin", "auth.invalid_user": true}},
		{name: "connection closed no user", line: p + "sshd[21693]: Connection closed by 10.200.0.2 port 44558",
			ts: ts, want: map[string]any{"event.action": "ssh-connection-closed", "user.name": nil, "source.ip": "10.200.0.2", "source.port": 44558.0}},
		{name: "disconnected from user", line: p + "sshd[21486]: Disconnected from user smpuser 10.200.0.20 port 37132",
			ts: ts, want: map[string]any{"event.action": "ssh-disconnect", "user.name": "smpuser", "source.ip": "10.200.0.20", "source.port": 37132.0}},
		{name: "disconnected from invalid user", line: p + "sshd[1]: Disconnected from invalid user test 192.0.2.3 port 22 [preauth]",
			ts: ts, want: map[string]any{"event.action": "ssh-disconnect", "user.name": "test", "auth.invalid_user": true}},
		{name: "received disconnect", line: p + "sshd[21486]: Received disconnect from 10.200.0.20 port 37132:11: disconnected by user",
			ts: ts, want: map[string]any{"event.action": "ssh-disconnect", "source.ip": "10.200.0.20", "source.port": 37132.0, "user.name": nil}},
		{name: "received disconnect, old format", line: p + "sshd[1]: Received disconnect from 192.0.2.4: 11: Bye Bye [preauth]",
			ts: ts, want: map[string]any{"event.action": "ssh-disconnect", "source.ip": "192.0.2.4", "source.port": nil}},
		{name: "maximum authentication attempts", line: p + "sshd[1]: error: maximum authentication attempts exceeded for invalid user pi from 192.0.2.5 port 6 ssh2 [preauth]",
			ts: ts, want: map[string]any{"event.action": "ssh-max-auth-attempts", "event.outcome": "failure", "user.name": "pi", "auth.invalid_user": true, "source.ip": "192.0.2.5"}},
		{name: "disconnecting too many failures", line: p + "sshd[1]: Disconnecting authenticating user root 192.0.2.5 port 6: Too many authentication failures [preauth]",
			ts: ts, want: map[string]any{"event.action": "ssh-disconnect", "event.outcome": "failure", "user.name": "root", "source.port": 6.0}},
		{name: "user not allowed", line: p + "sshd[1]: User root from 192.0.2.5 not allowed because not listed in AllowUsers",
			ts: ts, want: map[string]any{"event.action": "ssh-user-not-allowed", "event.outcome": "failure", "user.name": "root", "source.ip": "192.0.2.5"}},
		{name: "sshd PAM failure", line: p + "sshd[1]: error: PAM: Authentication failure for illegal user x from 192.0.2.5",
			ts: ts, want: map[string]any{"event.action": "authentication-failure", "event.outcome": "failure", "user.name": "x", "auth.invalid_user": true}},
		{name: "timeout before authentication", line: p + "sshd[1]: fatal: Timeout before authentication for 192.0.2.5 port 6",
			ts: ts, want: map[string]any{"event.action": "ssh-timeout", "source.ip": "192.0.2.5", "source.port": 6.0}},
		{name: "no identification", line: p + "sshd[1]: Did not receive identification string from 192.0.2.5 port 6",
			ts: ts, want: map[string]any{"event.action": "ssh-no-identification", "event.outcome": nil}},
		{name: "unable to negotiate", line: p + "sshd[1]: Unable to negotiate with 192.0.2.5 port 6: no matching key exchange method found. [preauth]",
			ts: ts, want: map[string]any{"event.action": "ssh-negotiation-failed", "event.outcome": "failure"}},
		{name: "connection from", line: p + "sshd[1]: Connection from 192.0.2.5 port 6 on 10.0.0.1 port 22 rdomain \"\"",
			ts: ts, want: map[string]any{"event.action": "ssh-connection", "source.ip": "192.0.2.5", "destination.ip": "10.0.0.1", "destination.port": 22.0, "related.ip": []any{"192.0.2.5", "10.0.0.1"}}},
		{name: "sshd noise not recognised", line: p + "sshd[21693]: error: kex_exchange_identification: Connection closed by remote host",
			ts: ts, want: map[string]any{"event.action": nil, "event.category": nil, "process.name": "sshd", "message": "error: kex_exchange_identification: Connection closed by remote host"}},
		{name: "sshd listening not recognised", line: p + "sshd[21392]: Server listening on 10.200.0.10 port 22.",
			ts: ts, want: map[string]any{"event.action": nil, "source.ip": nil}},
		{name: "sshd pattern from another program is not sshd", line: p + "myapp[1]: Failed password for root from 10.0.0.1 port 1 ssh2",
			ts: ts, want: map[string]any{"event.action": nil}},
		{name: "failed with a bad port", line: p + "sshd[1]: Failed password for root from 10.0.0.1 port 99999 ssh2",
			ts: ts, want: map[string]any{"event.action": "ssh-login", "source.port": nil}},

		// PAM
		{name: "pam auth failure with user", line: p + "sshd[22021]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.200.0.2  user=root",
			ts: ts, want: map[string]any{"event.action": "authentication-failure", "event.outcome": "failure", "user.name": "root", "source.ip": "10.200.0.2",
				"auth.pam.module": "pam_unix", "auth.pam.service": "sshd", "auth.pam.type": "auth", "auth.tty": "ssh", "auth.pam.ruser": nil}},
		{name: "pam auth failure without user", line: p + "sshd[22022]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.200.0.2 ",
			ts: ts, want: map[string]any{"event.action": "authentication-failure", "user.name": nil, "source.ip": "10.200.0.2"}},
		{name: "pam su failure", line: p + "su: pam_unix(su-l:auth): authentication failure; logname= uid=1001 euid=0 tty=/dev/pts/0 ruser=smpuser rhost=  user=root",
			ts: ts, want: map[string]any{"event.action": "authentication-failure", "user.name": "root", "auth.pam.ruser": "smpuser", "auth.pam.service": "su-l",
				"auth.tty": "/dev/pts/0", "source.ip": nil, "source.domain": nil, "related.user": []any{"root", "smpuser"}, "process.pid": nil}},
		{name: "pam rhost name", line: p + "sshd[1]: pam_sss(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=evil.example user=x",
			ts: ts, want: map[string]any{"source.domain": "evil.example", "auth.pam.module": "pam_sss"}},
		{name: "pam check pass", line: p + "sshd[22022]: pam_unix(sshd:auth): check pass; user unknown",
			ts: ts, want: map[string]any{"event.action": "user-unknown", "event.outcome": "failure"}},
		{name: "pam session opened", line: p + "sshd[21480]: pam_unix(sshd:session): session opened for user smpuser(uid=1001) by (uid=0)",
			ts: ts, want: map[string]any{"event.action": "session-opened", "event.outcome": "success", "user.name": "smpuser", "user.id": "1001",
				"auth.by_user.id": "0", "auth.by_user.name": nil, "auth.pam.type": "session"}},
		{name: "pam session opened by a user", line: p + "sudo: pam_unix(sudo:session): session opened for user root(uid=0) by smpuser(uid=1001)",
			ts: ts, want: map[string]any{"user.name": "root", "user.id": "0", "auth.by_user.name": "smpuser", "auth.by_user.id": "1001", "related.user": []any{"root", "smpuser"}}},
		{name: "pam session opened, old format", line: p + "CRON[1]: pam_unix(cron:session): session opened for user root by (uid=0)",
			ts: ts, want: map[string]any{"event.action": "session-opened", "user.name": "root", "user.id": nil}},
		{name: "pam session closed", line: p + "sshd[21480]: pam_unix(sshd:session): session closed for user smpuser",
			ts: ts, want: map[string]any{"event.action": "session-closed", "user.name": "smpuser"}},
		{name: "pam password changed", line: p + "passwd[1]: pam_unix(passwd:chauthtok): password changed for bob",
			ts: ts, want: map[string]any{"event.category": "iam", "event.action": "password-changed", "user.name": "bob"}},
		{name: "pam faillock", line: p + "sshd[1]: pam_faillock(sshd:auth): Consecutive login failures for user bob account temporarily locked",
			ts: ts, want: map[string]any{"event.action": "account-locked", "event.outcome": "failure", "user.name": "bob"}},
		{name: "pam noise keeps module fields", line: p + "sshd[21480]: pam_limits(sshd:session): Could not set limit for 'nofile' to soft=1024, hard=32768: Operation not permitted; uid=0,euid=0",
			ts: ts, want: map[string]any{"event.action": nil, "event.category": nil, "auth.pam.module": "pam_limits", "auth.pam.service": "sshd", "auth.pam.type": "session"}},
		{name: "pam malformed", line: p + "sshd[1]: pam_unix sshd:auth authentication failure; user=x",
			ts: ts, want: map[string]any{"event.action": nil, "auth.pam.module": nil}},

		// sudo
		{name: "sudo success without tty", line: p + "sudo:  smpuser : PWD=/home/smpuser ; USER=root ; COMMAND=/usr/bin/id",
			ts: ts, want: map[string]any{"event.action": "sudo", "event.outcome": "success", "user.name": "smpuser", "user.effective.name": "root",
				"process.working_directory": "/home/smpuser", "process.command_line": "/usr/bin/id", "process.executable": "/usr/bin/id",
				"auth.tty": nil, "related.user": []any{"smpuser", "root"}, "event.category": "authentication"}},
		{name: "sudo success with tty and group", line: p + "sudo:    alice : TTY=pts/0 ; PWD=/srv ; USER=postgres ; GROUP=dba ; COMMAND=/usr/bin/psql -c select 1 ; drop",
			ts: ts, want: map[string]any{"event.outcome": "success", "auth.tty": "pts/0", "user.effective.name": "postgres", "user.effective.group.name": "dba",
				"process.command_line": "/usr/bin/psql -c select 1 ; drop", "process.executable": "/usr/bin/psql"}},
		{name: "sudo wrong password", line: p + "sudo:  smpuser : 1 incorrect password attempt ; PWD=/home/smpuser ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow",
			ts: ts, want: map[string]any{"event.action": "sudo", "event.outcome": "failure", "auth.sudo.reason": "1 incorrect password attempt",
				"process.command_line": "/usr/bin/cat /etc/shadow", "process.executable": "/usr/bin/cat"}},
		{name: "sudo three wrong passwords", line: p + "sudo: bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/sh",
			ts: ts, want: map[string]any{"event.outcome": "failure", "auth.sudo.reason": "3 incorrect password attempts", "user.name": "bob"}},
		{name: "sudo not in sudoers", line: p + "sudo:   smpops : user NOT in sudoers ; PWD=/home/smpops ; USER=root ; COMMAND=/usr/bin/id",
			ts: ts, want: map[string]any{"event.outcome": "failure", "auth.sudo.reason": "user NOT in sudoers", "user.name": "smpops"}},
		{name: "sudo other message", line: p + "sudo: unable to resolve host smp-srv01: Name or service not known",
			ts: ts, want: map[string]any{"event.action": nil}},
		{name: "sudo colon without keys", line: p + "sudo: bob : something happened",
			ts: ts, want: map[string]any{"event.action": nil}},

		// su
		{name: "su success", line: p + "su[21658]: (to smpops) smpuser on pts/0",
			ts: ts, want: map[string]any{"event.action": "su", "event.outcome": "success", "user.name": "smpuser", "user.effective.name": "smpops", "auth.tty": "pts/0"}},
		{name: "su failure", line: p + "su[21600]: FAILED SU (to root) smpuser on pts/0",
			ts: ts, want: map[string]any{"event.action": "su", "event.outcome": "failure", "user.name": "smpuser", "user.effective.name": "root"}},
		{name: "shadow su success", line: p + "su[1]: Successful su for root by alice",
			ts: ts, want: map[string]any{"event.action": "su", "event.outcome": "success", "user.name": "alice", "user.effective.name": "root"}},
		{name: "shadow su failure", line: p + "su[1]: FAILED su for root by alice",
			ts: ts, want: map[string]any{"event.action": "su", "event.outcome": "failure", "user.name": "alice"}},
		{name: "su malformed", line: p + "su[1]: (to ) on",
			ts: ts, want: map[string]any{"event.action": nil}},

		// login and shadow tools
		{name: "login failure", line: p + "login[1]: FAILED LOGIN (1) on '/dev/tty1' FOR 'root', Authentication failure",
			ts: ts, want: map[string]any{"event.action": "login", "event.outcome": "failure", "user.name": "root", "auth.tty": "/dev/tty1"}},
		{name: "root login", line: p + "login[1]: ROOT LOGIN  on '/dev/tty1'",
			ts: ts, want: map[string]any{"event.action": "login", "event.outcome": "success", "user.name": "root"}},
		{name: "useradd", line: p + "useradd[23739]: new user: name=cowrie, UID=995, GID=995, home=/home/cowrie, shell=/usr/sbin/nologin, from=none",
			ts: ts, want: map[string]any{"event.category": "iam", "event.action": "user-created", "user.name": "cowrie", "user.id": "995", "group.id": "995"}},
		{name: "new group", line: p + "useradd[23739]: new group: name=cowrie, GID=995",
			ts: ts, want: map[string]any{"event.category": "iam", "event.action": "group-created", "group.name": "cowrie", "group.id": "995", "related.user": nil}},
		{name: "userdel", line: p + "userdel[1]: delete user 'eve'",
			ts: ts, want: map[string]any{"event.action": "user-deleted", "user.name": "eve"}},
		{name: "usermod add to group", line: p + "usermod[1]: add 'eve' to group 'sudo'",
			ts: ts, want: map[string]any{"event.action": "user-added-to-group", "user.name": "eve", "group.name": "sudo"}},

		// BSD and RFC 5424 prefixes
		{name: "traditional format", line: "Nov 22 03:54:41 smp-srv01 sshd[22021]: Failed password for root from 10.200.0.2 port 44040 ssh2",
			ts: "2026-11-22T03:54:41Z", want: map[string]any{"event.action": "ssh-login", "host.name": "smp-srv01"}},
		{name: "RFC 5424", line: "<86>1 2026-11-22T03:54:41Z smp-srv01 sudo - - - bob : TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/sh",
			ts: "2026-11-22T03:54:41Z", want: map[string]any{"event.action": "sudo", "user.name": "bob", "log.syslog.facility.name": "authpriv"}},

		// Refusals
		{name: "not syslog", line: "Failed password for root from 10.0.0.1 port 1 ssh2", err: "not a syslog line"},
		{name: "no program", line: "Nov 22 03:54:41 smp-srv01", err: "no program name"},
		{name: "no program, text", line: "Nov 22 03:54:41 smp-srv01 just some words", err: "no program name"},
		{name: "PRI and text", line: "<13>hello", err: "no program name"},
		{name: "bad date", line: "Feb 30 03:54:41 h sshd[1]: x", err: "does not exist"},

		// Hostile
		{name: "invalid UTF-8 user", line: p + "sshd[1]: Invalid user \xff\xfeadmin from 10.0.0.1 port 1",
			ts: ts, want: map[string]any{"user.name": "\uFFFDadmin", "event.action": "ssh-invalid-user"}},
		{name: "JSON in user", line: p + "sshd[1]: Invalid user \"},\"x\":{\" from 10.0.0.1 port 1",
			ts: ts, want: map[string]any{"user.name": "\"},\"x\":{\""}},
		{name: "repeated repeated", line: p + "sshd[1]: message repeated 2 times: [ message repeated 3 times: [ Failed password for root from 1.1.1.1 port 1 ssh2]]",
			ts: ts, want: map[string]any{"event.action": nil, "auth.repeated": nil}},
		{name: "repeated junk", line: p + "sshd[1]: message repeated x times: [ Failed password for root from 1.1.1.1 port 1 ssh2]",
			ts: ts, want: map[string]any{"event.action": nil}},
	})
}

// authSampleFiles are the sample logs; the test is skipped when the folder
// is absent.
func authSampleFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(authSamples, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		shareddata.Root(t) // skips when the whole shared folder is absent
		t.Fatalf("no auth samples in %s", authSamples)
	}
	return files
}

func authReadLines(t testing.TB, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAuthSamples: every line of every sample parses with the auth and the
// syslog parser, to the same fields.
func TestAuthSamples(t *testing.T) {
	for _, path := range authSampleFiles(t) {
		lines := authReadLines(t, path)
		if len(lines) == 0 {
			t.Fatalf("%s is empty", path)
		}
		recognised := 0
		for i, l := range lines {
			p, err := ParseAuth([]byte(l), syslogRecv)
			if err != nil {
				t.Errorf("%s:%d: %v", filepath.Base(path), i+1, err)
				continue
			}
			checkLineParsed(t, []byte(l), p)
			if p.Timestamp.IsZero() || p.Timestamp.Year() != 2026 {
				t.Errorf("%s:%d: timestamp %v", filepath.Base(path), i+1, p.Timestamp)
			}
			if p.Fields["host.name"] != "smp-srv01" || p.Fields["process.name"] == nil {
				t.Errorf("%s:%d: header fields %v", filepath.Base(path), i+1, p.Fields)
			}
			if p.Fields["event.action"] != nil {
				recognised++
			}
			s, err := ParseSyslog([]byte(l), syslogRecv)
			if err != nil {
				t.Errorf("%s:%d: syslog: %v", filepath.Base(path), i+1, err)
				continue
			}
			if !reflect.DeepEqual(s.Fields, p.Fields) || !s.Timestamp.Equal(p.Timestamp) {
				t.Errorf("%s:%d: syslog and auth parsers differ:\n%v\n%v", filepath.Base(path), i+1, s.Fields, p.Fields)
			}
		}
		t.Logf("%s: %d lines, %d recognised", filepath.Base(path), len(lines), recognised)
	}
}

// authEventKey is what an auth event says, for comparing the two formats.
func authEventKey(f map[string]any) string {
	return fmt.Sprint(f["event.action"], "|", f["event.outcome"], "|", f["user.name"], "|", f["user.effective.name"], "|",
		f["source.ip"], "|", f["source.port"], "|", f["auth.invalid_user"], "|", f["process.pid"], "|", f["message"])
}

// TestAuthScenarioA checks the parsed scenario against what the samples'
// README says happened.
func TestAuthScenarioA(t *testing.T) {
	authSampleFiles(t)
	type tally struct {
		loginOK, loginFail, invalidFail map[string]int // by source.ip
		failUsers                       map[string]int // ssh-login failures by user
		sudoOK, sudoFail, suOK, suFail  int
		firstFail, lastFail             time.Time
		keys                            []string
	}
	count := func(file string) tally {
		tl := tally{loginOK: map[string]int{}, loginFail: map[string]int{}, invalidFail: map[string]int{}, failUsers: map[string]int{}}
		for i, l := range authReadLines(t, filepath.Join(authSamples, file)) {
			p, err := ParseAuth([]byte(l), syslogRecv)
			if err != nil {
				t.Fatalf("%s:%d: %v", file, i+1, err)
			}
			f := p.Fields
			ip, _ := f["source.ip"].(string)
			user, _ := f["user.name"].(string)
			tl.keys = append(tl.keys, authEventKey(f))
			switch act, out := f["event.action"], f["event.outcome"]; {
			case act == "ssh-login" && out == "success":
				tl.loginOK[ip]++
			case act == "ssh-login" && out == "failure":
				tl.loginFail[ip]++
				tl.failUsers[user]++
				if f["auth.invalid_user"] == true {
					tl.invalidFail[ip]++
				}
				if tl.firstFail.IsZero() {
					tl.firstFail = p.Timestamp
				}
				tl.lastFail = p.Timestamp
			case act == "sudo" && out == "success":
				tl.sudoOK++
			case act == "sudo" && out == "failure":
				tl.sudoFail++
			case act == "su" && out == "success":
				tl.suOK++
			case act == "su" && out == "failure":
				tl.suFail++
			}
		}
		return tl
	}
	a := count("auth_debian12_scenarioA.log")
	b := count("auth_traditional_scenarioA.log")

	for _, tl := range []tally{a, b} {
		// client 10.200.0.20: 4 publickey sessions and 1 password login.
		if want := map[string]int{"10.200.0.20": 5}; !reflect.DeepEqual(tl.loginOK, want) {
			t.Errorf("ssh-login successes by IP %v, want %v", tl.loginOK, want)
		}
		// attacker 10.200.0.2: 48 Failed password lines, 30 for invalid users.
		if want := map[string]int{"10.200.0.2": 48}; !reflect.DeepEqual(tl.loginFail, want) {
			t.Errorf("ssh-login failures by IP %v, want %v", tl.loginFail, want)
		}
		if want := map[string]int{"10.200.0.2": 30}; !reflect.DeepEqual(tl.invalidFail, want) {
			t.Errorf("invalid-user failures by IP %v, want %v", tl.invalidFail, want)
		}
		// 8 users (root, admin, test, oracle, ubuntu, pi, postgres, smpuser) x 6 passwords.
		wantUsers := map[string]int{"root": 6, "admin": 6, "test": 6, "oracle": 6, "ubuntu": 6, "pi": 6, "postgres": 6, "smpuser": 6}
		if !reflect.DeepEqual(tl.failUsers, wantUsers) {
			t.Errorf("failures by user %v, want %v", tl.failUsers, wantUsers)
		}
		// sudo /usr/bin/id ok; wrong password; smpops not in sudoers. su - root failed, su - smpops ok.
		if tl.sudoOK != 1 || tl.sudoFail != 2 || tl.suOK != 1 || tl.suFail != 1 {
			t.Errorf("sudo ok/fail %d/%d, su ok/fail %d/%d; want 1/2, 1/1", tl.sudoOK, tl.sudoFail, tl.suOK, tl.suFail)
		}
	}
	// The Failed password lines span 14.5 s, 03:54:41.0 to 03:54:55.6.
	if want := time.Date(2026, 11, 22, 3, 54, 41, 38847000, time.UTC); !a.firstFail.Equal(want) {
		t.Errorf("first failure at %v, want %v", a.firstFail, want)
	}
	if span := a.lastFail.Sub(a.firstFail); span < 14400*time.Millisecond || span > 14600*time.Millisecond {
		t.Errorf("failures span %v, want about 14.5s", span)
	}
	// The two files are the same events in two formats.
	if len(a.keys) != 271 || len(b.keys) != 271 {
		t.Fatalf("%d and %d lines, want 271", len(a.keys), len(b.keys))
	}
	for i := range a.keys {
		if a.keys[i] != b.keys[i] {
			t.Errorf("line %d differs between the formats:\n%s\n%s", i+1, a.keys[i], b.keys[i])
		}
	}
}

// FuzzParseAuth: as FuzzParseSyslog, with auth lines as seeds.
func FuzzParseAuth(f *testing.F) {
	seeds := []string{
		"2026-11-22T03:54:03.774352+00:00 smp-srv01 sshd[21480]: Accepted publickey for smpuser from 10.200.0.20 port 37132 ssh2: ED25519 SHA256:c21q",
		"Nov 22 03:54:41 smp-srv01 sshd[22022]: Failed password for invalid user admin from 10.200.0.2 port 44048 ssh2",
		"Nov 22 03:54:41 smp-srv01 sshd[22021]: Connection closed by authenticating user root 10.200.0.2 port 44040 [preauth]",
		"Nov 22 03:54:41 smp-srv01 sshd[22021]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.200.0.2  user=root",
		"Nov 22 03:54:41 smp-srv01 sudo:  smpuser : 1 incorrect password attempt ; PWD=/home/smpuser ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow",
		"Nov 22 03:54:41 smp-srv01 su[21600]: FAILED SU (to root) smpuser on pts/0",
		"Nov 22 03:54:41 h sshd[5]: message repeated 2 times: [ Failed password for root from 192.0.2.9 port 4 ssh2]",
		"Nov 22 03:54:41 h sshd[1]: Connection from 192.0.2.5 port 6 on 10.0.0.1 port 22",
	}
	if files, _ := filepath.Glob(filepath.Join(authSamples, "*.log")); len(files) > 0 {
		for _, path := range files {
			lines := authReadLines(f, path)
			for i := 0; i < len(lines); i += 7 { // a spread of the real lines
				seeds = append(seeds, lines[i])
			}
		}
	}
	fuzzTextParser(f, ParseAuth, seeds)
}

func TestAuthRelatedOrder(t *testing.T) {
	f := map[string]any{"user.name": "a", "user.effective.name": "a", "auth.pam.ruser": "b", "source.ip": "1.1.1.1"}
	authRelated(f)
	if !reflect.DeepEqual(f["related.user"], []any{"a", "b"}) || !reflect.DeepEqual(f["related.ip"], []any{"1.1.1.1"}) {
		t.Fatalf("related %v %v", f["related.user"], f["related.ip"])
	}
}

func BenchmarkParseAuth(b *testing.B) {
	benchTextParser(b, ParseAuth, []string{
		"2026-11-22T03:54:41.038847+00:00 smp-srv01 sshd[22021]: Failed password for root from 10.200.0.2 port 44040 ssh2",
		"2026-11-22T03:54:03.774352+00:00 smp-srv01 sshd[21480]: Accepted publickey for smpuser from 10.200.0.20 port 37132 ssh2: ED25519 SHA256:c21q5mj+/jqyx7ohFI27s4YTek4Df++qK9LSqzCZIQw",
		"2026-11-22T03:54:38.413041+00:00 smp-srv01 sshd[22021]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.200.0.2  user=root",
		"Nov 22 03:54:41 smp-srv01 sshd[22022]: Connection closed by invalid user admin 10.200.0.2 port 44048 [preauth]",
		"Nov 22 03:54:06 smp-srv01 sudo:  smpuser : 1 incorrect password attempt ; PWD=/home/smpuser ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow",
		"Nov 22 03:54:03 smp-srv01 sshd[21480]: pam_unix(sshd:session): session opened for user smpuser(uid=1001) by (uid=0)",
	})
}
