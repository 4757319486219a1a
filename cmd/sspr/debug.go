package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"
)

// DebugConfig is the profiling endpoint, off unless debug.listen is set. It
// binds a loopback address only: it tells how the process spends memory
// and time, which is nobody's business but the operator's.
type DebugConfig struct {
	Listen string `yaml:"listen"`
}

func (d DebugConfig) validate() error {
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
	return fmt.Errorf("debug.listen: %q is not allowed (a loopback address and port, e.g. 127.0.0.1:6060)", d.Listen)
}

// debugStats is what /debug/stats reports: enough to work out goroutines
// and heap per session when the number of sessions is known.
type debugStats struct {
	Goroutines   int    `json:"goroutines"`
	HeapInuse    uint64 `json:"heap_inuse"`
	HeapObjects  uint64 `json:"heap_objects"`
	StackInuse   uint64 `json:"stack_inuse"`
	Sys          uint64 `json:"sys"`
	NumGC        uint32 `json:"num_gc"`
	PauseTotalNs uint64 `json:"pause_total_ns"`
}

// debugHandler serves /debug/stats and the pprof profiles.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/stats", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") == "1" {
			runtime.GC()
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(debugStats{
			Goroutines: runtime.NumGoroutine(), HeapInuse: m.HeapInuse, HeapObjects: m.HeapObjects,
			StackInuse: m.StackInuse, Sys: m.Sys, NumGC: m.NumGC, PauseTotalNs: m.PauseTotalNs,
		})
	})
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// startDebug serves debugHandler on cfg.Listen until the returned stop is
// called; with no address it does nothing.
func startDebug(cfg DebugConfig, log *slog.Logger) (stop func(), err error) {
	if cfg.Listen == "" {
		return func() {}, nil
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("debug.listen: %w", err)
	}
	srv := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	log.Info("debug_listening", "listen", l.Addr().String())
	return func() { _ = srv.Close() }, nil
}
