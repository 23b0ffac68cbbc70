package main

// End-to-end tests of the xdr binary: each starts the real binary as a
// subprocess (see helpers_test.go) and checks what a customer sees.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// 1. First start: the admin password and login.
func TestFirstStart(t *testing.T) {
	t.Parallel()
	t.Run("generated password", func(t *testing.T) {
		t.Parallel()
		n := startNode(t)
		path := filepath.Join(n.dir, "initial-admin-password")
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("initial-admin-password: %v", err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("initial-admin-password has mode %v, want 0600", perm)
		}
		pw := n.adminPassword()
		if len(pw) < 12 {
			t.Errorf("generated password %q is shorter than 12 characters", pw)
		}
		if got := strings.Count(n.stderr(), pw); got != 1 {
			t.Errorf("the generated password appears %d times on stderr, want exactly once", got)
		}
		if st, tok := n.login("admin", pw); st != http.StatusOK || tok == "" {
			t.Errorf("login with the generated password: status %d", st)
		}
		if st, _ := n.login("admin", pw+"x"); st != http.StatusUnauthorized {
			t.Errorf("login with a wrong password: status %d, want 401", st)
		}
		if st, _ := n.login("nobody", pw); st != http.StatusUnauthorized {
			t.Errorf("login as an unknown user: status %d, want 401", st)
		}
	})
	t.Run("XDR_ADMIN_PASSWORD", func(t *testing.T) {
		t.Parallel()
		const pw = "Correct-Horse-Battery-Staple-42"
		n := startNode(t, "XDR_ADMIN_PASSWORD="+pw)
		if st, tok := n.login("admin", pw); st != http.StatusOK || tok == "" {
			t.Errorf("login with $XDR_ADMIN_PASSWORD: status %d", st)
		}
		if st, _ := n.login("admin", "not-"+pw); st != http.StatusUnauthorized {
			t.Errorf("login with a wrong password: status %d, want 401", st)
		}
		if strings.Contains(n.stderr(), pw) {
			t.Errorf("the password from $XDR_ADMIN_PASSWORD appears in the output")
		}
		if _, err := os.Stat(filepath.Join(n.dir, "initial-admin-password")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("initial-admin-password written although the password came from the environment (stat: %v)", err)
		}
	})
}

// 2. Tokens made over the admin socket, their scopes, and CLI failures.
func TestTokenCreate(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ingestTok := n.createToken("shipper", "ingest")
	apiTok := n.createToken("script", "api")

	// The default scope is ingest; flags may follow in any order.
	r := runCLI(t, nil, "token", "create", "--name", "default-scope", "--data-dir", n.dir, "--tenant", "default")
	if r.code != 0 {
		t.Fatalf("token create without --scope: exit %d: %s", r.code, r.stderr)
	}
	defaultTok := lastLine(r.stdout)

	body := ndjson(t, ev{"@timestamp": "2024-01-01T00:00:00Z", "event.code": "tok-test", "message": "hello"})
	for name, tok := range map[string]string{"ingest": ingestTok, "default": defaultTok, "api": apiTok} {
		if st, res, b, err := n.ingest(tok, body, ingestOpts{}); err != nil || st != http.StatusOK || res.Accepted != 1 {
			t.Errorf("ingest with the %s token: status %d, %s, err %v", name, st, b, err)
		}
	}
	for name, tok := range map[string]string{"ingest": ingestTok, "default": defaultTok} {
		if st, _, b := n.mustDo("GET", "/api/v1/events", tok, nil, nil); st != http.StatusForbidden {
			t.Errorf("GET /api/v1/events with the %s-scoped token: status %d (%s), want 403", name, st, b)
		}
	}
	if st, p, b := n.search(apiTok, url.Values{"q": {"event.code:tok-test"}}); st != http.StatusOK || len(p.Events) != 3 {
		t.Errorf("GET /api/v1/events with the api token: status %d, %d events, want 200 and 3: %s", st, len(p.Events), b)
	}
	if st, _, _, err := n.ingest("", body, ingestOpts{}); err != nil || st != http.StatusUnauthorized {
		t.Errorf("ingest without a token: status %d (err %v), want 401", st, err)
	}
	if st, _, _, err := n.ingest("xdrt_not-a-real-token", body, ingestOpts{}); err != nil || st != http.StatusUnauthorized {
		t.Errorf("ingest with an unknown token: status %d (err %v), want 401", st, err)
	}

	oneLineError := func(t *testing.T, what string, r cliResult, wantIn ...string) {
		t.Helper()
		if r.code == 0 {
			t.Errorf("%s: exit status 0, want non-zero (stdout %q)", what, r.stdout)
		}
		msg := strings.TrimRight(r.stderr, "\n")
		if msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("%s: stderr is not one line: %q", what, r.stderr)
		}
		for _, w := range wantIn {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: stderr %q does not mention %q", what, msg, w)
			}
		}
		if strings.TrimSpace(r.stdout) != "" {
			t.Errorf("%s: printed %q on stdout", what, r.stdout)
		}
	}
	t.Run("unknown tenant", func(t *testing.T) {
		r := runCLI(t, nil, "token", "create", "--tenant", "no-such-tenant", "--name", "x", "--data-dir", n.dir)
		oneLineError(t, "token create --tenant no-such-tenant", r, "no-such-tenant")
	})
	t.Run("tenant flag missing", func(t *testing.T) {
		r := runCLI(t, nil, "token", "create", "--name", "x", "--data-dir", n.dir)
		oneLineError(t, "token create without --tenant", r, "--tenant")
	})
	t.Run("bad scope", func(t *testing.T) {
		r := runCLI(t, nil, "token", "create", "--tenant", "default", "--name", "x", "--scope", "root", "--data-dir", n.dir)
		oneLineError(t, "token create --scope root", r, "root")
	})
	t.Run("no node", func(t *testing.T) {
		dir := t.TempDir()
		r := runCLI(t, nil, "token", "create", "--tenant", "default", "--name", "x", "--data-dir", dir)
		oneLineError(t, "token create with no node", r, dir)
	})
	t.Run("node killed, stale socket", func(t *testing.T) {
		n := n.on(t)
		n.kill9()
		r := runCLI(t, nil, "token", "create", "--tenant", "default", "--name", "x", "--data-dir", n.dir)
		oneLineError(t, "token create after kill -9 of the node", r)
	})
}

