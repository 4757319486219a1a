// Command sspr-load opens many SSH sessions with a terminal against a
// server on this machine and measures what they cost: time to the first
// frame, keystroke-to-echo latency, completed resets per second and, given
// the server's process id, its memory, CPU and bytes sent per idle session.
//
//	sspr-load -addr 127.0.0.1:2222 -mode idle -n 100 -pid 1234
//	sspr-load -addr 127.0.0.1:2222 -mode reset -n 4 -outbox data/outbox.log
//	sspr-load -addr 127.0.0.1:2222 -mode handshake -n 200 -kex curve25519-sha256 -pid 1234
//	sspr-load -addr 127.0.0.1:2222 -mode keys -n 10 -keys 50 -pid 1234
//
// Modes: idle opens -n sessions and holds them; reset walks resets with -n
// people at once (until -resets are done, or -duration); handshake makes
// -n SSH handshakes (key exchange and authentication, no session) and
// reports the server's CPU per handshake; keys types -keys key presses
// into each of -n sessions, one at a time, and reports the server's CPU
// per key press beyond its idle CPU.
//
// It only dials loopback addresses, opens at most 10000 sessions and stops
// after -duration whatever it is doing. The result is JSON on stdout.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/sspr-project/sspr/internal/debugstats"
	gossh "golang.org/x/crypto/ssh"
)

const maxSessions = 10000

type options struct {
	addr     string
	mode     string
	n        int
	duration time.Duration
	wait     string
	hold     time.Duration
	pid      int
	user     string
	key      string
	parallel int
	keys     int
	sample   int
	outbox   string
	login    string
	phone    string
	sendGap  time.Duration
	debug    string
	kex      string
	width    int
	height   int
	resets   int
}

// debugUse is what the server's debug endpoint says, before the sessions
// and with all of them open, and the difference per session.
type debugUse struct {
	Before                  debugstats.Stats `json:"before"`
	Open                    debugstats.Stats `json:"open"`
	GoroutinesPerSession    float64          `json:"goroutines_per_session"`
	HeapInuseKiBPerSession  float64          `json:"heap_inuse_kib_per_session"`
	StackInuseKiBPerSession float64          `json:"stack_inuse_kib_per_session"`
	HeapObjectsPerSession   float64          `json:"heap_objects_per_session"`
}

// stats is a set of latencies, summarised in milliseconds.
type stats struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *stats) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

