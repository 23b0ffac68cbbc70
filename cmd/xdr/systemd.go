package main

// The systemd notify protocol (sd_notify(3)): a node run as a Type=notify
// service tells systemd when it can serve (READY=1), that it is still alive
// (WATCHDOG=1, at half the WatchdogSec interval) and that it is stopping
// (STOPPING=1). Outside systemd NOTIFY_SOCKET is unset and every call is a
// no-op. The protocol is one datagram per message on a unix socket, small
// enough to write here rather than take a dependency.

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"time"
)

// notifier sends sd_notify messages to the socket systemd gave the service.
type notifier struct {
	addr     *net.UnixAddr // nil: not run by systemd
	watchdog time.Duration // 0: no watchdog wanted
	log      *slog.Logger

	mu       sync.Mutex
	stopping bool // STOPPING=1 sent: a late READY or ping must not follow it
}

func newNotifier(getenv func(string) string, log *slog.Logger) (*notifier, error) {
	n := &notifier{log: log}
	path := getenv("NOTIFY_SOCKET")
	if path == "" {
		return n, nil
	}
	// "@name" is an abstract socket; Go's net package maps the leading @.
	if path[0] != '/' && path[0] != '@' {
		return nil, fmt.Errorf("NOTIFY_SOCKET %q: want an absolute path or @abstract name", path)
	}
	n.addr = &net.UnixAddr{Name: path, Net: "unixgram"}
	if usec := getenv("WATCHDOG_USEC"); usec != "" {
		// WATCHDOG_PID names the process the watchdog is meant for; a child
		// of the service must not answer for it.
		if pid := getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
			return n, nil
		}
		v, err := strconv.ParseUint(usec, 10, 63)
		if err != nil || v == 0 {
			return nil, fmt.Errorf("WATCHDOG_USEC %q: want a positive number of microseconds", usec)
		}
		n.watchdog = time.Duration(v) * time.Microsecond
	}
	return n, nil
}

// notify sends one message ("READY=1", "STATUS=...", newline-separated).
// After stop it sends nothing.
func (n *notifier) notify(state string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopping {
		return nil
	}
	return n.write(state)
}

func (n *notifier) write(state string) error {
	if n.addr == nil {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.addr.Name, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.addr.Name, err)
	}
	return nil
}

// send is notify for messages whose loss only costs a log line: systemd
// going away mid-run must not stop the node.
func (n *notifier) send(state string) {
	if err := n.notify(state); err != nil {
		n.log.Warn("systemd notify failed", "err", err)
	}
}

// stop tells systemd the node is shutting down; nothing is sent after it.
func (n *notifier) stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopping = true
	if err := n.write("STOPPING=1\nSTATUS=stopping"); err != nil {
		n.log.Warn("systemd notify failed", "err", err)
	}
}

// ready waits until isReady holds (the same check as /healthz/ready), then
// sends READY=1. It gives up when ctx ends.
func (n *notifier) ready(ctx context.Context, isReady func() bool) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !isReady() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting to be ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return n.notify("READY=1\nSTATUS=serving")
}

// runWatchdog pings systemd at half the watchdog interval for as long as
// alive succeeds, until ctx ends. A node whose HTTP handler hangs stops
// pinging, and systemd restarts it.
func (n *notifier) runWatchdog(ctx context.Context, alive func() error) {
	if n.addr == nil || n.watchdog == 0 {
		return
	}
	tick := time.NewTicker(n.watchdog / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := alive(); err != nil {
			n.log.Error("liveness check failed: not pinging the systemd watchdog", "err", err)
			continue
		}
		n.send("WATCHDOG=1")
	}
}

// liveProbe calls the HTTP handler's /healthz/live in-process: a handler
// stuck on a lock fails it.
func liveProbe(h http.Handler) func() error {
	return func() error {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz/live", nil))
		if rec.Code != http.StatusOK {
			return fmt.Errorf("/healthz/live answered %d", rec.Code)
		}
		return nil
	}
}
