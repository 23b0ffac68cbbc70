package main

// Helpers of the end-to-end tests: they build the real binary once, run it
// as a subprocess on loopback ports with a temporary data dir, and talk to it
// over HTTP and the CLI exactly as a customer would.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// xdrBin is the binary built by TestMain.
var xdrBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "xdr-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	xdrBin = filepath.Join(dir, "xdr")
	build := exec.Command("go", "build", "-o", xdrBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build failed:", err)
		return 1
	}
	return m.Run()
}

// Deadlines of the polling helpers.
const (
	readyTimeout = 45 * time.Second
	exitTimeout  = 40 * time.Second // > shutdownGrace
	pollInterval = 25 * time.Millisecond
)

// baseEnv is the test process's environment without any XDR_* variable, so
// the developer's shell cannot change what the binary under test sees.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDR_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// freeAddr returns a loopback address whose TCP port was free a moment ago.
func freeAddr(t testing.TB) string { t.Helper(); return freePort(t, "tcp") }

// freeUDPAddr returns a loopback address whose UDP port was free a moment
// ago: a free TCP port may be taken for UDP.
func freeUDPAddr(t testing.TB) string { t.Helper(); return freePort(t, "udp") }

func freePort(t testing.TB, network string) string {
	t.Helper()
	var addr net.Addr
	var err error
	if network == "udp" {
		var c net.PacketConn
		if c, err = net.ListenPacket(network, "127.0.0.1:0"); err == nil {
			addr = c.LocalAddr()
			c.Close()
		}
	} else {
		var ln net.Listener
		if ln, err = net.Listen(network, "127.0.0.1:0"); err == nil {
			addr = ln.Addr()
			ln.Close()
		}
	}
	if err != nil {
		t.Fatalf("pick a free %s port: %v", network, err)
	}
	return addr.String()
}

// node is one `xdr serve` subprocess and the data dir it owns. A node can be
// stopped and started again on the same data dir. Its helpers report
// failures to t; a subtest uses n.on(t).
type node struct {
	t testing.TB
	*proc
}

// on returns the same node reporting to t (a subtest).
func (n *node) on(t testing.TB) *node { return &node{t: t, proc: n.proc} }

// proc is the state a node's views share.
type proc struct {
	dir      string // data dir
	logDir   string
	env      []string
	args     []string        // extra flags for xdr serve
	ports    func() []string // picks ports of its own for more flags, see startNodePicking
	portArgs []string        // what ports returned for the current ports
	http     string          // host:port of the HTTP listener
	cluster  string
	gossip   string
	client   *http.Client

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	state   *os.ProcessState
	starts  int
	logPath string // stderr+stdout of the current process
}

// startNode starts `xdr serve` on a new temporary data dir and waits until it
// is ready. env entries ("K=V") are added to the environment.
func startNode(t testing.TB, env ...string) *node {
	t.Helper()
	return startNodeWith(t, nil, env...)
}

// startNodeWith is startNode with extra flags for xdr serve.
func startNodeWith(t testing.TB, args []string, env ...string) *node {
	t.Helper()
	return startNodeIn(t, filepath.Join(t.TempDir(), "data"), args, env...)
}

// startNodeIn is startNodeWith on the data dir dir (a restored one, say).
func startNodeIn(t testing.TB, dir string, args []string, env ...string) *node {
	t.Helper()
	n := newNode(t, dir, args, env...)
	n.start(false)
	return n
}

// startNodePicking is startNode with flags that name ports of their own
// (syslog listeners, say): ports picks them (freeAddr, freeUDPAddr) and
// returns the flags, and is called again whenever the node's ports are
// picked again, after a port was taken.
func startNodePicking(t testing.TB, ports func() []string, env ...string) *node {
	t.Helper()
	n := newNode(t, filepath.Join(t.TempDir(), "data"), nil, env...)
	n.ports = ports
	n.start(false)
	return n
}

// newNode is a node not started yet, stopped when the test ends.
func newNode(t testing.TB, dir string, args []string, env ...string) *node {
	n := &node{t: t, proc: &proc{dir: dir, logDir: t.TempDir(), env: baseEnv(env...), args: args}}
	n.client = &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	t.Cleanup(n.cleanup)
	return n
}

// restart starts the node again on the same data dir (it must have exited),
// on the same ports when they are still free.
func (n *node) restart() {
	n.t.Helper()
	select {
	case <-n.done:
	default:
		n.t.Fatalf("restart: the node is still running")
	}
	n.start(true)
}

