package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, 100 on every Linux this runs on.
const clockTick = 100

// procTree is pid and all its descendants.
func procTree(pid int) []int {
	children := map[int][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		p, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		f := statFields(string(b))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// statFields splits /proc/PID/stat after the command name, which may hold
// spaces and parentheses: field 0 is the state, 1 the parent, 11 utime,
// 12 stime.
func statFields(stat string) []string {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(stat[i+1:])
}

// statusKB reads a "Key:   123 kB" line of a /proc status-like file.
func statusKB(text, key string) int64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

type memSample struct {
	Procs int   `json:"processes"`
	RSSKB int64 `json:"rss_kib"`
	PSSKB int64 `json:"pss_kib"`
}

// treeMem sums VmRSS and Pss over the tree of pid.
func treeMem(pid int) memSample {
	var m memSample
	for _, p := range procTree(pid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/status")
		if err != nil {
			continue
		}
		m.Procs++
		m.RSSKB += statusKB(string(b), "VmRSS")
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/smaps_rollup"); err == nil {
			m.PSSKB += statusKB(string(b), "Pss")
		}
	}
	return m
}

// treeCPU is the user and system time of the tree of pid, with that of
// the children each process of the tree has waited for: an sshd session
// process that ended still counts, in its parent's.
func treeCPU(pid int) time.Duration {
	var ticks int64
	for _, p := range procTree(pid) {
		ticks += procTicks(strconv.Itoa(p))
	}
	return time.Duration(ticks) * time.Second / clockTick
}

// selfCPU is this process's user and system time.
func selfCPU() time.Duration {
	return time.Duration(procTicks("self")) * time.Second / clockTick
}

// procTicks is utime+stime+cutime+cstime of /proc/<p>/stat.
func procTicks(p string) int64 {
	b, err := os.ReadFile("/proc/" + p + "/stat")
	if err != nil {
		return 0
	}
	f := statFields(string(b))
	if len(f) < 15 {
		return 0
	}
	var n int64
	for _, i := range []int{11, 12, 13, 14} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		n += v
	}
	return n
}

// machineBusy is the time all CPUs of the machine spent busy (everything
// but idle and iowait in /proc/stat), whoever's the work.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 7 { // steal, guest: guest is counted in user already
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTick
}