// queryEvent is one event of TestIngestAndQuery's data set.
type queryEvent struct {
	seq  int
	ts   time.Time
	user string
	ip   string
	msg  string
}

// 3. Ingest with good and bad lines; the query language over the API; limits.
func TestIngestAndQuery(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	tok := n.adminToken()
	ingestTok := n.createToken("shipper", "ingest")

	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	users := []string{"alice", "albert", "bob", "carol"}
	ips := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}
	var all []queryEvent
	line := func(e queryEvent) string {
		// Alternate nested and dotted ECS keys: both normalise to flat names.
		var m ev
		if e.seq%2 == 0 {
			m = ev{"@timestamp": e.ts.Format(time.RFC3339), "source": ev{"ip": e.ip}, "user": ev{"name": e.user},
				"event": ev{"action": "logon"}, "message": e.msg, "seq": e.seq}
		} else {
			m = ev{"@timestamp": e.ts.Format(time.RFC3339Nano), "source.ip": e.ip, "user.name": e.user,
				"event.action": "logon", "message": e.msg, "seq": e.seq}
		}
		return strings.TrimSpace(string(ndjson(t, m)))
	}
	mk := func(seq int) queryEvent {
		e := queryEvent{seq: seq, ts: t0.Add(time.Duration(seq) * time.Minute), user: users[seq%4], ip: ips[seq%3],
			msg: fmt.Sprintf("logon number %d", seq)}
		if seq == 7 {
			e.msg = "a zebrafish swam by"
		}
		all = append(all, e)
		return e
	}

	// Plain batch: 12 good lines, a blank line, and two bad ones.
	var plain []string
	for seq := 0; seq < 12; seq++ {
		switch len(plain) + 1 {
		case 3:
			plain = append(plain, `this is not json`)
		case 6:
			plain = append(plain, `{"@timestamp":"yesterday","user.name":"mallory","seq":99}`)
		case 9:
			plain = append(plain, ``)
		}
		plain = append(plain, line(mk(seq)))
	}
	// Lines 3 and 6 are bad, line 9 is blank (not an error).
	st, res, b, err := n.ingest(ingestTok, []byte(strings.Join(plain, "\n")+"\n"), ingestOpts{})
	if err != nil || st != http.StatusOK {
		t.Fatalf("plain ingest: status %d, err %v: %s", st, err, b)
	}
	checkResult := func(what string, res ingestResult, accepted int, bad map[int]string) {
		t.Helper()
		if res.Accepted != accepted || res.Rejected != len(bad) {
			t.Errorf("%s: accepted %d rejected %d, want %d and %d", what, res.Accepted, res.Rejected, accepted, len(bad))
		}
		got := map[int]string{}
		for _, e := range res.Errors {
			got[e.Line] = e.Reason
		}
		for ln, want := range bad {
			reason, ok := got[ln]
			if !ok {
				t.Errorf("%s: no error reported for line %d (errors: %+v)", what, ln, res.Errors)
			} else if !strings.Contains(strings.ToLower(reason), strings.ToLower(want)) {
				t.Errorf("%s: line %d reason %q does not mention %q", what, ln, reason, want)
			}
		}
		if len(res.Errors) != len(bad) {
			t.Errorf("%s: %d errors reported, want %d: %+v", what, len(res.Errors), len(bad), res.Errors)
		}
	}
	checkResult("plain ingest", res, 12, map[int]string{3: "JSON", 6: "@timestamp"})

	// Gzip batch: 6 good lines, a timestamp out of range and a JSON array.
	var gz []string
	for seq := 12; seq < 18; seq++ {
		switch len(gz) + 1 {
		case 2:
			gz = append(gz, `{"@timestamp":1e30,"seq":98}`)
		case 4:
			gz = append(gz, `[1,2,3]`)
		}
		gz = append(gz, line(mk(seq)))
	}
	st, res, b, err = n.ingest(ingestTok, []byte(strings.Join(gz, "\r\n")), ingestOpts{gzip: true}) // CRLF, no final newline
	if err != nil || st != http.StatusOK {
		t.Fatalf("gzip ingest: status %d, err %v: %s", st, err, b)
	}
	checkResult("gzip ingest", res, 6, map[int]string{2: "@timestamp", 4: "JSON"})

	seqs := func(t testing.TB, evs []map[string]any) []int {
		var out []int
		for _, e := range evs {
			o, _ := e["original"].(map[string]any)
			f, ok := o["seq"].(float64)
			if !ok {
				t.Fatalf("event without original.seq: %v", e)
			}
			out = append(out, int(f))
		}
		return out
	}
	// expect lists the seqs of all matching events, newest first.
	expect := func(pred func(queryEvent) bool) []int {
		var out []int
		for i := len(all) - 1; i >= 0; i-- {
			if pred(all[i]) {
				out = append(out, all[i].seq)
			}
		}
		return out
	}

	t.Run("stored shape", func(t *testing.T) {
		n := n.on(t)
		_, p, _ := n.search(tok, url.Values{"q": {"user.name:bob"}, "limit": {"1"}})
		if len(p.Events) != 1 {
			t.Fatalf("got %d events", len(p.Events))
		}
		e := p.Events[0]
		for k, want := range map[string]string{"tenant": "default", "source": "json", "user.name": "bob",
			"event.action": "logon", "@timestamp": t0.Add(14 * time.Minute).Format(time.RFC3339)} {
			if got := str(e, k); got != want {
				t.Errorf("field %q = %q, want %q (event %v)", k, got, want, e)
			}
		}
		for _, k := range []string{"id", "received", "source.ip", "message"} {
			if str(e, k) == "" {
				t.Errorf("field %q missing (event %v)", k, e)
			}
		}
		if _, ok := e["original"].(map[string]any); !ok {
			t.Errorf("original is not the parsed JSON object: %v", e["original"])
		}
	})

	queries := []struct {
		q    string
		pred func(queryEvent) bool
	}{
		{"", func(queryEvent) bool { return true }},
		{"source.ip:10.0.0.1", func(e queryEvent) bool { return e.ip == "10.0.0.1" }},
		{"user.name:alice", func(e queryEvent) bool { return e.user == "alice" }},
		{"user.name:ALICE", func(e queryEvent) bool { return e.user == "alice" }},
		{"user.name:al*", func(e queryEvent) bool { return strings.HasPrefix(e.user, "al") }},
		{`user.name:"bob"`, func(e queryEvent) bool { return e.user == "bob" }},
		{"user.name:alice AND source.ip:10.0.0.2", func(e queryEvent) bool { return e.user == "alice" && e.ip == "10.0.0.2" }},
		{"user.name:alice source.ip:10.0.0.2", func(e queryEvent) bool { return e.user == "alice" && e.ip == "10.0.0.2" }},
		{"user.name:bob OR user.name:carol", func(e queryEvent) bool { return e.user == "bob" || e.user == "carol" }},
		{"(user.name:bob OR user.name:carol) AND NOT source.ip:10.0.0.1", func(e queryEvent) bool {
			return (e.user == "bob" || e.user == "carol") && e.ip != "10.0.0.1"
		}},
		{"zebrafish", func(e queryEvent) bool { return strings.Contains(e.msg, "zebrafish") }},
		{"ZebraFish user.name:carol", func(e queryEvent) bool { return strings.Contains(e.msg, "zebrafish") && e.user == "carol" }},
		{"zebrafish user.name:alice", func(queryEvent) bool { return false }},
		{"user.name:mallory", func(queryEvent) bool { return false }},
		{"original.seq:5", func(e queryEvent) bool { return e.seq == 5 }},
	}
	t.Run("queries", func(t *testing.T) {
		n := n.on(t)
		for _, c := range queries {
			got := seqs(t, n.searchAll(tok, c.q, 1000, nil))
			if want := expect(c.pred); !slices.Equal(got, want) {
				t.Errorf("q=%q: got seqs %v, want %v", c.q, got, want)
			}
		}
	})

	t.Run("time range", func(t *testing.T) {
		n := n.on(t)
		from, to := t0.Add(3*time.Minute), t0.Add(7*time.Minute)
		extra := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
		got := seqs(t, n.searchAll(tok, "", 1000, extra))
		want := expect(func(e queryEvent) bool { return !e.ts.Before(from) && !e.ts.After(to) })
		if !slices.Equal(got, want) {
			t.Errorf("from %s to %s: got %v, want %v (both bounds inclusive)", from, to, got, want)
		}
		got = seqs(t, n.searchAll(tok, "user.name:alice", 1000, url.Values{"from": {from.Format(time.RFC3339)}}))
		want = expect(func(e queryEvent) bool { return e.user == "alice" && !e.ts.Before(from) })
		if !slices.Equal(got, want) {
			t.Errorf("alice from %s: got %v, want %v", from, got, want)
		}
		if st, _, b := n.search(tok, url.Values{"from": {"last tuesday"}}); st != http.StatusBadRequest {
			t.Errorf("from=last tuesday: status %d (%s), want 400", st, b)
		}
	})

	t.Run("pagination", func(t *testing.T) {
		n := n.on(t)
		for _, c := range []struct {
			q     string
			limit int
			pred  func(queryEvent) bool
		}{
			{"", 5, func(queryEvent) bool { return true }},
			{"", 1, func(queryEvent) bool { return true }},
			{"", 6, func(queryEvent) bool { return true }}, // 18 = 3 full pages
			{"source.ip:10.0.0.1", 2, func(e queryEvent) bool { return e.ip == "10.0.0.1" }},
			{"logon", 4, func(queryEvent) bool { return true }}, // a scan, not an index
		} {
			evs := n.searchAll(tok, c.q, c.limit, nil)
			got := seqs(t, evs)
			if want := expect(c.pred); !slices.Equal(got, want) {
				t.Errorf("q=%q limit=%d: pages gave %v, want %v (each once, newest first)", c.q, c.limit, got, want)
			}
			for i := 1; i < len(evs); i++ {
				if str(evs[i-1], "@timestamp") < str(evs[i], "@timestamp") {
					t.Errorf("q=%q: not newest first at %d", c.q, i)
				}
			}
		}
		if st, _, b := n.search(tok, url.Values{"cursor": {"garbage"}}); st != http.StatusBadRequest {
			t.Errorf("cursor=garbage: status %d (%s), want 400", st, b)
		}
		if st, _, b := n.search(tok, url.Values{"limit": {"0"}}); st != http.StatusBadRequest {
			t.Errorf("limit=0: status %d (%s), want 400", st, b)
		}
	})

	t.Run("syntax errors", func(t *testing.T) {
		n := n.on(t)
		for q, pos := range map[string]string{
			"user.name:alice )":     "position 17",
			`user.name:"unfinished`: "position",
			"(user.name:alice":      "position",
			"user.name:alice AND":   "position",
		} {
			st, _, b := n.search(tok, url.Values{"q": {q}})
			var e struct{ Error string }
			json.Unmarshal(b, &e) //nolint:errcheck // checked below
			if st != http.StatusBadRequest || !strings.Contains(e.Error, pos) {
				t.Errorf("q=%q: status %d, error %q; want 400 with %q", q, st, e.Error, pos)
			}
		}
	})

	t.Run("limits", func(t *testing.T) {
		n := n.on(t)
		mib := int64(1 << 20)
		check413 := func(what string, st int, b []byte, err error) {
			t.Helper()
			if err != nil {
				t.Errorf("%s: %v, want a 413 answer", what, err)
				return
			}
			var e struct{ Error string }
			if st != http.StatusRequestEntityTooLarge || json.Unmarshal(b, &e) != nil || e.Error == "" {
				t.Errorf("%s: status %d, body %.200q; want 413 with an error message", what, st, b)
			}
		}
		// One line just over 1 MiB.
		long := bytes.Repeat([]byte("x"), int(mib)+100)
		st, _, b, err := n.ingest(ingestTok, append(append([]byte(`{"message":"`), long...), `"}`+"\n"...), ingestOpts{})
		check413("a line over 1 MiB", st, b, err)

		// A line of exactly 1 MiB is within the limit.
		exact := []byte(`{"event.code":"exact-mib","message":"`)
		exact = append(exact, bytes.Repeat([]byte("y"), int(mib)-len(exact)-2)...)
		exact = append(exact, `"}`...)
		if len(exact) != int(mib) {
			t.Fatalf("built a line of %d bytes", len(exact))
		}
		st, res, b, err := n.ingest(ingestTok, append(exact, '\n'), ingestOpts{})
		if err != nil || st != http.StatusOK || res.Accepted != 1 {
			t.Errorf("a line of exactly 1 MiB: status %d, err %v, %.300s; want it accepted", st, err, b)
		}

		// A body over 32 MiB, streamed: the server refuses it once it has
		// read past the limit.
		body := &lineStream{total: 32*mib + 100<<10, line: func(i int) []byte {
			return fmt.Appendf(nil, `{"event.code":"too-big","message":"%0900d"}`+"\n", i)
		}}
		st, _, b, err = n.do("POST", "/api/v1/ingest/json", ingestTok, body, nil)
		check413("a 32 MiB+ body", st, b, err)

		// A small gzip body that inflates past 32 MiB.
		pr, pw := io.Pipe()
		go func() {
			zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
			_, err := io.Copy(zw, &lineStream{total: 40 * mib, line: func(i int) []byte {
				return []byte(`{"event.code":"too-big","message":"` + strings.Repeat("z", 1000) + `"}` + "\n")
			}})
			if err == nil {
				err = zw.Close()
			}
			pw.CloseWithError(err)
		}()
		st, _, b, err = n.do("POST", "/api/v1/ingest/json", ingestTok, pr, map[string]string{"Content-Encoding": "gzip"})
		pr.Close()
		check413("a gzip body inflating past 32 MiB", st, b, err)

		if c := n.count(tok, "event.code:too-big"); c != 0 {
			t.Errorf("%d events of refused bodies were stored", c)
		}
		// Nothing of the refused requests changed the data set.
		got := seqs(t, n.searchAll(tok, "NOT event.code:exact-mib", 1000, nil))
		if want := expect(func(queryEvent) bool { return true }); !slices.Equal(got, want) {
			t.Errorf("after refused bodies: %v, want %v", got, want)
		}
	})
}

