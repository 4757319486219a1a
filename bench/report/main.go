// Command report gathers the JSON results of bench/run.sh's sspr-load runs
// (res-<server>-idle-<n>.json, res-<server>-reset.json and the other
// res-<server>-<run>.json: firstframe, handshake-<kex>, keys,
// window-<WxH>) and of floor -hash (res-hash.json) into bench/results.json
// and a markdown table.
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
	// Reset, handshake and keys modes.
	CPUmsPerReset      float64 `json:"cpu_ms_per_reset"`
	KeysPerReset       float64 `json:"keys_per_reset"`
	SteadyResetsPerS   float64 `json:"steady_resets_per_s"`
	ServerCPUSeconds   float64 `json:"server_cpu_seconds"`
	LoadToolCPUSeconds float64 `json:"load_tool_cpu_seconds"`
	MachineBusyCores   float64 `json:"machine_busy_cores"`
	ServerCores        float64 `json:"server_cores"`
	CPUmsPerHandshake  float64 `json:"cpu_ms_per_handshake"`
	Handshakes         int     `json:"handshakes"`
	CPUmsPerKey        float64 `json:"cpu_ms_per_key"`
	Keys               int     `json:"keys"`
	Server             *struct {
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
	Runs        map[string]json.RawMessage `json:"runs,omitempty"`
	LargestHeld int                        `json:"largest_sessions_with_p99_keystroke_under_100ms"`
	idle        map[int]*run
	reset       *run
	runs        map[string]*run
}

