package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

// resetsWith reports how a session of login on eng fares with code.
func resetsWith(t *testing.T, eng *flow.Engine, login, code string) error {
	t.Helper()
	ctx := context.Background()
	s, err := eng.Begin(ctx, flow.Origin{Channel: flow.SSH, Remote: "198.51.100.9:4444"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Identify(ctx, login, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Choose(ctx, flow.Helpdesk); err != nil {
		return err
	}
	if err := s.SubmitCode(ctx, code); err != nil {
		return err
	}
	if st := s.State().Step; st != flow.StepSetPassword {
		return fmt.Errorf("step %s after the code", st)
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// With the in-process store, the helpdesk commands reach the codes kept
// by the running server through its admin socket.
func TestHelpdeskThroughAdminSocket(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeConfig(t, fmt.Sprintf("data_dir: %s\n%s", dir, suspensionLimits))
	for _, login := range []string{"frank", "gina"} {
		if _, _, err := sspr(t, cfgPath, "Copper-Violin-3907\n", "users", "add", login); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	adm, err := startAdmin(cfg.Admin.Socket, a.engine, logger(os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.stop()

	out, _, err := sspr(t, cfgPath, "", "helpdesk", "code", "frank", "--uses", "2", "--ttl", "2h", "--agent", "jane")
	if err != nil || !strings.Contains(out, "issued a code for frank") || !strings.Contains(out, "for 2 resets") {
		t.Fatalf("code: %q, %v", out, err)
	}
	code := lastLine(out)
	if !helpdeskCodeRE.MatchString(code) {
		t.Fatalf("the last line is not a code: %q", out)
	}
	for _, bad := range []struct{ args, want string }{
		{"code frank --ttl 25h", "max_ttl"},
		{"code frank --uses 4", "max_uses"},
		{"code nobody", `"nobody" is not in the directory`},
		{"code", "give one LOGIN"},
	} {
		if _, errOut, err := sspr(t, cfgPath, "", append([]string{"helpdesk"}, strings.Fields(bad.args)...)...); err == nil || !strings.Contains(errOut+err.Error(), bad.want) {
			t.Errorf("helpdesk %s: %v %q, want %q", bad.args, err, errOut, bad.want)
		}
	}
	out, _, err = sspr(t, cfgPath, "", "helpdesk", "list", "--agent", "jane")
	if err != nil || !strings.Contains(out, "frank") || !strings.Contains(out, "  2  ") || !strings.Contains(out, "jane (") || strings.Contains(out, code) {
		t.Fatalf("list: %q, %v", out, err)
	}
	if err := resetsWith(t, a.engine, "frank", code); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := resetsWith(t, a.engine, "gina", code); flow.ReasonOf(err) != flow.ReasonCodeWrong {
		t.Fatalf("frank's code for gina: %v", err)
	}
	out, _, err = sspr(t, cfgPath, "", "helpdesk", "revoke", "frank")
	if err != nil || !strings.Contains(out, "revoked the helpdesk code of frank") {
		t.Fatalf("revoke: %q, %v", out, err)
	}
	out, _, err = sspr(t, cfgPath, "", "helpdesk", "list")
	if err != nil || !strings.Contains(out, "no live helpdesk codes") {
		t.Fatalf("list after revoke: %q, %v", out, err)
	}
	out, _, err = sspr(t, cfgPath, "", "helpdesk", "revoke", "frank")
	if err != nil || !strings.Contains(out, "frank had no helpdesk code") {
		t.Fatalf("second revoke: %q, %v", out, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "audit.log"))
	peer := fmt.Sprintf("[peer uid %d]", os.Getuid())
	for _, want := range []string{
		`"login":"frank","step":"helpdesk_code","agent":"jane (`,
		`"step":"helpdesk_list","agent":"jane (`,
		`"login":"frank","step":"helpdesk_revoke","agent":"`,
		`"revoked":true,"result":"ok"`,
		`"ttl":"25h0m0s","uses":1,"result":"refused"`,
		peer,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %s in the audit trail:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), code) {
		t.Fatal("the code is in the audit trail")
	}
}

// Without a running server the commands say where they looked.
func TestHelpdeskWithoutServer(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeConfig(t, fmt.Sprintf("data_dir: %s\n", dir))
	_, _, err := sspr(t, cfgPath, "", "helpdesk", "list")
	if err == nil || !strings.Contains(err.Error(), "is sspr serve running") {
		t.Fatalf("err = %v", err)
	}
}

// With store.redis, the commands act on Redis: a code issued by one
// process is used by another's engine and listed by a third.
func TestHelpdeskOnRedis(t *testing.T) {
	addr := startRedis(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, fmt.Sprintf("data_dir: %s\nstore:\n  redis:\n    addrs: [%q]\n    timeout: 2s\n%s", dir, addr, suspensionLimits))
	if _, _, err := sspr(t, cfgPath, "Copper-Violin-3907\n", "users", "add", "frank"); err != nil {
		t.Fatal(err)
	}
	out, _, err := sspr(t, cfgPath, "", "helpdesk", "code", "FRANK")
	if err != nil {
		t.Fatalf("code: %q, %v", out, err)
	}
	code := lastLine(out)
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := resetsWith(t, a.engine, "frank", code); err != nil {
		t.Fatalf("use: %v", err)
	}
	out, _, err = sspr(t, cfgPath, "", "helpdesk", "list")
	if err != nil || !strings.Contains(out, "no live helpdesk codes") {
		t.Fatalf("list after the only use: %q, %v", out, err)
	}
}

func TestHelpdeskConfig(t *testing.T) {
	for body, want := range map[string]string{
		"policy:\n  helpdesk:\n    counts_as: both\n":             "policy.helpdesk.counts_as",
		"policy:\n  helpdesk:\n    ttl: 48h\n":                    "policy.helpdesk.ttl",
		"policy:\n  helpdesk:\n    max_uses: 0\n":                 "policy.helpdesk.max_uses",
		"policy:\n  helpdesk:\n    max_ttl: 1000h\n    ttl: 1h\n": "policy.helpdesk.max_ttl",
	} {
		if _, err := loadConfig(writeConfig(t, body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %s", body, err, want)
		}
	}
	c, err := loadConfig(writeConfig(t, "policy:\n  helpdesk:\n    counts_as: all\n"))
	if err != nil || c.Settings.Config(make([]byte, 32), nil, "").Helpdesk.CountsAs != flow.CountsAsAll {
		t.Fatalf("counts_as all: %v", err)
	}
}