// lineStream is a body of generated lines, about total bytes long, produced
// as it is read so a test never holds it whole.
type lineStream struct {
	total   int64
	line    func(i int) []byte
	n       int64
	i       int
	pending []byte
	// gateAt, when set, makes Read stop once gateAt bytes are out: it
	// closes reached and waits for open.
	gateAt        int64
	reached, open chan struct{}
}

func (s *lineStream) Read(p []byte) (int, error) {
	if len(s.pending) == 0 {
		if s.n >= s.total {
			return 0, io.EOF
		}
		if s.gateAt > 0 && s.n >= s.gateAt {
			close(s.reached)
			<-s.open
			s.gateAt = 0
		}
		s.pending = s.line(s.i)
		s.i++
	}
	c := copy(p, s.pending)
	s.pending = s.pending[c:]
	s.n += int64(c)
	return c, nil
}

// 4. Persistence across a clean restart.
func TestPersistence(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	pw := n.adminPassword()
	ingestTok := n.createToken("shipper", "ingest")
	apiTok := n.createToken("script", "api")
	var lines []ev
	for i := 0; i < 250; i++ {
		lines = append(lines, ev{"@timestamp": time.Date(2024, 2, 1, 0, 0, i, 0, time.UTC).Format(time.RFC3339),
			"event.code": "persist", "user.name": fmt.Sprintf("user%03d", i)})
	}
	n.mustIngest(ingestTok, ndjson(t, lines[:100]...), ingestOpts{})
	n.mustIngest(ingestTok, ndjson(t, lines[100:]...), ingestOpts{gzip: true})
	before := n.searchAll(apiTok, "event.code:persist", 1000, nil)
	if len(before) != 250 {
		t.Fatalf("before restart: %d events, want 250", len(before))
	}

	n.stop()
	n.restart()

	if strings.Contains(n.stderr(), pw) {
		t.Errorf("the admin password was printed again on restart")
	}
	if got := n.adminPassword(); got != pw {
		t.Errorf("initial-admin-password changed on restart")
	}
	after := n.searchAll(apiTok, "event.code:persist", 1000, nil)
	if len(after) != len(before) {
		t.Errorf("after restart: %d events, want %d", len(after), len(before))
	}
	for i := range min(len(before), len(after)) {
		if str(before[i], "id") != str(after[i], "id") || str(before[i], "user.name") != str(after[i], "user.name") {
			t.Errorf("event %d differs after restart: %v vs %v", i, before[i], after[i])
			break
		}
	}
	if c := n.count(apiTok, "user.name:user042"); c != 1 {
		t.Errorf("index lookup after restart: %d events, want 1", c)
	}
	if st, tok := n.login("admin", pw); st != http.StatusOK || tok == "" {
		t.Errorf("login after restart: status %d", st)
	}
	n.mustIngest(ingestTok, ndjson(t, ev{"event.code": "persist-2"}), ingestOpts{})
	if c := n.count(apiTok, "event.code:persist-2"); c != 1 {
		t.Errorf("ingest with the old token after restart: %d events stored, want 1", c)
	}
}

