package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

func TestKioskConfig(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, "data_dir: "+t.TempDir()+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kiosk.Idle != 90*time.Second || len(cfg.Kiosk.ExitKeys) != 0 || cfg.Kiosk.Name != "" {
		t.Fatalf("kiosk defaults: %+v", cfg.Kiosk)
	}
	if filepath.Base(cfg.Kiosk.Log) != "kiosk.log" {
		t.Fatalf("kiosk.log default: %q", cfg.Kiosk.Log)
	}
	for _, tc := range []struct{ body, field string }{
		{"kiosk:\n  idle: 500ms\n", "kiosk.idle"},
		{"kiosk:\n  idle: 2h\n", "kiosk.idle"},
		{"kiosk:\n  name: \"lobby 1\"\n", "kiosk.name"},
		{"kiosk:\n  name: \"a\\x1b[2J\"\n", "kiosk.name"},
		{"kiosk:\n  exit_keys: [ctrl+x]\n", "kiosk.exit_keys"},
		{"kiosk:\n  exit_keys: [ctrl+x, \"\", ctrl+x]\n", "kiosk.exit_keys[1]"},
	} {
		_, err := loadConfig(writeConfig(t, "data_dir: "+t.TempDir()+"\n"+tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("%q: got %v, want an error naming %s", tc.body, err, tc.field)
		}
	}
}

// The loop restarts the wizard after a crash (logged) and ends only on the
// admin exit or the context's end.
func TestKioskLoopRestartsAfterCrash(t *testing.T) {
	defer func(d time.Duration) { kioskBackoff = d }(kioskBackoff)
	kioskBackoff = 20 * time.Millisecond
	var logBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))
	runs, clears := 0, 0
	once := func(context.Context) (bool, error) {
		runs++
		switch runs {
		case 1:
			panic("boom outside the program")
		case 2:
			return false, fmt.Errorf("%w: %w", tea.ErrProgramKilled, tea.ErrProgramPanic)
		}
		return true, nil
	}
	start := time.Now()
	if err := kioskLoop(context.Background(), once, log, func() { clears++ }); err != nil {
		t.Fatal(err)
	}
	if runs != 3 || clears != 6 {
		t.Fatalf("runs %d, clears %d; want 3 and 6", runs, clears)
	}
	if n := strings.Count(logBuf.String(), "wizard crashed; restarted at the first screen"); n != 2 {
		t.Fatalf("%d crash lines in the log:\n%s", n, logBuf.String())
	}
	t.Logf("two fast crashes cost %v of back-off", time.Since(start))

	// A wizard that cannot start at all gives up instead of spinning.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	failing := func(context.Context) (bool, error) { return false, errors.New("no terminal") }
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if err := kioskLoop(ctx, failing, log, func() {}); err != nil {
		t.Fatalf("a cancelled loop returned %v", err)
	}
}

// kioskTerm is `sspr kiosk` running in its own tmux window.
type kioskTerm struct {
	*tmuxTerm
	dataDir string
}

func startKiosk(t *testing.T, bin, extra string) *kioskTerm {
	t.Helper()
	dataDir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\ncaptcha:\n  enabled: false\nkiosk:\n  name: kiosk-test\n  idle: 2s\n%slimits:\n  trusted_sources: [kiosk-test]\n", dataDir, extra))
	add := exec.Command(bin, "--config", cfg, "users", "add", "bob", "--mobile", "+1 212 555 0102")
	add.Stdin = strings.NewReader("Copper-Violin-3907\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	tm := newTmux(t, fmt.Sprintf("%s --config %s kiosk; echo KIOSK-EXITED $?; sleep 60", bin, cfg))
	k := &kioskTerm{tmuxTerm: tm, dataDir: dataDir}
	k.waitFor("Email or Username")
	return k
}

// pid is the kiosk process: the child of the pane's shell.
func (k *kioskTerm) pid() int {
	k.t.Helper()
	shell := strings.TrimSpace(k.run("display-message", "-p", "#{pane_pid}"))
	out, err := exec.Command("pgrep", "-P", shell).Output()
	if err != nil {
		k.t.Fatalf("no kiosk process under the pane's shell %s: %v\n%s", shell, err, k.screen())
	}
	pid, err := strconv.Atoi(strings.Fields(string(out))[0])
	if err != nil {
		k.t.Fatal(err)
	}
	return pid
}

// atStart checks the kiosk runs and shows the first screen, field empty.
func (k *kioskTerm) atStart(what string) {
	k.t.Helper()
	k.waitFor("Who are you?")
	s := k.screen()
	if strings.Contains(s, "KIOSK-EXITED") {
		k.t.Fatalf("after %s the kiosk ended:\n%s", what, s)
	}
	if !emptyField(s, "Email or Username") {
		k.t.Fatalf("after %s the login field is not empty:\n%s", what, s)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", k.pid()))
	if err != nil {
		k.t.Fatalf("after %s: %v", what, err)
	}
	if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) == 0 || f[0] == "T" {
		k.t.Fatalf("after %s the kiosk is stopped: %s", what, stat)
	}
}

// emptyField reports whether the field titled title shows no value: the
// line under its title holds only the focus bar, or nothing.
func emptyField(screen, title string) bool {
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if strings.Contains(l, title) && i+1 < len(lines) {
			return strings.Trim(lines[i+1], " \u00a0┃>") == ""
		}
	}
	return false
}