func (n *node) start(keepPorts bool) {
	n.t.Helper()
	// A first start that failed on a taken port may have written to its
	// new data dir (the generated admin password, printed once): the next
	// attempt starts on an empty dir again, as a first start.
	_, err := os.Stat(n.dir)
	fresh := errors.Is(err, os.ErrNotExist)
	first := true
	err = retryOnBind(n.t, func() error {
		if fresh && !first {
			if err := os.RemoveAll(n.dir); err != nil {
				return err
			}
		}
		if !keepPorts || !first || n.http == "" {
			n.http, n.cluster, n.gossip = freeAddr(n.t), freeAddr(n.t), freeAddr(n.t)
			if n.ports != nil {
				n.portArgs = n.ports()
			}
		}
		first = false
		return n.spawn()
	})
	if err != nil {
		n.t.Fatalf("start xdr serve: %v", err)
	}
}

// errBind is why a node that exited before it was ready did when a port it
// was given had been taken.
var errBind = errors.New("address already in use")

// bindAttempts is how many sets of ports retryOnBind tries.
const bindAttempts = 4

// retryOnBind calls start until it returns anything but errBind, at most
// bindAttempts times, and returns its last error. start picks its ports
// anew (freeAddr) on each call: a port picked free can be taken by a
// parallel test before the node binds it.
func retryOnBind(t testing.TB, start func() error) error {
	t.Helper()
	for i := 1; ; i++ {
		err := start()
		if err == nil || !errors.Is(err, errBind) || i == bindAttempts {
			return err
		}
		t.Logf("port taken, retrying with other ports: %v", err)
	}
}

// servingLine is what `xdr serve` prints once its listeners are bound.
const servingLine = "Mini-XDR is running: open "

// waitServing waits until the process writing logPath has bound its
// listeners and ready reports true; done is closed when the process exits,
// and then state is its exit state.
func waitServing(done <-chan struct{}, logPath string, state func() *os.ProcessState, ready func() bool) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			return exitedBeforeReady(logPath, state())
		default:
		}
		// Until the process has bound its port, whatever answers there is
		// another test's node that took the port first.
		if log, _ := os.ReadFile(logPath); bytes.Contains(log, []byte(servingLine)) && ready() {
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("not ready within %v; output:\n%s", readyTimeout, log)
		}
		time.Sleep(pollInterval)
	}
}

// exitedBeforeReady says why a process that wrote logPath exited before it
// was ready: errBind when a port it was given was taken.
func exitedBeforeReady(logPath string, state *os.ProcessState) error {
	log, _ := os.ReadFile(logPath)
	if bytes.Contains(log, []byte("address already in use")) {
		return fmt.Errorf("%w: %s", errBind, lastLine(string(log)))
	}
	return fmt.Errorf("xdr serve exited (%v) before it was ready; output:\n%s", state, log)
}

