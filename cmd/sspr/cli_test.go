package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// runCLI runs the command line in-process, with no stdin.
func runCLI(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = run(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// TestCLIConfigSelection: --config before or after the command, and
// SSPR_CONFIG when it is not given, all name the file; the flag wins.
func TestCLIConfigSelection(t *testing.T) {
	dataDir := t.TempDir()
	cfg := writeConfig(t, "data_dir: "+dataDir+"\n")
	other := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	cases := []struct {
		name string
		env  string
		args []string
	}{
		{"flag before", "", []string{"--config", cfg, "check"}},
		{"flag after", "", []string{"check", "--config", cfg}},
		{"flag after, with =", "", []string{"check", "--config=" + cfg}},
		{"plain before", "", []string{"--plain", "check", "--config", cfg}},
		{"plain after", "", []string{"check", "--plain", "--config", cfg}},
		{"environment", cfg, []string{"check"}},
		{"flag wins", other, []string{"check", "--config", cfg}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(configEnv, c.env)
			// check fails later, at the users file no one added: exit status 1.
			out, errOut, err := runCLI(c.args...)
			if exitCode(err) > 1 {
				t.Fatalf("%q: %v\n%s%s", c.args, err, out, errOut)
			}
			if !strings.Contains(out, "ok    data_dir "+dataDir+"\n") {
				t.Fatalf("%q did not read %s:\n%s", c.args, cfg, out)
			}
		})
	}
}

// TestCLIUsageErrors: whatever a command does not know is refused with
// exit status 2, one line saying what, and where to find the usage;
// nothing runs.
func TestCLIUsageErrors(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := writeConfig(t, "data_dir: "+dataDir+"\n")
	cases := []struct {
		args []string
		want string // in the message
		cmd  string // in the hint
	}{
		{[]string{"serve", "--bogus"}, "unknown flag: --bogus", "sspr serve"},
		{[]string{"serve", "extra"}, `"extra"`, "sspr serve"},
		{[]string{"kiosk", "-x"}, "unknown shorthand flag: 'x'", "sspr kiosk"},
		{[]string{"run", "extra"}, `"extra"`, "sspr run"},
		{[]string{"bogus"}, `unknown command "bogus"`, "sspr"},
		{[]string{"--bogus"}, "unknown flag: --bogus", "sspr"},
		{[]string{"users"}, "name a command", "sspr users"},
		{[]string{"users", "bogus"}, `unknown command "bogus"`, "sspr users"},
		{[]string{"users", "add"}, "give one LOGIN", "sspr users add"},
		{[]string{"users", "add", "a", "b"}, "give one LOGIN", "sspr users add"},
		{[]string{"users", "add", "a", "--phone", "1"}, "unknown flag: --phone", "sspr users add"},
		{[]string{"users", "verify"}, "give one LOGIN", "sspr users verify"},
		{[]string{"users", "list", "x"}, `"x"`, "sspr users list"},
		{[]string{"users", "totp"}, "give one LOGIN", "sspr users totp"},
		{[]string{"users", "encrypt-totp", "x"}, `"x"`, "sspr users encrypt-totp"},
		{[]string{"users", "ntfy-topic"}, "ntfy-topic LOGIN", "sspr users ntfy-topic"},
		{[]string{"check", "a", "b"}, "at most one LOGIN", "sspr check"},
		{[]string{"check", "--config"}, "flag needs an argument", "sspr check"},
		{[]string{"audit", "extra"}, `"extra"`, "sspr audit"},
		{[]string{"audit", "--since", "soon"}, "--since", "sspr audit"},
		{[]string{"version", "x"}, `"x"`, "sspr version"},
		{[]string{"completion"}, "bash, zsh or fish", "sspr completion"},
		{[]string{"completion", "tcsh"}, "bash, zsh or fish", "sspr completion"},
		{[]string{"serve", "--version"}, "unknown flag: --version", "sspr serve"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Setenv(configEnv, cfg)
			out, errOut, err := runCLI(c.args...)
			if exitCode(err) != 2 {
				t.Fatalf("exit status %d (%v), want 2", exitCode(err), err)
			}
			lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "sspr: ") || !strings.Contains(lines[0], c.want) {
				t.Fatalf("stderr %q, want one line with %q and the hint", errOut, c.want)
			}
			if want := "Run '" + c.cmd + " --help' for usage."; lines[1] != want {
				t.Fatalf("hint %q, want %q", lines[1], want)
			}
			if out != "" {
				t.Fatalf("stdout %q, want nothing", out)
			}
			if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the data dir was created: %v", err)
			}
		})
	}
}

