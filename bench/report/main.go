// Command report gathers the JSON results of bench/run.sh's sspr-load runs
// (res-<server>-idle-<n>.json, res-<server>-reset.json) into
// bench/results.json and a markdown table.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

type summary struct {
	Count int     `json:"count"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// run is the part of sspr-load's output the report reads; the rest is
// kept as it came.
type run struct {
	Sessions     int      `json:"sessions"`
	Opened       int      `json:"opened"`
	Failed       int      `json:"failed"`
	SessionsPerS float64  `json:"sessions_per_s"`
	FirstFrame   summary  `json:"first_frame"`
	Keystroke    summary  `json:"keystroke"`
	Resets       int      `json:"resets"`
	ResetsPerS   float64  `json:"resets_per_s"`
	ResetTime    *summary `json:"reset_time"`
	Server       *struct {
		RSSPerSessionKB   float64 `json:"rss_per_session_kib"`
		PSSPerSessionKB   float64 `json:"pss_per_session_kib"`
		IdleCPUPercent    float64 `json:"idle_cpu_percent_of_core"`
		IdleCPUPerSession float64 `json:"idle_cpu_ms_per_session_per_s"`
		IdleBytesPerSessS float64 `json:"idle_bytes_per_session_per_s"`
		Debug             *struct {
			GoroutinesPerSession   float64 `json:"goroutines_per_session"`
			HeapInuseKiBPerSession float64 `json:"heap_inuse_kib_per_session"`
		} `json:"debug"`
	} `json:"server"`
	raw json.RawMessage
}

type server struct {
	Idle        map[string]json.RawMessage `json:"idle"`
	Reset       json.RawMessage            `json:"reset,omitempty"`
	LargestHeld int                        `json:"largest_sessions_with_p99_keystroke_under_100ms"`
	idle        map[int]*run
	reset       *run
}

func load(path string) (*run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(path, b)
}

func parse(path string, b []byte) (*run, error) {
	var r run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.raw = b
	return &r, nil
}

func main() {
	dir := flag.String("dir", ".", "directory of the res-*.json files")
	quick := flag.Bool("quick", false, "the run was --quick")
	sshdVersion := flag.String("sshd-version", "", "sshd -V")
	jsonOut := flag.String("json", "results.json", "JSON `file` to write")
	mdOut := flag.String("md", "results.md", "markdown `file` to write")
	from := flag.String("from", "", "rebuild the report from the runs kept in this results.json `file` instead of -dir")
	flag.Parse()
	runDate := time.Now().UTC().Format(time.RFC3339)
	var prior map[string]struct {
		Idle  map[string]json.RawMessage `json:"idle"`
		Reset json.RawMessage            `json:"reset"`
	}
	if *from != "" {
		b, err := os.ReadFile(*from)
		var top map[string]json.RawMessage
		if err == nil {
			err = json.Unmarshal(b, &top)
		}
		prior = map[string]struct {
			Idle  map[string]json.RawMessage `json:"idle"`
			Reset json.RawMessage            `json:"reset"`
		}{}
		if raw, ok := top["date"]; ok {
			_ = json.Unmarshal(raw, &runDate)
		}
		for _, name := range []string{"floor", "floor_fullscreen", "sspr", "sshd"} {
			if raw, ok := top[name]; ok && err == nil {
				v := prior[name]
				err = json.Unmarshal(raw, &v)
				prior[name] = v
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		// The machine line of a rebuilt report describes this machine.
		var meta struct {
			Quick bool `json:"quick"`
		}
		_ = json.Unmarshal(b, &meta)
		*quick = meta.Quick
	}

	names := []string{"floor", "floor_fullscreen", "sspr", "sshd"}
	servers := map[string]*server{}
	for _, name := range names {
		s := &server{Idle: map[string]json.RawMessage{}, idle: map[int]*run{}}
		if *from != "" {
			for k, raw := range prior[name].Idle {
				n, err := strconv.Atoi(k)
				r, perr := parse(*from, raw)
				if err != nil || perr != nil {
					continue
				}
				s.idle[n], s.Idle[k] = r, raw
				if r.Opened == n && r.Keystroke.Count > 0 && r.Keystroke.P99ms < 100 && n > s.LargestHeld {
					s.LargestHeld = n
				}
			}
			if raw := prior[name].Reset; len(raw) > 0 && string(raw) != "null" {
				if r, err := parse(*from, raw); err == nil {
					s.reset, s.Reset = r, raw
				}
			}
			servers[name] = s
			continue
		}
		files, _ := filepath.Glob(filepath.Join(*dir, "res-"+name+"-idle-*.json"))
		for _, f := range files {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "res-"+name+"-idle-"), ".json"))
			if err != nil {
				continue
			}
			r, err := load(f)
			if err != nil {
				fmt.Fprintln(os.Stderr, "report:", err)
				continue
			}
			s.idle[n], s.Idle[strconv.Itoa(n)] = r, r.raw
			if r.Opened == n && r.Keystroke.Count > 0 && r.Keystroke.P99ms < 100 && n > s.LargestHeld {
				s.LargestHeld = n
			}
		}
		if r, err := load(filepath.Join(*dir, "res-"+name+"-reset.json")); err == nil {
			s.reset, s.Reset = r, r.raw
		}
		servers[name] = s
	}

	// Ratios at the largest size both servers ran and held (p99 keystroke
	// under 100 ms): past that, a server thrashes and its own figures grow
	// with the overload rather than with the sessions. Memory as PSS, which
	// counts a page shared by n processes as 1/n in each.
	held := func(r *run, n int) bool {
		return r.Opened == n && r.Keystroke.Count > 0 && r.Keystroke.P99ms < 100
	}
	common := func(a, b *server) *int {
		var best *int
		for n, r := range a.idle {
			if o := b.idle[n]; o != nil && r.Server != nil && o.Server != nil && held(r, n) && held(o, n) && (best == nil || n > *best) {
				n := n
				best = &n
			}
		}
		return best
	}
	ratio := func(a, b float64) *float64 {
		if b == 0 {
			return nil
		}
		v := float64(int(a/b*1000+0.5)) / 1000
		return &v
	}
	type ratioAt struct {
		Value    *float64 `json:"value"`
		Sessions int      `json:"at_sessions,omitempty"`
		Target   string   `json:"target"`
	}
	ratios := map[string]ratioAt{}
	fl, sp, sd := servers["floor"], servers["sspr"], servers["sshd"]
	if n := common(sp, fl); n != nil {
		ratios["idle_memory_vs_floor"] = ratioAt{ratio(sp.idle[*n].Server.PSSPerSessionKB, fl.idle[*n].Server.PSSPerSessionKB), *n, "<= 1.25"}
		// The keystroke target is set at 1,000 open sessions.
		k := *n
		if sp.idle[1000] != nil && fl.idle[1000] != nil {
			k = 1000
		}
		ratios["keystroke_p99_vs_floor"] = ratioAt{ratio(sp.idle[k].Keystroke.P99ms, fl.idle[k].Keystroke.P99ms), k, "<= 1.5 (at 1000 sessions)"}
		ratios["idle_cpu_vs_floor"] = ratioAt{ratio(sp.idle[*n].Server.IdleCPUPerSession, fl.idle[*n].Server.IdleCPUPerSession), *n, "<= 1"}
	}
	if ff := servers["floor_fullscreen"]; len(ff.idle) > 0 {
		if n := common(sp, ff); n != nil {
			ratios["idle_memory_vs_fullscreen_floor"] = ratioAt{ratio(sp.idle[*n].Server.PSSPerSessionKB, ff.idle[*n].Server.PSSPerSessionKB), *n, "none (context: the floor drawn on the alternate screen, as sspr is)"}
		}
	}
	if n := common(sp, sd); n != nil {
		ratios["idle_memory_vs_sshd"] = ratioAt{ratio(sp.idle[*n].Server.PSSPerSessionKB, sd.idle[*n].Server.PSSPerSessionKB), *n, "<= 0.1"}
	}
	if sp.reset != nil {
		var floorRate float64
		var at int
		for n, r := range fl.idle {
			if n > at && held(r, n) {
				floorRate, at = r.SessionsPerS, n
			}
		}
		ratios["resets_per_s_vs_floor"] = ratioAt{ratio(sp.reset.ResetsPerS, floorRate), at, ">= 0.8 (sspr resets/s over the floor's sessions opened/s)"}
	}

	plain := map[string]*float64{}
	for k, r := range ratios {
		plain[k] = r.Value
	}
	out := map[string]any{
		"date":    runDate,
		"quick":   *quick,
		"machine": machine(*sshdVersion),
		"notes": []string{
			"Every server and the load tool run on this one machine, over loopback.",
			"sspr runs with limits.identify_floor lowered to 100ms (1s by default), send_floor 50ms, send_gap 1s, the send and session limits raised, loopback trusted and the CAPTCHA off; these are not production settings.",
			"Memory per session is the growth of the server's process tree (for sshd: the listener and every descendant, sshd and sspr run) from before the first session to all sessions open, divided by the sessions. RSS counts shared pages once per process; PSS divides them among the processes sharing them, and the ratios use PSS.",
			"sshd sessions log in as root with a key, so each costs two processes (sshd and sspr run); an ordinary user would add a third (the unprivileged sshd child).",
			"floor_fullscreen is the floor's one-line model drawn on the alternate screen, as sspr's wizard is: Bubble Tea's renderer then keeps a second buffer the size of the window (80x24 here), which a one-line inline program does not need.",
			"Keystroke latency: one printable key typed into the first screen's field, timed until it comes back on the wire, on a sample of sessions while every session is open.",
			"Resets walk the text method as bob and as a few accounts like him (one code send per account per second is the server's send gap), reading each code from the demo outbox; the floor has no reset, so its rate is sessions opened per second.",
		},
		"floor":            fl,
		"floor_fullscreen": servers["floor_fullscreen"],
		"sspr":             sp,
		"sshd":             sd,
		"ratios":           plain,
		"ratio_details":    ratios,
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*mdOut, []byte(markdown(names, servers, ratios2(ratios, func(r ratioAt) (*float64, int, string) { return r.Value, r.Sessions, r.Target }), out)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

type ratioRow struct {
	name   string
	value  *float64
	at     int
	target string
}

func ratios2[T any](m map[string]T, f func(T) (*float64, int, string)) []ratioRow {
	var out []ratioRow
	for k, v := range m {
		val, at, t := f(v)
		out = append(out, ratioRow{k, val, at, t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func markdown(names []string, servers map[string]*server, ratios []ratioRow, out map[string]any) string {
	var b strings.Builder
	m := out["machine"].(map[string]any)
	fmt.Fprintf(&b, "# sspr benchmarks\n\n%s, %v, %v cores, %v MiB, Linux %v, %v", out["date"], m["cpu"], m["cores"], m["memory_mib"], m["kernel"], m["go"])
	if v := m["sshd"]; v != "" {
		fmt.Fprintf(&b, ", %v", v)
	}
	if out["quick"].(bool) {
		b.WriteString(" (--quick)")
	}
	b.WriteString(". sspr runs with the identify floor lowered to 100 ms and the CAPTCHA off.\n\n")
	b.WriteString("## Idle sessions (80x24)\n\n")
	b.WriteString("| server | sessions | opened | first frame p50 / p99 ms | keystroke p50 / p99 ms | RSS / session KiB | PSS / session KiB | idle CPU % of a core | idle CPU ms/s per session | idle bytes/s per session | goroutines / session | Go heap / session KiB |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, name := range names {
		s := servers[name]
		var ns []int
		for n := range s.idle {
			ns = append(ns, n)
		}
		sort.Ints(ns)
		for _, n := range ns {
			r := s.idle[n]
			fmt.Fprintf(&b, "| %s | %d | %d | %.1f / %.1f | %.1f / %.1f |", name, n, r.Opened, r.FirstFrame.P50ms, r.FirstFrame.P99ms, r.Keystroke.P50ms, r.Keystroke.P99ms)
			if r.Server != nil {
				fmt.Fprintf(&b, " %.0f | %.0f | %.1f | %.3f | %.1f |", r.Server.RSSPerSessionKB, r.Server.PSSPerSessionKB, r.Server.IdleCPUPercent, r.Server.IdleCPUPerSession, r.Server.IdleBytesPerSessS)
				if d := r.Server.Debug; d != nil {
					fmt.Fprintf(&b, " %.1f | %.0f |\n", d.GoroutinesPerSession, d.HeapInuseKiBPerSession)
				} else {
					b.WriteString(" | |\n")
				}
			} else {
				b.WriteString(" | | | | | | |\n")
			}
		}
	}
	b.WriteString("\n## Resets (text method, demo delivery)\n\n")
	b.WriteString("| server | resets | resets/s | reset time p50 / p99 ms | first frame p50 / p99 ms | keystroke p50 / p99 ms | errors |\n|---|---|---|---|---|---|---|\n")
	for _, name := range names {
		r := servers[name].reset
		if r == nil {
			continue
		}
		rt := summary{}
		if r.ResetTime != nil {
			rt = *r.ResetTime
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.0f / %.0f | %.1f / %.1f | %.1f / %.1f | %d |\n", name, r.Resets, r.ResetsPerS, rt.P50ms, rt.P99ms, r.FirstFrame.P50ms, r.FirstFrame.P99ms, r.Keystroke.P50ms, r.Keystroke.P99ms, r.Failed)
	}
	b.WriteString("\n## Ratios\n\n| ratio | value | at sessions | target |\n|---|---|---|---|\n")
	for _, r := range ratios {
		v := "n/a"
		if r.value != nil {
			v = strconv.FormatFloat(*r.value, 'f', 3, 64)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", r.name, v, r.at, r.target)
	}
	b.WriteString("\nLargest session count held with p99 keystroke under 100 ms:")
	for _, name := range names {
		fmt.Fprintf(&b, " %s %d;", name, servers[name].LargestHeld)
	}
	b.WriteString(" (of the sizes run).\n")
	return b.String()
}

func machine(sshd string) map[string]any {
	m := map[string]any{"cores": runtime.NumCPU(), "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH, "sshd": sshd}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m["cpu"] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				m["memory_mib"] = kb / 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(b))
	}
	return m
}