// 5. kill -9 while batches are acknowledged loses none of them and stores
// none twice.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ingestTok := n.createToken("shipper", "ingest")
	apiTok := n.createToken("script", "api")

	const batchSize, workers = 200, 4
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	batch := func(w, b int) []byte {
		var buf bytes.Buffer
		for i := 0; i < batchSize; i++ {
			ts := base.Add(time.Duration(w*10_000_000+b*batchSize+i) * time.Millisecond)
			fmt.Fprintf(&buf, `{"@timestamp":%q,"event.code":"crash-%d-%d","user.name":"u%d","message":"crash test line %d"}`+"\n",
				ts.Format(time.RFC3339Nano), w, b, i, i)
		}
		return buf.Bytes()
	}
	var (
		mu    sync.Mutex
		acked = map[string]bool{} // batch key -> answered 2xx
		tried = map[string][]byte{}
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				key, body := fmt.Sprintf("crash-%d-%d", w, b), batch(w, b)
				mu.Lock()
				tried[key] = body
				mu.Unlock()
				st, res, raw, err := n.ingest(ingestTok, body, ingestOpts{idemKey: key})
				if err != nil {
					return // the node is gone
				}
				if st/100 == 2 {
					if res.Accepted != batchSize {
						t.Errorf("batch %s: accepted %d: %s", key, res.Accepted, raw)
					}
					mu.Lock()
					acked[key] = true
					mu.Unlock()
				} else if st != http.StatusTooManyRequests && st != http.StatusServiceUnavailable {
					t.Errorf("batch %s: status %d: %s", key, st, raw)
					return
				}
			}
		}()
	}
	nAcked := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	deadline := time.Now().Add(30 * time.Second)
	for nAcked() < 20 {
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("only %d batches acknowledged in 30 s", nAcked())
		}
		time.Sleep(pollInterval)
	}
	n.kill9()
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("killed with %d of %d batches acknowledged", len(acked), len(tried))

	n.restart()

	verify := func() (lost, partial []string) {
		for key := range tried {
			c := n.count(apiTok, "event.code:"+key)
			switch {
			case acked[key] && c != batchSize:
				lost = append(lost, fmt.Sprintf("%s (%d of %d)", key, c, batchSize))
			case c != 0 && c != batchSize:
				partial = append(partial, fmt.Sprintf("%s (%d of %d)", key, c, batchSize))
			}
		}
		sort.Strings(lost)
		sort.Strings(partial)
		return lost, partial
	}
	lost, partial := verify()
	if len(lost) > 0 {
		// Tell a lost write from one that is only late to become visible.
		start := time.Now()
		for time.Since(start) < 10*time.Second && len(lost) > 0 {
			time.Sleep(500 * time.Millisecond)
			lost, partial = verify()
		}
		if len(lost) == 0 {
			t.Errorf("acknowledged batches were missing right after /healthz/ready and appeared %v later: ready reports caught up too early", time.Since(start).Round(time.Millisecond))
		} else {
			t.Errorf("acknowledged batches lost after kill -9: %v", lost)
		}
	}
	if len(partial) > 0 {
		t.Errorf("unacknowledged batches stored in part: %v", partial)
	}

	// Retrying the unacknowledged batches with their key stores each once.
	for key, body := range tried {
		if acked[key] {
			continue
		}
		st, _, raw, err := n.ingest(ingestTok, body, ingestOpts{idemKey: key})
		if err != nil || st != http.StatusOK {
			t.Errorf("retry %s: status %d, err %v: %s", key, st, err, raw)
		}
	}
	// And so does retrying an acknowledged one.
	for key := range acked {
		n.mustIngest(ingestTok, tried[key], ingestOpts{idemKey: key})
		break
	}
	for key := range tried {
		if c := n.count(apiTok, "event.code:"+key); c != batchSize {
			t.Errorf("after retries: batch %s has %d events, want %d", key, c, batchSize)
		}
	}
	if c := n.count(apiTok, "event.code:crash-*"); c != batchSize*len(tried) {
		t.Errorf("after retries: %d crash events in all, want %d", c, batchSize*len(tried))
	}
}