// spawn runs the binary and waits for /healthz/ready.
func (n *node) spawn() error {
	n.mu.Lock()
	n.starts++
	n.logPath = filepath.Join(n.logDir, fmt.Sprintf("stderr-%d.log", n.starts))
	n.mu.Unlock()
	logf, err := os.Create(n.logPath)
	if err != nil {
		return err
	}
	args := []string{"serve", "--data-dir", n.dir, "--http", n.http, "--cluster-addr", n.cluster, "--gossip-addr", n.gossip}
	cmd := exec.Command(xdrBin, slices.Concat(args, n.args, n.portArgs)...)
	cmd.Env = n.env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	n.mu.Lock()
	n.cmd, n.done, n.state = cmd, done, nil
	n.mu.Unlock()
	go func() {
		cmd.Wait() //nolint:errcheck // the state says it all
		logf.Close()
		n.mu.Lock()
		n.state = cmd.ProcessState
		n.mu.Unlock()
		close(done)
	}()

	probe := &http.Client{Timeout: 2 * time.Second}
	return waitServing(done, n.logPath, n.exitState, func() bool {
		resp, err := probe.Get(n.url("/healthz/ready"))
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func (n *node) exitState() *os.ProcessState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state
}

// stderr returns what the current (or last) process wrote.
func (n *node) stderr() string {
	n.mu.Lock()
	path := n.logPath
	n.mu.Unlock()
	b, _ := os.ReadFile(path)
	return string(b)
}

// allLogs returns the output of every start, for failure reports.
func (n *node) allLogs() string {
	var sb strings.Builder
	for i := 1; i <= n.starts; i++ {
		b, err := os.ReadFile(filepath.Join(n.logDir, fmt.Sprintf("stderr-%d.log", i)))
		if err != nil {
			continue
		}
		const max = 64 << 10
		if len(b) > max {
			b = append([]byte("…(cut)…\n"), b[len(b)-max:]...)
		}
		fmt.Fprintf(&sb, "----- xdr serve output, start %d -----\n%s\n", i, b)
	}
	return sb.String()
}

func (n *node) cleanup() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd != nil {
		select {
		case <-done:
		default:
			cmd.Process.Kill() //nolint:errcheck
			<-done
		}
	}
	if n.t.Failed() {
		n.t.Logf("data dir %s\n%s", n.dir, n.allLogs())
	}
	n.client.CloseIdleConnections()
}

// signal sends sig to the running process.
func (n *node) signal(sig syscall.Signal) {
	n.t.Helper()
	n.mu.Lock()
	cmd := n.cmd
	n.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil {
		n.t.Fatalf("send %v: %v", sig, err)
	}
}

// wait waits for the process to exit and returns its exit code (-1 when a
// signal killed it).
func (n *node) wait(timeout time.Duration) int {
	n.t.Helper()
	select {
	case <-n.done:
	case <-time.After(timeout):
		n.t.Fatalf("xdr serve did not exit within %v", timeout)
	}
	return n.exitState().ExitCode()
}

// stop sends SIGTERM and requires exit status 0.
func (n *node) stop() {
	n.t.Helper()
	n.signal(syscall.SIGTERM)
	if code := n.wait(exitTimeout); code != 0 {
		n.t.Fatalf("xdr serve exited with %d after SIGTERM, want 0", code)
	}
}

// kill9 kills the process without warning.
func (n *node) kill9() {
	n.t.Helper()
	n.signal(syscall.SIGKILL)
	n.wait(exitTimeout)
}

func (n *node) url(path string) string { return "http://" + n.http + path }

// adminPassword reads the generated initial admin password.
func (n *node) adminPassword() string {
	n.t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dir, "initial-admin-password"))
	if err != nil {
		n.t.Fatalf("read initial admin password: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// do sends a request and returns status, headers and body.
func (n *node) do(method, path, token string, body io.Reader, hdr map[string]string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(method, n.url(path), body)
	if err != nil {
		return 0, nil, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// mustDo is do that fails the test on a transport error.
func (n *node) mustDo(method, path, token string, body io.Reader, hdr map[string]string) (int, http.Header, []byte) {
	n.t.Helper()
	st, h, b, err := n.do(method, path, token, body, hdr)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	return st, h, b
}

// login returns the status and, on success, the session token.
func (n *node) login(user, password string) (int, string) {
	n.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	st, _, b := n.mustDo("POST", "/api/v1/login", "", bytes.NewReader(body), map[string]string{"Content-Type": "application/json"})
	if st != http.StatusOK {
		return st, ""
	}
	var out struct{ Token string }
	if err := json.Unmarshal(b, &out); err != nil || out.Token == "" {
		n.t.Fatalf("login answer %s: %v", b, err)
	}
	return st, out.Token
}

// adminToken logs in as admin with the generated password.
func (n *node) adminToken() string {
	n.t.Helper()
	st, tok := n.login("admin", n.adminPassword())
	if st != http.StatusOK {
		n.t.Fatalf("admin login: status %d", st)
	}
	return tok
}

// ingestResult is the answer of POST /api/v1/ingest/{source}.
type ingestResult struct {
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
	Errors   []struct {
		Line   int    `json:"line"`
		Reason string `json:"reason"`
	} `json:"errors"`
}

type ingestOpts struct {
	gzip    bool
	idemKey string
}

// ingest posts NDJSON to /api/v1/ingest/json.
func (n *node) ingest(token string, body []byte, o ingestOpts) (int, ingestResult, []byte, error) {
	hdr := map[string]string{"Content-Type": "application/x-ndjson"}
	if o.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body) //nolint:errcheck // bytes.Buffer
		zw.Close()
		body = buf.Bytes()
		hdr["Content-Encoding"] = "gzip"
	}
	if o.idemKey != "" {
		hdr["Idempotency-Key"] = o.idemKey
	}
	st, _, b, err := n.do("POST", "/api/v1/ingest/json", token, bytes.NewReader(body), hdr)
	var res ingestResult
	if err == nil && st/100 == 2 {
		if jerr := json.Unmarshal(b, &res); jerr != nil {
			return st, res, b, fmt.Errorf("decode ingest answer %q: %w", b, jerr)
		}
	}
	return st, res, b, err
}

// mustIngest ingests and requires a 200 with no rejected line.
func (n *node) mustIngest(token string, body []byte, o ingestOpts) ingestResult {
	n.t.Helper()
	st, res, b, err := n.ingest(token, body, o)
	if err != nil {
		n.t.Fatalf("ingest: %v", err)
	}
	if st != http.StatusOK {
		n.t.Fatalf("ingest: status %d: %s", st, b)
	}
	if res.Rejected != 0 {
		n.t.Fatalf("ingest: %d lines rejected: %s", res.Rejected, b)
	}
	return res
}

// eventPage is the answer of GET /api/v1/events.
type eventPage struct {
	Events []map[string]any `json:"events"`
	Next   string           `json:"next"`
}

// search asks for one page of events.
func (n *node) search(token string, params url.Values) (int, eventPage, []byte) {
	n.t.Helper()
	st, _, b := n.mustDo("GET", "/api/v1/events?"+params.Encode(), token, nil, nil)
	var p eventPage
	if st == http.StatusOK {
		if err := json.Unmarshal(b, &p); err != nil {
			n.t.Fatalf("decode events page %q: %v", b, err)
		}
	}
	return st, p, b
}

// searchAll pages through every match of q (with extra parameters) using the
// cursor and returns the events in the order served.
func (n *node) searchAll(token, q string, limit int, extra url.Values) []map[string]any {
	n.t.Helper()
	var all []map[string]any
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			n.t.Fatalf("search %q: more than 10000 pages; the cursor does not advance", q)
		}
		params := url.Values{"q": {q}, "limit": {fmt.Sprint(limit)}}
		for k, v := range extra {
			params[k] = v
		}
		if cursor != "" {
			params.Set("cursor", cursor)
		}
		st, p, b := n.search(token, params)
		if st != http.StatusOK {
			n.t.Fatalf("search %q: status %d: %s", q, st, b)
		}
		if len(p.Events) > limit {
			n.t.Fatalf("search %q: page of %d events, limit %d", q, len(p.Events), limit)
		}
		all = append(all, p.Events...)
		if p.Next == "" {
			return all
		}
		if p.Next == cursor {
			n.t.Fatalf("search %q: cursor %q repeats", q, cursor)
		}
		cursor = p.Next
	}
}

