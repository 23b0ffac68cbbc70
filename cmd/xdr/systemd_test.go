package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// datagram is one sd_notify message and when the fake systemd read it.
type datagram struct {
	text string
	at   time.Time
}

// listenNotify is the systemd side of sd_notify: a unixgram socket whose
// datagrams arrive on the returned channel.
func listenNotify(t *testing.T) (string, <-chan datagram) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); os.RemoveAll(dir) })
	msgs := make(chan datagram, 1024)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- datagram{text: string(buf[:n]), at: time.Now()}
		}
	}()
	return path, msgs
}

// notifiedNode is `xdr serve` under a fake systemd.
type notifiedNode struct {
	cmd   *exec.Cmd
	http  string
	done  chan struct{} // closed when cmd has exited; then err is set
	err   error
	msgs  <-chan datagram
	ready time.Time // when READY=1 was read
}

// startNotified starts `xdr serve` on new ports and a new data dir, with
// sock as its NOTIFY_SOCKET, and waits for READY=1, requiring nothing but
// status lines before it; errBind when a port it was given was taken.
func startNotified(t *testing.T, sock string, msgs <-chan datagram) (*notifiedNode, error) {
	t.Helper()
	nn := &notifiedNode{http: freeAddr(t), done: make(chan struct{}), msgs: msgs}
	logPath := filepath.Join(t.TempDir(), "stderr.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	nn.cmd = exec.Command(xdrBin, "serve", "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--http", nn.http, "--cluster-addr", freeAddr(t), "--gossip-addr", freeAddr(t))
	nn.cmd.Env = baseEnv("NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=200000")
	nn.cmd.Stdout, nn.cmd.Stderr = logf, logf
	if err := nn.cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	go func() {
		nn.err = nn.cmd.Wait()
		logf.Close()
		close(nn.done)
	}()
	t.Cleanup(func() {
		select {
		case <-nn.done:
		default:
			nn.cmd.Process.Kill() //nolint:errcheck
			<-nn.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("xdr serve output:\n%s", b)
		}
	})
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("notify socket closed while waiting for READY=1")
			}
			if strings.Contains(m.text, "WATCHDOG=1") {
				t.Fatalf("watchdog ping %q before READY=1", m.text)
			}
			if strings.Contains(m.text, "READY=1") {
				nn.ready = m.at
				return nn, nil
			}
		case <-nn.done:
			return nil, exitedBeforeReady(logPath, nn.cmd.ProcessState)
		case <-time.After(readyTimeout):
			t.Fatalf("no READY=1 within %v", readyTimeout)
		}
	}
}

// next returns the next datagram, failing the test when the node exits
// or sends nothing for readyTimeout.
func (nn *notifiedNode) next(t *testing.T, what string) datagram {
	t.Helper()
	select {
	case m, ok := <-nn.msgs:
		if !ok {
			t.Fatalf("notify socket closed while waiting for %s", what)
		}
		return m
	case <-nn.done:
		t.Fatalf("xdr serve exited (%v) while waiting for %s", nn.err, what)
	case <-time.After(readyTimeout):
		t.Fatalf("no %s within %v", what, readyTimeout)
	}
	return datagram{}
}