// 6. SIGTERM lets an ingest request in flight finish, then exits 0.
func TestSIGTERMDrains(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ingestTok := n.createToken("shipper", "ingest")
	apiTok := n.createToken("script", "api")

	const mib = 1 << 20
	body := &lineStream{
		total: 24 * mib, gateAt: 4 * mib, reached: make(chan struct{}), open: make(chan struct{}),
		line: func(i int) []byte {
			return fmt.Appendf(nil, `{"@timestamp":"2024-04-01T00:00:00Z","event.code":"drain","user.name":"u%d","message":"%0500d"}`+"\n", i, i)
		},
	}
	type answer struct {
		st  int
		b   []byte
		err error
	}
	ansc := make(chan answer, 1)
	go func() {
		st, _, b, err := n.do("POST", "/api/v1/ingest/json", ingestTok, body, map[string]string{"Idempotency-Key": "drain-1"})
		ansc <- answer{st, b, err}
	}()
	select {
	case <-body.reached:
	case a := <-ansc:
		t.Fatalf("the request ended before it was in flight: %d %s %v", a.st, a.b, a.err)
	case <-time.After(30 * time.Second):
		t.Fatal("the request body was not read")
	}

	n.signal(syscall.SIGTERM)
	termAt := time.Now()
	// Shutdown has begun once the listener refuses new connections.
	for {
		c, err := net.DialTimeout("tcp", n.http, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Since(termAt) > 10*time.Second {
			close(body.open)
			t.Fatal("the HTTP listener still accepts connections 10 s after SIGTERM")
		}
		time.Sleep(pollInterval)
	}
	close(body.open)

	var a answer
	select {
	case a = <-ansc:
	case <-time.After(60 * time.Second):
		t.Fatal("no answer to the in-flight request within 60 s")
	}
	var res ingestResult
	if a.err != nil {
		t.Errorf("in-flight request during SIGTERM: %v, want its 2xx answer", a.err)
	} else if a.st/100 != 2 {
		t.Errorf("in-flight request during SIGTERM: status %d: %.300s, want 2xx", a.st, a.b)
	} else if err := json.Unmarshal(a.b, &res); err != nil || res.Accepted != body.i || res.Rejected != 0 {
		t.Errorf("in-flight request: %.300s (err %v), want all %d lines accepted", a.b, err, body.i)
	}
	code := n.wait(exitTimeout)
	t.Logf("in-flight request answered %d (%d lines accepted); exit %d %v after SIGTERM", a.st, res.Accepted, code, time.Since(termAt).Round(time.Millisecond))
	if took := time.Since(termAt); took > shutdownGrace+5*time.Second {
		t.Errorf("exit took %v after SIGTERM, longer than the grace period %v", took, shutdownGrace)
	}
	if code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	if a.err != nil || a.st/100 != 2 {
		return
	}
	n.restart()
	if c := n.count(apiTok, "event.code:drain"); c != res.Accepted {
		t.Errorf("after restart: %d events of the drained request, want the %d acknowledged", c, res.Accepted)
	}
}

// 7. The same body with the same Idempotency-Key is stored once.
func TestIdempotency(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ingestTok := n.createToken("shipper", "ingest")
	apiTok := n.createToken("script", "api")

	var timed, untimed []ev
	for i := 0; i < 10; i++ {
		timed = append(timed, ev{"@timestamp": time.Date(2024, 6, 1, 0, 0, i, 0, time.UTC).Format(time.RFC3339),
			"event.code": "idem-timed", "user.name": fmt.Sprintf("u%d", i)})
		untimed = append(untimed, ev{"event.code": "idem-untimed", "user.name": fmt.Sprintf("u%d", i)})
	}

	t.Run("with @timestamp", func(t *testing.T) {
		n := n.on(t)
		body := ndjson(t, timed...)
		n.mustIngest(ingestTok, body, ingestOpts{idemKey: "batch-timed"})
		n.mustIngest(ingestTok, body, ingestOpts{idemKey: "batch-timed"})
		n.mustIngest(ingestTok, body, ingestOpts{idemKey: "batch-timed", gzip: true})
		if c := n.count(apiTok, "event.code:idem-timed"); c != 10 {
			t.Errorf("same body and key three times: %d events stored, want 10", c)
		}
		// A different key is a different batch.
		n.mustIngest(ingestTok, body, ingestOpts{idemKey: "batch-timed-2"})
		if c := n.count(apiTok, "event.code:idem-timed"); c != 20 {
			t.Errorf("same body under a second key: %d events stored, want 20", c)
		}
	})
	t.Run("without @timestamp", func(t *testing.T) {
		n := n.on(t)
		body := ndjson(t, untimed...)
		n.mustIngest(ingestTok, body, ingestOpts{idemKey: "batch-untimed"})
		n.mustIngest(ingestTok, body, ingestOpts{idemKey: "batch-untimed"})
		if c := n.count(apiTok, "event.code:idem-untimed"); c != 10 {
			t.Errorf("same body (lines without @timestamp) and key twice: %d events stored, want 10", c)
		}
	})
}

// 8. Security headers, and /metrics.
func TestHeadersAndMetrics(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ingestTok := n.createToken("shipper", "ingest")
	apiTok := n.createToken("script", "api")

	checkHeaders := func(what string, h http.Header) {
		t.Helper()
		csp := h.Get("Content-Security-Policy")
		if csp == "" || !strings.Contains(csp, "default-src") {
			t.Errorf("%s: Content-Security-Policy %q, want a policy with default-src", what, csp)
		}
		for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*"} {
			if strings.Contains(csp, bad) {
				t.Errorf("%s: Content-Security-Policy %q allows %s", what, csp, bad)
			}
		}
		if got := h.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options %q, want DENY", what, got)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q, want nosniff", what, got)
		}
	}
	st, h, _ := n.mustDo("GET", "/", "", nil, nil)
	t.Logf("GET / answered %d (%s)", st, h.Get("Content-Type"))
	checkHeaders("page GET /", h)
	st, h, _ = n.mustDo("GET", "/api/v1/events", apiTok, nil, nil)
	if st != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("GET /api/v1/events: %d %q", st, h.Get("Content-Type"))
	}
	checkHeaders("API GET /api/v1/events", h)
	_, h, _ = n.mustDo("GET", "/api/v1/events", "", nil, nil)
	checkHeaders("API error answer", h)
	if st, _, b := n.mustDo("GET", "/healthz/live", "", nil, nil); st != http.StatusOK {
		t.Errorf("/healthz/live without a token: %d %s, want 200", st, b)
	}

	t.Run("fresh node", func(t *testing.T) {
		n := n.on(t)
		// Before the first event the counter is already exported (at 0),
		// so dashboards and rate() alerts work from the start.
		st, _, b := n.mustDo("GET", "/metrics", apiTok, nil, nil)
		if st != http.StatusOK || !bytes.Contains(b, []byte("# TYPE xdr_events_accepted_total counter")) {
			t.Errorf("/metrics of a node that has not ingested yet: status %d, no xdr_events_accepted_total", st)
		}
	})
	n.mustIngest(ingestTok, ndjson(t, ev{"event.code": "m"}, ev{"event.code": "m"}, ev{"event.code": "m"}), ingestOpts{})
	if st, _, _ := n.mustDo("GET", "/metrics", "", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("/metrics without a token: %d, want 401", st)
	}
	if st, _, _ := n.mustDo("GET", "/metrics", ingestTok, nil, nil); st != http.StatusForbidden {
		t.Errorf("/metrics with an ingest token: %d, want 403", st)
	}
	st, h, b := n.mustDo("GET", "/metrics", apiTok, nil, nil)
	if st != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Errorf("/metrics with an api token: %d %q, want 200 text/plain", st, h.Get("Content-Type"))
	}
	if !bytes.Contains(b, []byte("# TYPE xdr_events_accepted_total counter")) ||
		!bytes.Contains(b, []byte(`xdr_events_accepted_total{source="json"} 3`)) {
		t.Errorf("/metrics has no xdr_events_accepted_total counter of 3:\n%.2000s", b)
	}
}

