package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minixdr/xdr/cluster"
	"github.com/minixdr/xdr/ui/syslogd"
)

// startSyslog opens the configured syslog listeners. The returned stop
// closes them, then flushes what was received into the store.
func startSyslog(cfg Config, in syslogd.Ingester, log *slog.Logger, reg prometheus.Registerer) (stop func(), err error) {
	if cfg.SyslogUDP == "" && cfg.SyslogTCP == "" && cfg.SyslogTLS == "" {
		return func() {}, nil
	}
	srv := syslogd.New(syslogd.Config{Tenant: cfg.SyslogTenant}, in, log, reg)
	var closers []func()
	fail := func(err error) (func(), error) {
		for _, c := range closers {
			c()
		}
		return nil, err
	}
	serve := func(what string, run func() error) {
		go func() {
			if err := run(); err != nil {
				log.Error("syslog listener failed", "listener", what, "err", err)
			}
		}()
	}
	if cfg.SyslogUDP != "" {
		pc, err := net.ListenPacket("udp", cfg.SyslogUDP)
		if err != nil {
			return fail(fmt.Errorf("syslog-udp %s: %w", cfg.SyslogUDP, err))
		}
		closers = append(closers, func() { pc.Close() })
		serve("udp", func() error { return srv.ServeUDP(pc, "") })
	}
	if cfg.SyslogTCP != "" {
		ln, err := net.Listen("tcp", cfg.SyslogTCP)
		if err != nil {
			return fail(fmt.Errorf("syslog-tcp %s: %w", cfg.SyslogTCP, err))
		}
		closers = append(closers, func() { ln.Close() })
		serve("tcp", func() error { return srv.ServeStream(ln, "tcp", "") })
	}
	if cfg.SyslogTLS != "" {
		host, _, _ := net.SplitHostPort(cfg.SyslogTLS)
		cert, err := cluster.ServerCertificate(cfg.DataDir, cfg.TLSCert, cfg.TLSKey, host)
		if err != nil {
			return fail(err)
		}
		ln, err := net.Listen("tcp", cfg.SyslogTLS)
		if err != nil {
			return fail(fmt.Errorf("syslog-tls %s: %w", cfg.SyslogTLS, err))
		}
		tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		closers = append(closers, func() { tln.Close() })
		serve("tls", func() error { return srv.ServeStream(tln, "tls", "") })
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	log.Info("syslog listening", "udp", cfg.SyslogUDP, "tcp", cfg.SyslogTCP, "tls", cfg.SyslogTLS, "tenant", cfg.SyslogTenant)
	return func() {
		srv.Close()
		cancel()
		<-done
	}, nil
}