func (k *kioskTerm) log() string {
	data, _ := os.ReadFile(filepath.Join(k.dataDir, "kiosk.log"))
	return string(data)
}

func TestKioskEndToEnd(t *testing.T) {
	bin := buildBinary(t)

	t.Run("cannot be left", func(t *testing.T) {
		k := startKiosk(t, bin, "")
		for _, key := range []string{"C-c", "C-d", "C-z", `C-\`, "Escape", "q", "C-c", "M-x", "C-a", "F10"} {
			k.keys(key)
			time.Sleep(60 * time.Millisecond)
		}
		k.keys("Escape")
		time.Sleep(100 * time.Millisecond)
		k.atStart("the exit keys")
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTSTP, syscall.SIGTTIN} {
			if err := syscall.Kill(k.pid(), sig); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			k.atStart(sig.String())
		}
		if h := k.history(); strings.Contains(h, "goroutine") || strings.Contains(h, "SIGQUIT") {
			t.Fatalf("a stack dump reached the screen:\n%s", h)
		}
		// SIGTERM ends it, and the terminal is left blank.
		if err := syscall.Kill(k.pid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		k.waitFor("KIOSK-EXITED 0")
		if h := k.history(); strings.Contains(h, "Who are you?") {
			t.Fatalf("the wizard is left in the scrollback after SIGTERM:\n%s", h)
		}
	})

	t.Run("idle scrubs the screen and the scrollback", func(t *testing.T) {
		k := startKiosk(t, bin, "")
		const login = "bob"
		k.text(login)
		k.keys("Enter")
		k.waitFor("Please choose the contact method")
		start := time.Now()
		k.waitFor("Who are you?")
		t.Logf("back at the start %v after the method list", time.Since(start))
		time.Sleep(200 * time.Millisecond)
		if h := k.history(); strings.Contains(h, login) || strings.Contains(h, "*****02") || strings.Contains(h, "contact method") {
			t.Fatalf("the last person's session is still on the terminal:\n%s", h)
		}
		k.atStart("the idle time")
		audit, _ := os.ReadFile(filepath.Join(k.dataDir, "audit.log"))
		if !strings.Contains(string(audit), `"remote":"kiosk-test","channel":"kiosk"`) || !strings.Contains(string(audit), `"result":"cancelled"`) {
			t.Fatalf("the audit trail lacks the kiosk's name or the cancelled session:\n%s", audit)
		}
	})

	t.Run("admin exit keys", func(t *testing.T) {
		k := startKiosk(t, bin, "  exit_keys: [ctrl+x, ctrl+x, ctrl+k]\n")
		k.keys("C-x", "C-k", "C-x") // wrong order: nothing
		time.Sleep(150 * time.Millisecond)
		k.atStart("a wrong admin sequence")
		k.keys("C-x", "C-x", "C-k")
		k.waitFor("KIOSK-EXITED 0")
		if !strings.Contains(k.log(), "admin exit keys") {
			t.Fatalf("the log does not say why the kiosk stopped:\n%s", k.log())
		}
	})

	t.Run("random keys", func(t *testing.T) {
		k := startKiosk(t, bin, "")
		pool := []string{"C-c", "C-d", "C-z", `C-\`, "Escape", "Enter", "Tab", "BTab", "Up", "Down", "Left", "Right",
			"Home", "End", "PPage", "NPage", "BSpace", "DC", "F1", "F2", "F5", "F12", "M-x", "M-[", "C-a", "C-u",
			"C-w", "C-x", "C-v", "C-l", "Space", "a", "b", "q", "1", "9", "~", "[", "\x1b[200~", "é"}
		rng := rand.New(rand.NewPCG(6, 1))
		start := time.Now()
		for i := 0; i < 300; i++ {
			seq := make([]string, 1+rng.IntN(5))
			for j := range seq {
				seq[j] = pool[rng.IntN(len(pool))]
			}
			k.keys(seq...)
		}
		t.Logf("300 random sequences sent in %v", time.Since(start))
		time.Sleep(300 * time.Millisecond)
		k.keys("Escape")
		time.Sleep(100 * time.Millisecond)
		k.keys("Escape")
		k.atStart("300 random key sequences")
		if strings.Contains(k.log(), "crashed") {
			t.Fatalf("the wizard crashed:\n%s", k.log())
		}
	})
}