// 9. The CLI surface.
func TestCLI(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "xdr ") {
		t.Errorf("xdr version: exit %d, stdout %q; want 0 and a line starting with \"xdr \"", r.code, r.stdout)
	}
	if r = runCLI(t, nil, "frobnicate"); r.code == 0 || !strings.Contains(r.stderr, "frobnicate") {
		t.Errorf("xdr frobnicate: exit %d, stderr %q; want non-zero naming the command", r.code, r.stderr)
	}
	if r = runCLI(t, nil); r.code == 0 {
		t.Errorf("xdr with no command: exit 0")
	}
	dir := filepath.Join(t.TempDir(), "data")
	r = runCLI(t, nil, "serve", "--data-dir", dir, "--log-level", "nope")
	if r.code == 0 || !strings.Contains(lastLine(r.stderr), "log-level") {
		t.Errorf("serve --log-level nope: exit %d, stderr %q; want non-zero naming log-level", r.code, r.stderr)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve with a bad config created its data dir")
	}
	r = runCLI(t, []string{"XDR_LOG_LEVEL=nope"}, "serve", "--data-dir", dir)
	if r.code == 0 || !strings.Contains(lastLine(r.stderr), "log-level") {
		t.Errorf("XDR_LOG_LEVEL=nope serve: exit %d, stderr %q; want non-zero naming log-level", r.code, r.stderr)
	}
	cfg := filepath.Join(t.TempDir(), "xdr.toml")
	os.WriteFile(cfg, []byte("http = \"127.0.0.1:1\"\nno_such_setting = true\n"), 0o600) //nolint:errcheck
	r = runCLI(t, nil, "serve", "--config", cfg, "--data-dir", dir)
	if r.code == 0 || !strings.Contains(lastLine(r.stderr), "no_such_setting") {
		t.Errorf("serve with an unknown config key: exit %d, stderr %q; want non-zero naming the key", r.code, r.stderr)
	}
}

