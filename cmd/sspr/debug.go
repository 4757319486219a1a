package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sspr-project/sspr/config"

	"github.com/sspr-project/sspr/internal/debugstats"
)

// DebugConfig is the profiling endpoint, off unless debug.listen is set. It
// binds a loopback address only: it tells how the process spends memory
// and time, which is nobody's business but the operator's.
type DebugConfig struct {
	Listen string `yaml:"listen" default:"none: off" doc:"a loopback host:port serving goroutine and heap figures (/debug/stats) and the pprof profiles; any other address is refused"`
}

// Validate refuses any address but a loopback one.
func (d DebugConfig) Validate() error {
	if d.Listen == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(d.Listen)
	if err == nil {
		ip := net.ParseIP(host)
		if ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return &config.Error{Path: "listen", Msg: fmt.Sprintf("%q is not allowed (a loopback address and port, e.g. 127.0.0.1:6060)", d.Listen)}
}

// startDebug serves debugstats.Handler on cfg.Listen until the returned stop is
// called; with no address it does nothing.
func startDebug(cfg DebugConfig, log *slog.Logger) (stop func(), err error) {
	if cfg.Listen == "" {
		return func() {}, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("debug.listen: %w", err)
	}
	srv := &http.Server{Handler: debugstats.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	log.Info("debug_listening", "listen", l.Addr().String())
	return func() { _ = srv.Close() }, nil
}