type summary struct {
	Count int     `json:"count"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

func (s *stats) summary() summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return summarize(s.d)
}

func summarize(d []time.Duration) summary {
	if len(d) == 0 {
		return summary{}
	}
	c := append([]time.Duration(nil), d...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	return summary{Count: len(c), P50ms: ms(percentile(c, 50)), P99ms: ms(percentile(c, 99)), MaxMs: ms(c[len(c)-1])}
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

type result struct {
	Mode         string     `json:"mode"`
	Addr         string     `json:"addr"`
	Sessions     int        `json:"sessions"`
	Opened       int        `json:"opened"`
	Failed       int        `json:"failed"`
	FirstErrors  []string   `json:"errors,omitempty"`
	OpenSeconds  float64    `json:"open_seconds"`
	SessionsPerS float64    `json:"sessions_per_s"`
	FirstFrame   summary    `json:"first_frame"`
	Keystroke    summary    `json:"keystroke"`
	Resets       int        `json:"resets,omitempty"`
	ResetsPerS   float64    `json:"resets_per_s,omitempty"`
	ResetTime    *summary   `json:"reset_time,omitempty"`
	Server       *serverUse `json:"server,omitempty"`
	// Kex is the key exchange asked for (-kex); empty: the client's
	// default, which the servers here settle as mlkem768x25519-sha256.
	Kex    string `json:"kex,omitempty"`
	Window string `json:"window"`
	// Reset mode: the server's CPU over the run, per completed reset, the
	// key presses a reset types, and the rate between the completion of
	// the first and the last tenth of the resets (the ramps left out).
	ServerCPUSeconds   float64 `json:"server_cpu_seconds,omitempty"`
	CPUmsPerReset      float64 `json:"cpu_ms_per_reset,omitempty"`
	KeysPerReset       float64 `json:"keys_per_reset,omitempty"`
	SteadyResetsPerS   float64 `json:"steady_resets_per_s,omitempty"`
	LoadToolCPUSeconds float64 `json:"load_tool_cpu_seconds,omitempty"`
	// The cores busy over the run, on the whole machine and in the server.
	MachineBusyCores float64 `json:"machine_busy_cores,omitempty"`
	ServerCores      float64 `json:"server_cores,omitempty"`
	// Handshake mode: the server's CPU per handshake.
	Handshakes        int     `json:"handshakes,omitempty"`
	CPUmsPerHandshake float64 `json:"cpu_ms_per_handshake,omitempty"`
	// Keys mode: the server's CPU per key press, its idle CPU taken out.
	Keys          int     `json:"keys,omitempty"`
	CPUmsPerKey   float64 `json:"cpu_ms_per_key,omitempty"`
	ElapsedSecond float64 `json:"elapsed_seconds"`
	TimedOut      bool    `json:"timed_out,omitempty"`
}

type serverUse struct {
	Before            memSample `json:"before"`
	Open              memSample `json:"open"`
	RSSPerSessionKB   float64   `json:"rss_per_session_kib"`
	PSSPerSessionKB   float64   `json:"pss_per_session_kib"`
	IdleSeconds       float64   `json:"idle_seconds"`
	IdleCPUPercent    float64   `json:"idle_cpu_percent_of_core"`
	IdleCPUPerSession float64   `json:"idle_cpu_ms_per_session_per_s"`
	IdleBytesPerSessS float64   `json:"idle_bytes_per_session_per_s"`
	// Debug is read from the server's debug endpoint (-debug), when given.
	Debug *debugUse `json:"debug,omitempty"`
}

func main() {
	var o options
	fs := flag.NewFlagSet("sspr-load", flag.ExitOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:2222", "server `host:port` (loopback only)")
	fs.StringVar(&o.mode, "mode", "idle", "idle, reset, handshake or keys")
	fs.IntVar(&o.n, "n", 10, "concurrent sessions (at most 10000)")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "hard stop")
	fs.StringVar(&o.wait, "wait", "Who are you?", "text of the first frame")
	fs.DurationVar(&o.hold, "hold", 5*time.Second, "idle mode: how long to sit with every session open (the idle measurement)")
	fs.IntVar(&o.pid, "pid", 0, "server process id: measure its process tree")
	fs.StringVar(&o.debug, "debug", "", "idle mode: the server's debug endpoint `URL` (e.g. http://127.0.0.1:6060), for goroutines and heap per session")
	fs.StringVar(&o.user, "user", "load", "SSH user name")
	fs.StringVar(&o.key, "key", "", "private key `file` for public key authentication")
	fs.IntVar(&o.parallel, "parallel", 32, "handshakes at once")
	fs.IntVar(&o.keys, "keys", 5, "keystrokes timed per sampled session")
	fs.IntVar(&o.sample, "sample", 20, "idle mode: sessions whose keystrokes are timed while all are open")
	fs.StringVar(&o.outbox, "outbox", "", "reset mode: the demo delivery's outbox file")
	fs.StringVar(&o.login, "login", "bob", "reset mode: login, or logins separated by commas (each walked by its own sessions)")
	fs.StringVar(&o.phone, "phone", "+1 212 555 0102", "reset mode: the login's mobile number as typed; one per login, separated by commas")
	fs.DurationVar(&o.sendGap, "send-gap", 1100*time.Millisecond, "reset mode: least time between two codes sent to the login (the server's limits.send_gap)")
	fs.StringVar(&o.kex, "kex", "", "key exchange to ask for (default: the client's list, mlkem768x25519-sha256 first)")
	size := fs.String("size", "80x24", "the terminal's `WxH`")
	fs.IntVar(&o.resets, "resets", 0, "reset mode: stop after this many resets are done (0: run for -duration)")
	_ = fs.Parse(os.Args[1:])
	if _, err := fmt.Sscanf(*size, "%dx%d", &o.width, &o.height); err != nil || o.width < 10 || o.height < 5 || o.width > 1000 || o.height > 500 {
		fmt.Fprintln(os.Stderr, "sspr-load: -size: WxH, 10x5 to 1000x500")
		os.Exit(2)
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "sspr-load:", err)
		os.Exit(2)
	}
	cfg, err := o.clientConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sspr-load:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	// The hard stop: whatever hangs, the process ends soon after -duration.
	go func() {
		time.Sleep(o.duration + 10*time.Second)
		fmt.Fprintln(os.Stderr, "sspr-load: hard stop")
		os.Exit(3)
	}()
	var r *result
	switch o.mode {
	case "idle":
		r = runIdle(ctx, o, cfg)
	case "reset":
		r = runReset(ctx, o, cfg)
	case "handshake":
		r = runHandshakes(ctx, o, cfg)
	case "keys":
		r = runKeys(ctx, o, cfg)
	}
	r.Kex, r.Window = o.kex, fmt.Sprintf("%dx%d", o.width, o.height)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(r)
	if r.Opened == 0 {
		os.Exit(1)
	}
}

func (o *options) check() error {
	if err := checkLoopback(o.addr); err != nil {
		return err
	}
	if o.debug != "" {
		u, err := url.Parse(o.debug)
		if err != nil || u.Scheme != "http" {
			return fmt.Errorf("-debug %q: an http:// URL", o.debug)
		}
		if err := checkLoopback(u.Host); err != nil {
			return fmt.Errorf("-debug: %w", err)
		}
	}
	o.parallel = max(1, o.parallel)
	switch {
	case o.mode != "idle" && o.mode != "reset" && o.mode != "handshake" && o.mode != "keys":
		return fmt.Errorf("-mode %q: idle, reset, handshake or keys", o.mode)
	case (o.mode == "handshake" || o.mode == "keys") && o.pid <= 0:
		return fmt.Errorf("-mode %s needs -pid", o.mode)
	case o.n < 1 || o.n > maxSessions:
		return fmt.Errorf("-n %d: 1 to %d", o.n, maxSessions)
	case o.duration <= 0 || o.duration > time.Hour:
		return fmt.Errorf("-duration %s: more than 0 and at most 1h", o.duration)
	case o.mode == "reset" && o.outbox == "":
		return errors.New("-mode reset needs -outbox")
	case o.mode == "reset" && (len(splitList(o.login)) == 0 || len(splitList(o.login)) != len(splitList(o.phone))):
		return errors.New("-login and -phone need as many entries each")
	}
	return nil
}

func (o *options) clientConfig() (*gossh.ClientConfig, error) {
	cfg := &gossh.ClientConfig{
		User: o.user,
		// Loopback only, against servers this run started: any host key.
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         15 * time.Second,
	}
	if o.kex != "" {
		cfg.KeyExchanges = []string{o.kex}
	}
	if o.key != "" {
		b, err := os.ReadFile(o.key)
		if err != nil {
			return nil, err
		}
		signer, err := gossh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.key, err)
		}
		cfg.Auth = []gossh.AuthMethod{gossh.PublicKeys(signer)}
	}
	return cfg, nil
}

// errs keeps the first few distinct errors.
type errs struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (e *errs) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.first) < 5 {
		e.first = append(e.first, err.Error())
	}
}

// open dials one session and waits for its first frame.
func open(ctx context.Context, o options, cfg *gossh.ClientConfig, ff *stats) (*session, error) {
	start := time.Now()
	s, err := dialSession(ctx, o.addr, cfg, o.width, o.height)
	if err != nil {
		return nil, err
	}
	if err := s.waitFor(ctx, o.wait); err != nil {
		s.Close()
		return nil, err
	}
	ff.add(time.Since(start))
	return s, nil
}

// probeKeys are printable keys that no escape sequence of a frame ends
// with, typed to time the echo.
const probeKeys = "zxwvjkyq"

// probe times o.keys keystrokes, then erases them.
func probe(ctx context.Context, o options, s *session, ks *stats) error {
	for i := range o.keys {
		d, err := s.echo(ctx, probeKeys[i%len(probeKeys)])
		if err != nil {
			return err
		}
		ks.add(d)
		time.Sleep(20 * time.Millisecond)
	}
	for range o.keys {
		if err := s.send("\x7f"); err != nil {
			return err
		}
	}
	return nil
}

func runIdle(ctx context.Context, o options, cfg *gossh.ClientConfig) *result {
	r := &result{Mode: "idle", Addr: o.addr, Sessions: o.n}
	start := time.Now()
	var su *serverUse
	if o.pid > 0 {
		su = &serverUse{Before: treeMem(o.pid)}
	}
	var e errs
	var dbg *debugUse
	if o.debug != "" {
		dbg = &debugUse{}
		var err error
		if dbg.Before, err = debugstats.Fetch(ctx, o.debug); err != nil {
			dbg = nil
			e.add(err)
		}
	}
	var ff, ks stats
	sessions := make([]*session, o.n)
	sem := make(chan struct{}, o.parallel)
	var wg sync.WaitGroup
	for i := range o.n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := open(ctx, o, cfg, &ff)
			if err != nil {
				e.add(err)
				return
			}
			sessions[i] = s
		}()
	}
	wg.Wait()
	r.OpenSeconds = time.Since(start).Seconds()
	var open []*session
	for _, s := range sessions {
		if s != nil {
			open = append(open, s)
		}
	}
	defer func() {
		for _, s := range open {
			s.Close()
		}
	}()
	r.Opened, r.Failed, r.FirstErrors = len(open), e.n, e.first
	r.SessionsPerS = float64(len(open)) / r.OpenSeconds
	r.FirstFrame = ff.summary()

	// Keystrokes on a sample, every session open.
	time.Sleep(500 * time.Millisecond)
	step := max(1, len(open)/max(1, o.sample))
	for i := 0; i < len(open); i += step {
		wg.Add(1)
		go func(s *session) {
			defer wg.Done()
			if err := probe(ctx, o, s, &ks); err != nil {
				e.add(err)
			}
		}(open[i])
	}
	wg.Wait()
	r.Keystroke = ks.summary()
	time.Sleep(500 * time.Millisecond) // the erasing frames

	// Idle: memory, CPU and bytes over -hold.
	hold := o.hold
	if dl, ok := ctx.Deadline(); ok {
		hold = min(hold, time.Until(dl)-time.Second)
	}
	if hold > 0 && len(open) > 0 {
		var c1 time.Duration
		if su != nil {
			su.Open = treeMem(o.pid)
			c1 = treeCPU(o.pid)
		}
		if dbg != nil {
			if st, err := debugstats.Fetch(ctx, o.debug); err == nil {
				n := float64(len(open))
				dbg.Open = st
				dbg.GoroutinesPerSession = float64(st.Goroutines-dbg.Before.Goroutines) / n
				dbg.HeapInuseKiBPerSession = (float64(st.HeapInuse) - float64(dbg.Before.HeapInuse)) / 1024 / n
				dbg.StackInuseKiBPerSession = (float64(st.StackInuse) - float64(dbg.Before.StackInuse)) / 1024 / n
				dbg.HeapObjectsPerSession = (float64(st.HeapObjects) - float64(dbg.Before.HeapObjects)) / n
			} else {
				e.add(err)
			}
		}
		b1, t1 := totalBytes.Load(), time.Now()
		time.Sleep(hold)
		secs := time.Since(t1).Seconds()
		b2 := totalBytes.Load()
		n := float64(len(open))
		if su != nil {
			cpu := (treeCPU(o.pid) - c1).Seconds()
			su.IdleSeconds = secs
			su.IdleCPUPercent = 100 * cpu / secs
			su.IdleCPUPerSession = 1000 * cpu / secs / n
			su.RSSPerSessionKB = float64(su.Open.RSSKB-su.Before.RSSKB) / n
			su.PSSPerSessionKB = float64(su.Open.PSSKB-su.Before.PSSKB) / n
			su.IdleBytesPerSessS = float64(b2-b1) / secs / n
		} else {
			su = &serverUse{IdleSeconds: secs, IdleBytesPerSessS: float64(b2-b1) / secs / n}
		}
	}
	if su != nil && dbg != nil && dbg.Open.Goroutines > 0 {
		su.Debug = dbg
	}
	r.Server = su
	r.Failed, r.FirstErrors = e.n, e.first
	r.TimedOut = ctx.Err() != nil
	r.ElapsedSecond = time.Since(start).Seconds()
	return r
}