// Edge cases of ingest and of running the binary: malformed bodies, the line
// count limit, identical timestamps across pages, a reused Idempotency-Key
// with a different body, and a second node on a data dir in use.
func TestIngestEdgeCases(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ingestTok := n.createToken("shipper", "ingest")
	apiTok := n.createToken("script", "api")
	total := func(n *node) int { return n.count(apiTok, "") }

	t.Run("malformed bodies", func(t *testing.T) {
		n := n.on(t)
		before := total(n)
		good := ndjson(t, ev{"event.code": "edge-bad"}, ev{"event.code": "edge-bad"})
		st, _, b := n.mustDo("POST", "/api/v1/ingest/no-such-source", ingestTok, bytes.NewReader(good), nil)
		if st != http.StatusBadRequest {
			t.Errorf("unknown source: status %d (%s), want 400", st, b)
		}
		st, _, b = n.mustDo("POST", "/api/v1/ingest/json", ingestTok, bytes.NewReader(good), map[string]string{"Content-Encoding": "gzip"})
		if st != http.StatusBadRequest {
			t.Errorf("Content-Encoding gzip on a plain body: status %d (%s), want 400", st, b)
		}
		st, _, b = n.mustDo("POST", "/api/v1/ingest/json", ingestTok, bytes.NewReader(good), map[string]string{"Content-Encoding": "br"})
		if st != http.StatusBadRequest && st != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Encoding br: status %d (%s), want 400 or 415", st, b)
		}
		// A gzip stream cut short: the lines read before the cut must not
		// be acknowledged as if the body were whole.
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		for i := 0; i < 2000; i++ {
			fmt.Fprintf(zw, `{"event.code":"edge-bad","message":"line %d of a body that is cut short"}`+"\n", i)
		}
		zw.Close()
		cut := zb.Bytes()[:zb.Len()*2/3]
		st, _, b = n.mustDo("POST", "/api/v1/ingest/json", ingestTok, bytes.NewReader(cut), map[string]string{"Content-Encoding": "gzip"})
		if st != http.StatusBadRequest {
			t.Errorf("truncated gzip body: status %d (%.200s), want 400", st, b)
		}
		if got := total(n); got != before {
			t.Errorf("malformed bodies stored %d events", got-before)
		}
	})

	t.Run("too many lines", func(t *testing.T) {
		n := n.on(t)
		before := total(n)
		body := bytes.Repeat([]byte(`{"event.code":"edge-lines"}`+"\n"), 100_001)
		st, _, b, err := n.ingest(ingestTok, body, ingestOpts{})
		if err != nil || st != http.StatusRequestEntityTooLarge {
			t.Errorf("100001 lines: status %d, err %v (%.200s), want 413", st, err, b)
		}
		if got := total(n); got != before {
			t.Errorf("a refused batch stored %d events", got-before)
		}
	})

	t.Run("identical timestamps across pages", func(t *testing.T) {
		n := n.on(t)
		var lines []ev
		for i := 0; i < 25; i++ {
			lines = append(lines, ev{"@timestamp": "2024-07-01T00:00:00Z", "event.code": "edge-same-ts", "user.name": fmt.Sprintf("s%02d", i)})
		}
		n.mustIngest(ingestTok, ndjson(t, lines...), ingestOpts{})
		// And lines without @timestamp, which all get the receive time.
		var untimed []ev
		for i := 0; i < 25; i++ {
			untimed = append(untimed, ev{"event.code": "edge-no-ts", "user.name": fmt.Sprintf("n%02d", i)})
		}
		n.mustIngest(ingestTok, ndjson(t, untimed...), ingestOpts{})
		for _, q := range []string{"event.code:edge-same-ts", "event.code:edge-no-ts"} {
			for _, limit := range []int{1, 4, 25} {
				evs := n.searchAll(apiTok, q, limit, nil)
				seen := map[string]int{}
				for _, e := range evs {
					seen[str(e, "user.name")]++
				}
				if len(evs) != 25 || len(seen) != 25 {
					t.Errorf("q=%q limit=%d: %d events, %d distinct; want 25 each once", q, limit, len(evs), len(seen))
				}
			}
		}
	})

	t.Run("reused key with a different body", func(t *testing.T) {
		n := n.on(t)
		// A shipper reuses an Idempotency-Key for other events (a counter
		// reset by its restart). The first, acknowledged events must not be
		// silently replaced: either the second batch is refused or both are
		// kept.
		first := ndjson(t, ev{"@timestamp": "2024-08-01T00:00:00Z", "event.code": "edge-reuse", "user.name": "first-batch"})
		second := ndjson(t, ev{"@timestamp": "2024-08-01T00:00:00Z", "event.code": "edge-reuse", "user.name": "second-batch"})
		n.mustIngest(ingestTok, first, ingestOpts{idemKey: "shipper-1"})
		st, _, b, err := n.ingest(ingestTok, second, ingestOpts{idemKey: "shipper-1"})
		if err != nil {
			t.Fatal(err)
		}
		if c := n.count(apiTok, "user.name:first-batch"); c != 1 {
			t.Errorf("the acknowledged event of the first batch: %d stored after a second batch reused its key (second answered %d %s), want 1", c, st, bytes.TrimSpace(b))
		}
		if st/100 == 2 {
			if c := n.count(apiTok, "user.name:second-batch"); c != 1 {
				t.Errorf("the second batch was acknowledged but %d of its 1 event is stored", c)
			}
		}
	})

	t.Run("second node on the same data dir", func(t *testing.T) {
		n := n.on(t)
		r := runCLI(t, nil, "serve", "--data-dir", n.dir, "--http", freeAddr(t), "--cluster-addr", freeAddr(t), "--gossip-addr", freeAddr(t))
		if r.code == 0 {
			t.Errorf("a second xdr serve on a data dir in use exited 0")
		}
		t.Logf("second serve: exit %d, last line %q", r.code, lastLine(r.stderr))
		// The running node is undisturbed: its admin socket and API work.
		n.createToken("after-second-serve", "ingest")
		if st, _, b := n.mustDo("GET", "/healthz/ready", "", nil, nil); st != http.StatusOK {
			t.Errorf("first node not ready after the second start failed: %d %s", st, b)
		}
	})
}
