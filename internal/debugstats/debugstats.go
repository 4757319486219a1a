// Package debugstats serves, and reads back, what a process spends in
// goroutines and heap, plus the pprof profiles. sspr serve and the
// benchmark floor serve it on a loopback address; the load tool reads it to
// work out the cost per session.
package debugstats

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/pprof"
	"runtime"
)

// Stats is what /debug/stats reports.
type Stats struct {
	Goroutines   int    `json:"goroutines"`
	HeapInuse    uint64 `json:"heap_inuse"`
	HeapObjects  uint64 `json:"heap_objects"`
	StackInuse   uint64 `json:"stack_inuse"`
	Sys          uint64 `json:"sys"`
	NumGC        uint32 `json:"num_gc"`
	PauseTotalNs uint64 `json:"pause_total_ns"`
}

// Read returns the figures of this process; gc runs a collection first, so
// that the heap holds only what is live.
func Read(gc bool) Stats {
	if gc {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return Stats{
		Goroutines: runtime.NumGoroutine(), HeapInuse: m.HeapInuse, HeapObjects: m.HeapObjects,
		StackInuse: m.StackInuse, Sys: m.Sys, NumGC: m.NumGC, PauseTotalNs: m.PauseTotalNs,
	}
}

// Handler serves GET /debug/stats (?gc=1 collects first) and the pprof
// profiles under /debug/pprof/.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Read(r.URL.Query().Get("gc") == "1"))
	})
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// Fetch reads /debug/stats?gc=1 from the endpoint at base, e.g.
// "http://127.0.0.1:6060".
func Fetch(ctx context.Context, base string) (Stats, error) {
	var st Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/stats?gc=1", nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("debug stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("debug stats: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("debug stats: %w", err)
	}
	return st, nil
}