// The real binary under a fake systemd: READY=1 only once /healthz/ready
// answers 200, WATCHDOG=1 pings at half of WATCHDOG_USEC, STOPPING=1 on
// SIGTERM, then a clean exit.
func TestSystemdNotify(t *testing.T) {
	t.Parallel()
	sock, msgs := listenNotify(t)
	var nn *notifiedNode
	err := retryOnBind(t, func() (err error) {
		nn, err = startNotified(t, sock, msgs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// READY=1 came from this process, which holds its HTTP port.
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get("http://" + nn.http + "/healthz/ready")
	if err != nil {
		t.Fatalf("GET /healthz/ready right after READY=1: %v", err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("READY=1 sent while /healthz/ready answers %d", resp.StatusCode)
	}

	// Pings every 100 ms from READY=1 on: the fifth is sent 500 ms after
	// it. The times are when the fake systemd read them, so half of that
	// is left for a reader scheduled late (the probe above may take longer
	// than all five pings: they wait in the channel).
	var last datagram
	for pings := 0; pings < 5; pings++ {
		if last = nn.next(t, "WATCHDOG=1"); last.text != "WATCHDOG=1" {
			t.Fatalf("unexpected message %q while waiting for watchdog pings", last.text)
		}
	}
	if d := last.at.Sub(nn.ready); d < 250*time.Millisecond {
		t.Errorf("5 pings within %v of READY=1: faster than half of WATCHDOG_USEC=200ms", d)
	}

	if err := nn.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		m := nn.next(t, "STOPPING=1")
		if strings.HasPrefix(m.text, "STOPPING=1") {
			break
		}
		if m.text != "WATCHDOG=1" {
			t.Fatalf("unexpected message %q while waiting for STOPPING=1", m.text)
		}
	}
	select {
	case <-nn.done:
		if nn.err != nil {
			t.Fatalf("exit after SIGTERM: %v", nn.err)
		}
	case <-time.After(exitTimeout):
		t.Fatalf("no exit within %v of SIGTERM", exitTimeout)
	}
}

func TestNewNotifier(t *testing.T) {
	t.Parallel()
	pid := strconv.Itoa(os.Getpid())
	for _, c := range []struct {
		name     string
		env      map[string]string
		wantErr  string
		active   bool
		watchdog time.Duration
	}{
		{"not under systemd", nil, "", false, 0},
		{"socket path", map[string]string{"NOTIFY_SOCKET": "/run/systemd/notify"}, "", true, 0},
		{"abstract socket", map[string]string{"NOTIFY_SOCKET": "@sd"}, "", true, 0},
		{"relative socket", map[string]string{"NOTIFY_SOCKET": "notify"}, "NOTIFY_SOCKET", false, 0},
		{"watchdog", map[string]string{"NOTIFY_SOCKET": "/s", "WATCHDOG_USEC": "3000000"}, "", true, 3 * time.Second},
		{"watchdog for this pid", map[string]string{"NOTIFY_SOCKET": "/s", "WATCHDOG_USEC": "10", "WATCHDOG_PID": pid}, "", true, 10 * time.Microsecond},
		{"watchdog for another pid", map[string]string{"NOTIFY_SOCKET": "/s", "WATCHDOG_USEC": "10", "WATCHDOG_PID": "1"}, "", true, 0},
		{"bad watchdog", map[string]string{"NOTIFY_SOCKET": "/s", "WATCHDOG_USEC": "10s"}, "WATCHDOG_USEC", false, 0},
		{"zero watchdog", map[string]string{"NOTIFY_SOCKET": "/s", "WATCHDOG_USEC": "0"}, "WATCHDOG_USEC", false, 0},
	} {
		n, err := newNotifier(envOf(c.env), slog.New(slog.DiscardHandler))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one naming %s", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if (n.addr != nil) != c.active || n.watchdog != c.watchdog {
			t.Errorf("%s: active %v watchdog %v, want %v %v", c.name, n.addr != nil, n.watchdog, c.active, c.watchdog)
		}
	}
}

// After STOPPING=1 nothing follows: a late READY=1 or ping would tell
// systemd the stopping node is alive.
func TestNotifyNothingAfterStop(t *testing.T) {
	t.Parallel()
	sock, msgs := listenNotify(t)
	n, err := newNotifier(envOf(map[string]string{"NOTIFY_SOCKET": sock}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	n.send("WATCHDOG=1")
	n.stop()
	n.send("WATCHDOG=1")
	if err := n.notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	// A marker from another sender, queued after whatever stop let through.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("MARKER")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range msgs {
		got = append(got, m.text)
		if m.text == "MARKER" {
			break
		}
	}
	if want := []string{"WATCHDOG=1", "STOPPING=1\nSTATUS=stopping", "MARKER"}; !slices.Equal(got, want) {
		t.Errorf("datagrams %q, want %q", got, want)
	}
}

// An abstract-namespace socket ("@name"), as systemd may hand out.
func TestNotifyAbstractSocket(t *testing.T) {
	t.Parallel()
	name := "@xdr-test-" + strconv.Itoa(os.Getpid())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n, err := newNotifier(envOf(map[string]string{"NOTIFY_SOCKET": name}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	buf := make([]byte, 64)
	k, err := conn.Read(buf)
	if err != nil || string(buf[:k]) != "READY=1" {
		t.Fatalf("got %q, %v; want READY=1", buf[:k], err)
	}
	// systemd gone: the error names the socket.
	conn.Close()
	if err := n.notify("WATCHDOG=1"); err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("notify to a closed socket: %v, want an error naming %s", err, name)
	}
}
