package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minixdr/xdr/appliance"
	"github.com/minixdr/xdr/appliance/ingest"
	"github.com/minixdr/xdr/cluster"
	"github.com/minixdr/xdr/ui/syslogd"
)

// SyslogListener is one [[syslog_listener]] table of the config file: a
// listener whose messages belong to its own tenant. It adds to the
// --syslog-udp/-tcp/-tls listeners, which belong to --syslog-tenant.
type SyslogListener struct {
	Transport string `toml:"transport"` // udp, tcp or tls
	Addr      string `toml:"addr"`      // host:port
	Tenant    string `toml:"tenant"`    // default: syslog_tenant
}

// syslogListeners returns every configured listener: the three options',
// then the file's tables.
func (c *Config) syslogListeners() []SyslogListener {
	var out []SyslogListener
	for _, l := range []SyslogListener{{"udp", c.SyslogUDP, ""}, {"tcp", c.SyslogTCP, ""}, {"tls", c.SyslogTLS, ""}} {
		if l.Addr != "" {
			out = append(out, l)
		}
	}
	return append(out, c.SyslogListeners...)
}

// validateSyslogListeners checks the [[syslog_listener]] tables; errors
// name the table by its number in the file.
func validateSyslogListeners(ls []SyslogListener) error {
	for i, l := range ls {
		where := fmt.Sprintf("syslog_listener %d", i+1)
		switch l.Transport {
		case "udp", "tcp", "tls":
		default:
			return fmt.Errorf("%s: transport %q: use udp, tcp or tls", where, l.Transport)
		}
		if _, _, err := net.SplitHostPort(l.Addr); err != nil {
			return fmt.Errorf("%s: addr %q: want host:port", where, l.Addr)
		}
		if l.Tenant != "" {
			if err := appliance.ValidName("tenant", l.Tenant); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
	}
	return nil
}

// newSyslog returns the syslog server of the configured listeners, or nil
// when there is none. startSyslog opens the listeners.
func newSyslog(cfg Config, in syslogd.Ingester, log *slog.Logger, reg prometheus.Registerer) *syslogd.Server {
	if len(cfg.syslogListeners()) == 0 {
		return nil
	}
	return syslogd.New(syslogd.Config{Tenant: cfg.SyslogTenant}, in, log, reg)
}

// startSyslog opens the configured listeners on srv (nil: none). The
// returned stop closes them, then flushes what was received into the store.
func startSyslog(cfg Config, srv *syslogd.Server, log *slog.Logger) (stop func(), err error) {
	if srv == nil {
		return func() {}, nil
	}
	var closers []func()
	fail := func(err error) (func(), error) {
		for _, c := range closers {
			c()
		}
		return nil, err
	}
	for _, l := range cfg.syslogListeners() {
		name := "syslog " + l.Transport + " " + l.Addr
		serve, closer, err := openSyslog(cfg, srv, l)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", name, err))
		}
		closers = append(closers, closer)
		go func() {
			if err := serve(); err != nil {
				log.Error("syslog listener failed", "listener", name, "err", err)
			}
		}()
		tenant := l.Tenant
		if tenant == "" {
			tenant = cfg.SyslogTenant
		}
		log.Info("syslog listening", "transport", l.Transport, "addr", l.Addr, "tenant", tenant)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	return func() {
		srv.Close()
		cancel()
		<-done
	}, nil
}

// openSyslog opens one listener and returns what serves it on srv and
// what closes it.
func openSyslog(cfg Config, srv *syslogd.Server, l SyslogListener) (serve func() error, closer func(), err error) {
	if l.Transport == "udp" {
		pc, err := net.ListenPacket("udp", l.Addr)
		if err != nil {
			return nil, nil, err
		}
		return func() error { return srv.ServeUDP(pc, l.Tenant) }, func() { pc.Close() }, nil
	}
	ln, err := net.Listen("tcp", l.Addr)
	if err != nil {
		return nil, nil, err
	}
	if l.Transport == "tls" {
		host, _, _ := net.SplitHostPort(l.Addr)
		cert, err := cluster.ServerCertificate(cfg.DataDir, cfg.TLSCert, cfg.TLSKey, host)
		if err != nil {
			ln.Close()
			return nil, nil, err
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	return func() error { return srv.ServeStream(ln, l.Transport, l.Tenant) }, func() { ln.Close() }, nil
}

// ingestHealth is the node's ingest accounting: the service's per source
// and, when there are listeners, the syslog server's.
type ingestHealth struct {
	svc    *ingest.Service
	syslog *syslogd.Server
}

func (h ingestHealth) Health() ingest.Health {
	out := h.svc.Health()
	if h.syslog != nil {
		s := h.syslog.Health()
		out.Syslog = &s
	}
	return out
}