// TestCLIBinaryUsageErrors: the built binary exits 2 on a wrong command
// line, at once, with the message on stderr, and listens on nothing.
func TestCLIBinaryUsageErrors(t *testing.T) {
	bin := buildBinary(t)
	port := freePort(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\nssh:\n  listen: 127.0.0.1:%d\n", dataDir, port))
	for _, args := range [][]string{
		{"serve", "--bogus", "--config", cfg},
		{"--config", cfg, "serve", "extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, errOut, code := runBinary(t, bin, args...)
			if code != 2 || !strings.HasPrefix(errOut, "sspr: ") || !strings.Contains(errOut, "Run 'sspr serve --help' for usage.") || out != "" {
				t.Fatalf("exit status %d, stdout %q, stderr %q", code, out, errOut)
			}
			assertStartedNothing(t, port, dataDir)
		})
	}
}

// TestCLIHelpStartsNothing: --help, -h and help CMD print help and exit 0,
// without reading the config, creating the data dir or listening.
func TestCLIHelpStartsNothing(t *testing.T) {
	bin := buildBinary(t)
	port := freePort(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\nssh:\n  listen: 127.0.0.1:%d\n", dataDir, port))
	cases := []struct {
		args []string
		want string // in the help
	}{
		{[]string{"--config", cfg, "serve", "--help"}, "sspr serve [flags]"},
		{[]string{"serve", "--config", cfg, "-h"}, "sspr serve [flags]"},
		{[]string{"--config", cfg, "help", "serve"}, "sspr serve [flags]"},
		{[]string{"--config", cfg, "kiosk", "--help"}, "sspr kiosk [flags]"},
		{[]string{"--config", cfg, "check", "--help"}, "sspr check [LOGIN] [flags]"},
		{[]string{"--config", cfg, "run", "--help"}, "sspr run [flags]"},
		{[]string{"--config", cfg, "--help"}, "Available Commands:"},
		{[]string{"--config", cfg, "help"}, "Available Commands:"},
		{[]string{"--config", cfg, "users", "--help"}, "ntfy-topic"},
		{[]string{"--config", cfg, "users", "add", "--help"}, "--mobile NUMBER"},
		{[]string{"--config", cfg, "audit", "--help"}, "--since T"},
		{[]string{"--config", cfg, "completion", "--help"}, "bash|zsh|fish"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[2:], " "), func(t *testing.T) {
			out, errOut, code := runBinary(t, bin, c.args...)
			if code != 0 || !strings.Contains(out, c.want) || !strings.Contains(out, "--config FILE") {
				t.Fatalf("exit status %d, stderr %q, stdout without %q:\n%s", code, errOut, c.want, out)
			}
			assertStartedNothing(t, port, dataDir)
		})
	}
	// The same with the config named by SSPR_CONFIG.
	out, errOut, code := runBinaryEnv(t, bin, []string{configEnv + "=" + cfg}, "serve", "--help")
	if code != 0 || !strings.Contains(out, "sspr serve [flags]") {
		t.Fatalf("SSPR_CONFIG serve --help: exit status %d, %q\n%s", code, errOut, out)
	}
	assertStartedNothing(t, port, dataDir)
}

// runBinary runs bin with args and no stdin, and gives it 20 seconds: a
// command that started a server would not end by itself.
func runBinary(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runBinaryEnv(t, bin, nil, args...)
}