// count returns how many events match q, paging through all of them, and
// fails on a duplicate id.
func (n *node) count(token, q string) int {
	n.t.Helper()
	evs := n.searchAll(token, q, 1000, nil)
	seen := map[string]bool{}
	for _, e := range evs {
		id, _ := e["id"].(string)
		if seen[id] {
			n.t.Errorf("search %q: event %s returned twice", q, id)
		}
		seen[id] = true
	}
	return len(evs)
}

// cliResult is what a CLI subprocess did.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary with args and env (added to a clean environment).
func runCLI(t testing.TB, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, xdrBin, args...)
	cmd.Env = baseEnv(env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run xdr %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("xdr %v did not finish within its deadline", args)
	}
	return cliResult{stdout: so.String(), stderr: se.String(), code: cmd.ProcessState.ExitCode()}
}

// createToken runs `xdr token create` against the node and returns the token.
func (n *node) createToken(name, scope string) string {
	n.t.Helper()
	r := runCLI(n.t, nil, "token", "create", "--tenant", "default", "--name", name, "--scope", scope, "--data-dir", n.dir)
	if r.code != 0 {
		n.t.Fatalf("token create: exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	tok := lines[len(lines)-1]
	if tok == "" || strings.ContainsAny(tok, " \t\r") {
		n.t.Fatalf("token create: last stdout line %q is not a token alone (stdout %q)", tok, r.stdout)
	}
	return tok
}

// ev is one test event line.
type ev map[string]any

// ndjson renders events as NDJSON lines.
func ndjson(t testing.TB, evs ...ev) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// str returns a string field of a returned event.
func str(e map[string]any, k string) string {
	s, _ := e[k].(string)
	return s
}