// hashCost is floor -hash's output.
type hashCost struct {
	Hashes       int     `json:"hashes"`
	CPUmsPerHash float64 `json:"cpu_ms_per_hash"`
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
	loadAvg := flag.String("load", "", "the machine's load averages during the run")
	flag.Parse()
	runDate := time.Now().UTC().Format(time.RFC3339)
	type kept struct {
		Idle  map[string]json.RawMessage `json:"idle"`
		Reset json.RawMessage            `json:"reset"`
		Runs  map[string]json.RawMessage `json:"runs"`
	}
	var prior map[string]kept
	var hashRaw json.RawMessage
	if *from != "" {
		b, err := os.ReadFile(*from)
		var top map[string]json.RawMessage
		if err == nil {
			err = json.Unmarshal(b, &top)
		}
		prior = map[string]kept{}
		if raw, ok := top["date"]; ok {
			_ = json.Unmarshal(raw, &runDate)
		}
		if raw, ok := top["load"]; ok {
			_ = json.Unmarshal(raw, loadAvg)
		}
		hashRaw = top["hash"]
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
			Quick   bool `json:"quick"`
			Machine struct {
				SSHD string `json:"sshd"`
			} `json:"machine"`
		}
		_ = json.Unmarshal(b, &meta)
		*quick = meta.Quick
		if *sshdVersion == "" {
			*sshdVersion = meta.Machine.SSHD
		}
	}

	names := []string{"floor", "floor_fullscreen", "sspr", "sshd"}
	servers := map[string]*server{}
	for _, name := range names {
		s := &server{Idle: map[string]json.RawMessage{}, idle: map[int]*run{}, Runs: map[string]json.RawMessage{}, runs: map[string]*run{}}
		if *from != "" {
			for k, raw := range prior[name].Runs {
				if r, err := parse(*from, raw); err == nil {
					s.runs[k], s.Runs[k] = r, raw
				}
			}
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
		others, _ := filepath.Glob(filepath.Join(*dir, "res-"+name+"-*.json"))
		for _, f := range others {
			k := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "res-"+name+"-"), ".json")
			if strings.HasPrefix(k, "idle-") || k == "reset" || (name == "floor" && strings.HasPrefix(k, "fullscreen")) {
				continue
			}
			if r, err := load(f); err == nil {
				s.runs[k], s.Runs[k] = r, r.raw
			}
		}
		servers[name] = s
	}
	if *from == "" {
		hashRaw, _ = os.ReadFile(filepath.Join(*dir, "res-hash.json"))
	}
	var hash hashCost
	if len(hashRaw) > 0 {
		_ = json.Unmarshal(hashRaw, &hash)
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
	fl, ff, sp, sd := servers["floor"], servers["floor_fullscreen"], servers["sspr"], servers["sshd"]
	// at is the size n if both ran it, else the largest size both held.
	at := func(a, b *server, n int) *int {
		if a.idle[n] != nil && b.idle[n] != nil && a.idle[n].Server != nil && b.idle[n].Server != nil {
			return &n
		}
		return common(a, b)
	}
	if n := at(sp, sd, 100); n != nil {
		ratios["keystroke_p99_vs_sshd_100"] = ratioAt{ratio(sp.idle[*n].Keystroke.P99ms, sd.idle[*n].Keystroke.P99ms), *n, "<= 1"}
		ratios["idle_memory_vs_sshd"] = ratioAt{ratio(sp.idle[*n].Server.PSSPerSessionKB, sd.idle[*n].Server.PSSPerSessionKB), *n, "<= 0.1"}
	}
	if n := at(sp, fl, 1000); n != nil {
		ratios["keystroke_p99_vs_floor_1000"] = ratioAt{ratio(sp.idle[*n].Keystroke.P99ms, fl.idle[*n].Keystroke.P99ms), *n, "<= 1.25"}
		ratios["idle_memory_vs_floor"] = ratioAt{ratio(sp.idle[*n].Server.PSSPerSessionKB, fl.idle[*n].Server.PSSPerSessionKB), *n, "none (context: the one-line floor drawn inline)"}
	}
	if n := common(sp, fl); n != nil {
		ratios["idle_cpu_vs_floor"] = ratioAt{ratio(sp.idle[*n].Server.IdleCPUPerSession, fl.idle[*n].Server.IdleCPUPerSession), *n, "<= 1"}
	}
	if n := at(sp, ff, 1000); n != nil {
		ratios["idle_memory_vs_fullscreen_floor"] = ratioAt{ratio(sp.idle[*n].Server.PSSPerSessionKB, ff.idle[*n].Server.PSSPerSessionKB), *n, "<= 1.1"}
	}
	// Idle bytes: the most any size of sspr sent a second per session.
	var idleBytes float64
	var idleAt int
	for n, r := range sp.idle {
		if r.Server != nil && (r.Server.IdleBytesPerSessS > idleBytes || idleAt == 0) {
			idleBytes, idleAt = r.Server.IdleBytesPerSessS, n
		}
	}
	if idleAt > 0 {
		v := idleBytes
		ratios["idle_bytes_per_s"] = ratioAt{&v, idleAt, "0 (bytes a second per idle session, the most of any size)"}
	}
	if a, b := sp.runs["firstframe"], fl.runs["firstframe"]; a != nil && b != nil {
		ratios["first_frame_p99_vs_floor"] = ratioAt{ratio(a.FirstFrame.P99ms, b.FirstFrame.P99ms), a.Sessions, "none (context; 20 dials at once)"}
		if c := sd.runs["firstframe"]; c != nil {
			ratios["first_frame_p99_vs_sshd"] = ratioAt{ratio(a.FirstFrame.P99ms, c.FirstFrame.P99ms), a.Sessions, "none (context; 20 dials at once)"}
		}
	}
	for _, kex := range []string{"mlkem768x25519-sha256", "curve25519-sha256"} {
		a, b := sp.runs["handshake-"+kex], fl.runs["handshake-"+kex]
		if a != nil && b != nil && a.Handshakes > 0 && b.Handshakes > 0 {
			short := strings.TrimSuffix(kex, "-sha256")
			ratios["handshake_cpu_vs_floor_"+short] = ratioAt{ratio(a.CPUmsPerHandshake, b.CPUmsPerHandshake), a.Handshakes, "none (context)"}
		}
	}
	// The physical floor of a reset: one handshake with the key exchange
	// the resets used (the client's default, mlkem768x25519-sha256), one
	// argon2id hash, and the floor's CPU for as many key presses.
	var resetFloor float64
	hs, keys := fl.runs["handshake-mlkem768x25519-sha256"], fl.runs["keys"]
	if sp.reset != nil && hs != nil && keys != nil && hash.CPUmsPerHash > 0 {
		resetFloor = hs.CPUmsPerHandshake + hash.CPUmsPerHash + sp.reset.KeysPerReset*keys.CPUmsPerKey
		ratios["cpu_per_reset_vs_floor"] = ratioAt{ratio(sp.reset.CPUmsPerReset, resetFloor), sp.reset.Resets, "<= 1.5"}
	}
	if r := sp.reset; r != nil && r.CPUmsPerReset > 0 && r.SteadyResetsPerS > 0 {
		bound := float64(runtime.NumCPU()) / (r.CPUmsPerReset / 1000)
		ratios["resets_per_s_vs_cpu_bound"] = ratioAt{ratio(r.SteadyResetsPerS, bound), r.Sessions, ">= 0.8 (resets/s at saturation over cores / CPU per reset)"}
	}
	if a, b := sp.runs["window-200x60"], sp.runs["window-100x30"]; a != nil && b != nil && a.Server != nil && b.Server != nil {
		ratios["memory_200x60_vs_100x30"] = ratioAt{ratio(a.Server.PSSPerSessionKB, b.Server.PSSPerSessionKB), a.Sessions, "<= 1 (a large window costs no more than the wizard's size)"}
	}

	plain := map[string]*float64{}
	for k, r := range ratios {
		plain[k] = r.Value
	}
	out := map[string]any{
		"date":               runDate,
		"quick":              *quick,
		"machine":            machine(*sshdVersion),
		"load":               *loadAvg,
		"hash":               json.RawMessage(orNull(hashRaw)),
		"reset_floor_cpu_ms": resetFloor,
		"notes": []string{
			"Every server and the load tool run on this one machine, over loopback.",
			"sspr runs with limits.identify_floor lowered to 100ms (1s by default), send_floor 50ms, send_gap 1s, the send and session limits raised, loopback trusted and the CAPTCHA off; these are not production settings.",
			"Memory per session is the growth of the server's process tree (for sshd: the listener and every descendant, sshd and sspr run) from before the first session to all sessions open, divided by the sessions. RSS counts shared pages once per process; PSS divides them among the processes sharing them, and the ratios use PSS.",
			"sshd sessions log in as root with a key, so each costs two processes (sshd and sspr run); an ordinary user would add a third (the unprivileged sshd child).",
			"floor_fullscreen is the floor's one-line model drawn on the alternate screen, as sspr's wizard is: Bubble Tea's renderer then keeps a second buffer the size of the window (80x24 here), which a one-line inline program does not need.",
			"Keystroke latency: one printable key typed into the first screen's field, timed until it comes back on the wire, on a sample of sessions while every session is open.",
			"Resets walk the text method, each person on an account of their own (one code send per account per second is the server's send gap), reading each code from the demo outbox, until the number asked for is done; CPU per reset is the server's process tree's over the whole run (for sshd with its reaped children) over the resets done.",
			"The physical floor of a reset (reset_floor_cpu_ms) is the floor server's CPU for one handshake with mlkem768x25519-sha256, one argon2id hash at the embedded directory's parameters (floor -hash, in one process), and the floor server's CPU for as many key presses as a reset types.",
			"resets_per_s_vs_cpu_bound: the rate between the completion of the first and of the last tenth of the resets, over cores / CPU per reset; the load tool runs on the same cores (load_tool_cpu_seconds).",
		},
		"floor":            fl,
		"floor_fullscreen": ff,
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
	b.WriteString(". sspr runs with the identify floor lowered to 100 ms and the CAPTCHA off.")
	if l, _ := out["load"].(string); l != "" {
		fmt.Fprintf(&b, " Load averages (/proc/loadavg): %s.", l)
	}
	b.WriteString("\n\n")
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
	b.WriteString("\n## Costs\n\n")
	b.WriteString("| server | first frame p50 / p99 ms (20 dials at once) | handshake CPU ms, mlkem768x25519 | handshake CPU ms, curve25519 | CPU ms per key press | CPU ms per reset | key presses per reset | resets/s (steady) | load tool CPU s | cores busy: server / machine |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, name := range names {
		s := servers[name]
		if len(s.runs) == 0 && s.reset == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s |", name)
		if r := s.runs["firstframe"]; r != nil {
			fmt.Fprintf(&b, " %.1f / %.1f |", r.FirstFrame.P50ms, r.FirstFrame.P99ms)
		} else {
			b.WriteString(" |")
		}
		for _, k := range []string{"handshake-mlkem768x25519-sha256", "handshake-curve25519-sha256"} {
			if r := s.runs[k]; r != nil && r.Handshakes > 0 {
				fmt.Fprintf(&b, " %.2f |", r.CPUmsPerHandshake)
			} else if r != nil {
				b.WriteString(" not offered |")
			} else {
				b.WriteString(" |")
			}
		}
		if r := s.runs["keys"]; r != nil {
			fmt.Fprintf(&b, " %.3f |", r.CPUmsPerKey)
		} else {
			b.WriteString(" |")
		}
		if r := s.reset; r != nil && name == "sshd" {
			// A session's processes are gone when the run ends, and sshd's
			// listener does not collect their CPU: not measured.
			fmt.Fprintf(&b, " not measured | %.0f | %.2f | %.1f | |\n", r.KeysPerReset, r.SteadyResetsPerS, r.LoadToolCPUSeconds)
		} else if r := s.reset; r != nil {
			fmt.Fprintf(&b, " %.1f | %.0f | %.2f | %.1f | %.2f / %.2f |\n", r.CPUmsPerReset, r.KeysPerReset, r.SteadyResetsPerS, r.LoadToolCPUSeconds, r.ServerCores, r.MachineBusyCores)
		} else {
			b.WriteString(" | | | | |\n")
		}
	}
	if h, ok := out["hash"].(json.RawMessage); ok && string(h) != "null" {
		var hc hashCost
		_ = json.Unmarshal(h, &hc)
		fmt.Fprintf(&b, "\nargon2id at the embedded directory's parameters: %.1f ms of CPU per hash (%d hashes). The floor of a reset: %.1f ms of CPU.\n", hc.CPUmsPerHash, hc.Hashes, out["reset_floor_cpu_ms"])
	}
	if sp := servers["sspr"]; sp.runs["window-200x60"] != nil {
		b.WriteString("\n## sspr by window size\n\n| window | sessions | PSS / session KiB | Go heap / session KiB |\n|---|---|---|---|\n")
		for _, k := range []string{"window-100x30", "window-200x60"} {
			r := sp.runs[k]
			if r == nil || r.Server == nil {
				continue
			}
			heap := 0.0
			if r.Server.Debug != nil {
				heap = r.Server.Debug.HeapInuseKiBPerSession
			}
			fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f |\n", strings.TrimPrefix(k, "window-"), r.Opened, r.Server.PSSPerSessionKB, heap)
		}
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

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}