func runBinaryEnv(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sspr %q did not end within 20 s: it started something\n%s%s", args, out.String(), errb.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// assertStartedNothing fails when port is open or dataDir exists.
func assertStartedNothing(t *testing.T, port int, dataDir string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		c.Close()
		t.Fatalf("port %d is open", port)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the data dir %s was created: %v", dataDir, err)
	}
}

// TestCLIVersion: --version and version print one line with the Go
// release, and read no config.
func TestCLIVersion(t *testing.T) {
	t.Setenv(configEnv, filepath.Join(t.TempDir(), "missing.yaml"))
	for _, args := range [][]string{{"--version"}, {"-v"}, {"version"}, {"version", "--plain"}} {
		out, errOut, err := runCLI(args...)
		if err != nil || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "sspr ") || !strings.Contains(out, " go1.") {
			t.Errorf("%q: %v, stdout %q, stderr %q", args, err, out, errOut)
		}
	}
}

func TestCLIVersionOf(t *testing.T) {
	build := func(main string, settings ...debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: main}, Settings: settings}
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "0123abcd"}
	cases := []struct {
		version string
		bi      *debug.BuildInfo
		want    string
	}{
		{"v1.2.3", build("v1.0.0", rev), "sspr v1.2.3 (commit 0123abcd, go1.99.1 "},
		{"", build("v1.0.0", rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "sspr v1.0.0 (commit 0123abcd-dirty, go1.99.1 "},
		{"", build("(devel)", rev, debug.BuildSetting{Key: "vcs.modified", Value: "false"}), "sspr devel (commit 0123abcd, go1.99.1 "},
		{"", build(""), "sspr devel (commit unknown, go1.99.1 "},
		{"", nil, "sspr devel (commit unknown, go1."},
	}
	for _, c := range cases {
		if got := versionOf(c.version, "", c.bi); !strings.HasPrefix(got, c.want) {
			t.Errorf("versionOf(%q, %v) = %q, want %q...", c.version, c.bi, got, c.want)
		}
	}
	// main.commit, stamped by scripts/package.sh, wins over the build info.
	if got := versionOf("1.2.3", "feedbeef", build("", rev)); !strings.HasPrefix(got, "sspr 1.2.3 (commit feedbeef, go1.99.1 ") {
		t.Errorf("versionOf with a stamped commit = %q", got)
	}
}

// TestCLICompletion: cobra's scripts for bash, zsh and fish.
func TestCLICompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, errOut, err := runCLI("completion", shell)
		if err != nil || len(out) < 100 || !strings.Contains(out, "sspr") {
			t.Errorf("completion %s: %v, stderr %q, %d bytes", shell, err, errOut, len(out))
		}
	}
	// The scripts ask the binary for candidates; it knows its commands.
	out, _, err := runCLI("__complete", "us")
	if err != nil || !strings.Contains(out, "users") {
		t.Errorf("__complete us: %v\n%s", err, out)
	}
}

// TestCLIUsersOnLDAP: the users commands that act on the embedded
// directory refuse a config with directory.ldap, and touch no file.
func TestCLIUsersOnLDAP(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := writeConfig(t, "data_dir: "+dataDir+`
directory:
  ldap:
    urls: [ldap://127.0.0.1:1]
    bind_dn: cn=x,dc=example,dc=com
    bind_password: x
    base_dn: dc=example,dc=com
`)
	for _, args := range [][]string{
		{"users", "add", "frank", "--name", "Frank"},
		{"users", "verify", "frank"},
		{"users", "list"},
		{"users", "encrypt-totp"},
		{"users", "set", "frank", "--name", "Frank"},
		{"users", "disable", "frank"},
		{"users", "enable", "frank"},
		{"users", "remove", "frank", "--yes"},
		{"users", "passwd", "frank"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, _, err := sspr(t, cfg, "Long-Enough-Pass1\n", args...)
			want := args[0] + " " + args[1] + " acts on the embedded directory; this config uses directory.ldap: manage people in the directory itself"
			if exitCode(err) != 2 || err.Error() != want {
				t.Fatalf("got %v, want exit status 2 and %q", err, want)
			}
			if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the data dir was created: %v", err)
			}
		})
	}
}
