package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/minixdr/xdr/appliance/auth"
	"github.com/minixdr/xdr/appliance/detect"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/cluster"
	"github.com/minixdr/xdr/storage"
	"github.com/minixdr/xdr/ui"
)

// shutdownGrace is how long in-flight requests (ingest batches among them)
// get to finish after SIGTERM.
const shutdownGrace = 30 * time.Second

// jobStopGrace is how long the pages' running jobs (rule imports, evidence
// exports) get to return once cancelled at shutdown.
const jobStopGrace = 5 * time.Second

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT is set.
const defaultMemoryLimit = 640 << 20

// serve runs a node until ctx ends. Start-up order: stores, Raft, services,
// listeners; shutdown runs it backwards, so no request is cut off from the
// stores it needs.
func serve(ctx context.Context, cfg Config, stderr io.Writer, getenv func(string) string) error {
	log := newLogger(stderr, cfg.LogLevel)
	sd, err := newNotifier(getenv, log.With("component", "systemd"))
	if err != nil {
		return err
	}
	if getenv("GOMEMLIMIT") == "" {
		// A soft limit makes the collector work harder before the heap
		// doubles; the stores' own caches are sized to fit under it.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// 1. Stores.
	store, err := storage.Open(filepath.Join(cfg.DataDir, "state"), log.With("component", "storage"))
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close stores", "err", err)
		}
		log.Info("stopped")
	}()

	// 2. Raft: credentials, then bootstrap, join or restart.
	node, err := openClusterNode(ctx, cfg, store, log, stderr, getenv, reg)
	if err != nil {
		return err
	}
	defer func() {
		if err := node.Close(); err != nil {
			log.Error("stop raft", "err", err)
		}
		log.Info("raft stopped")
	}()

	// 3. Services.
	authSvc, err := auth.New(node, store.SQL, time.Now)
	if err != nil {
		return err
	}
	if node.IsLeader() {
		if err := ensureAdmin(ctx, authSvc, cfg.DataDir, getenv, stderr, log); err != nil {
			return err
		}
	}
	ingestSvc := ingest.New(node, ingest.DefaultLimits, time.Now, reg)
	syslogSrv := newSyslog(cfg, ingestSvc, log.With("component", "syslog"), reg)
	backups, stopBackups, err := startBackups(cfg, store, node, reg, log.With("component", "backup"))
	if err != nil {
		return err
	}
	defer stopBackups()
	useTLS := cfg.TLSCert != "" || !cluster.IsLoopback(cfg.HTTP)
	srv := ui.New(ui.Deps{
		Auth: authSvc, Ingest: ingestSvc, Events: store, Node: node, Cluster: node, State: store,
		IngestHealth: ingestHealth{svc: ingestSvc, syslog: syslogSrv},
		Detect:       detect.NewService(node, store, time.Now),
		Metrics:      promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Backups:      backups,
		Log:          log.With("component", "http"), TLS: useTLS,
	})

	// 4. Listeners.
	httpLn, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP, err)
	}
	scheme := "http"
	if useTLS {
		host, _, _ := net.SplitHostPort(cfg.HTTP)
		cert, err := cluster.ServerCertificate(cfg.DataDir, cfg.TLSCert, cfg.TLSKey, host)
		if err != nil {
			httpLn.Close()
			return err
		}
		httpLn = tls.NewListener(httpLn, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	adminLn, err := listenAdmin(cfg.DataDir)
	if err != nil {
		httpLn.Close()
		return err
	}
	stopSyslog, err := startSyslog(cfg, syslogSrv, log.With("component", "syslog"))
	if err != nil {
		httpLn.Close()
		adminLn.Close()
		return err
	}
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	adminSrv := &http.Server{Handler: srv.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- httpSrv.Serve(httpLn) }()
	go func() { errc <- adminSrv.Serve(adminLn) }()

	url := fmt.Sprintf("%s://%s/", scheme, httpLn.Addr())
	log.Info("serving", "url", url, "cluster_addr", cfg.ClusterAddr, "node", node.ID)
	fmt.Fprintf(stderr, "\nMini-XDR is running: open %s and log in as admin.\n\n", url)
	sdCtx, stopNotify := context.WithCancel(ctx)
	defer stopNotify()
	go func() {
		if err := sd.ready(sdCtx, node.Ready); err != nil {
			log.Warn("not ready; systemd not told", "err", err)
			return
		}
		sd.runWatchdog(sdCtx, liveProbe(httpSrv.Handler))
	}()

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: no new requests; finishing in-flight ones")
	case serveErr = <-errc:
		log.Error("listener failed", "err", serveErr)
	}
	stopNotify()
	sd.stop()
	stopSyslog() // closes its listeners and commits what it received
	jobsCtx, stopJobs := context.WithTimeout(context.Background(), jobStopGrace)
	srv.StopJobs(jobsCtx) // they write to the stores, which close after
	stopJobs()
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err = errors.Join(httpSrv.Shutdown(shutCtx), adminSrv.Shutdown(shutCtx))
	os.Remove(adminSocket(cfg.DataDir))
	log.Info("listeners stopped; stopping raft and closing the stores")
	// Deferred, in this order: node.Close (Raft finishes applying), then
	// store.Close; each logs when done so a slow shutdown shows where.
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, err)
}

// listenAdmin opens the admin socket, readable only by the service user.
func listenAdmin(dataDir string) (net.Listener, error) {
	path := adminSocket(dataDir)
	os.Remove(path) // a stale socket of a node that died
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// ensureAdmin creates tenant default and user admin on a new cluster. The
// password is $XDR_ADMIN_PASSWORD, or a random one that is printed once and
// kept in DATA_DIR/initial-admin-password (0600) so that a restart during
// bootstrap reuses it.
func ensureAdmin(ctx context.Context, a *auth.Service, dataDir string, getenv func(string) string, stderr io.Writer, log *slog.Logger) error {
	password := getenv("XDR_ADMIN_PASSWORD")
	path := filepath.Join(dataDir, "initial-admin-password")
	generated := false
	if password == "" {
		if b, err := os.ReadFile(path); err == nil {
			password = strings.TrimSpace(string(b))
		} else {
			if password, err = auth.RandomPassword(); err != nil {
				return err
			}
			generated = true
		}
	}
	created, err := a.Bootstrap(ctx, password)
	if err != nil {
		return fmt.Errorf("create initial admin: %w", err)
	}
	if !created {
		return nil
	}
	if generated {
		if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(stderr, "\nInitial admin password (also in %s): %s\n", path, password)
	}
	log.Info("created tenant default and user admin")
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level)) //nolint:errcheck // validated with the config
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
