package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const (
	sidAlice = "3127ab35c0ffee00112233445566778f"
	sidEvil  = "9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d"
)

// evilLogin is a login as an attacker would type it, had the engine not
// removed its control characters, or as someone with write access to the
// file could plant it: a clipboard write (OSC 52), a screen clear, a fake
// log line, and a right-to-left override.
const evilLogin = "\x1b]52;c;aGk=\x07\x1b[2Jroot\n2026-01-01 INFO reset ok user=admin \u202etxt.exe"

// auditFixture is a crafted audit file: events as the engine writes them,
// the evil login, raw DEL and C1 characters and an invalid byte inside
// strings (all valid JSON), and malformed lines.
func auditFixture(t *testing.T) string {
	t.Helper()
	evil, err := json.Marshal(evilLogin)
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		`{"time":"2026-11-20T09:00:00.123Z","level":"INFO","msg":"session","sid":"` + sidAlice + `","remote":"192.0.2.7:50022","channel":"ssh","login":"","method":"","step":"session","result":"started","reason":""}`,
		`{"time":"2026-11-20T09:00:05Z","level":"INFO","msg":"identify","sid":"` + sidAlice + `","remote":"192.0.2.7:50022","channel":"ssh","login":"Alice","method":"","step":"identify","result":"ok","reason":""}`,
		`this is not JSON`,
		`{"time":"2026-11-20T09:01:00Z","level":"INFO","msg":"identify","sid":"` + sidEvil + `","remote":"198.51.100.4:40000","channel":"ssh","login":` + string(evil) + `,"step":"identify","result":"decoy","reason":"unknown"}`,
		`{"time":"yesterday","msg":"identify"}`,
		``,
		`[1,2,3]`,
		`{"time":"2026-11-20T09:02:00Z","level":"INFO","msg":"identify","sid":"` + sidEvil + `","remote":"198.51.100.4:40000","channel":"ssh","login":"del` + "\x7f" + `c1` + "\u009b" + `31mbad` + "\xff" + `","step":"identify","result":"decoy","reason":"unknown"}`,
		`{"time":"2026-11-20T09:03:00Z","level":"ERROR","msg":"directory write failed","sid":"` + sidAlice + `","error":"ldap: result 53 \u001b[31m"}`,
		`{"time":"2026-11-21T10:00:00+02:00","level":"INFO","msg":"set_password","sid":"` + sidAlice + `","remote":"192.0.2.7:50022","channel":"ssh","login":"alice","method":"sms","step":"set_password","result":"ok","reason":""}`,
		`{"time":"2026-11-21T10:00:01Z","level":"INFO","msg":"drain","step":"drain","result":"started","in_flight":1}`,
		`{"time":"2026-11-21T10:00:02Z"} {"time":"2026-11-21T10:00:03Z"}`,
		`{"time":"2026-11-21T10:00:04Z","login":"trunc`,
	}
	p := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertInert fails when out holds anything a terminal could act on.
func assertInert(t *testing.T, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("output is not valid UTF-8: %q", out)
	}
	for i, r := range out {
		if r != '\n' && unsafeRune(r) {
			t.Fatalf("output holds %U at byte %d: %q", r, i, out)
		}
	}
}

func TestAuditTable(t *testing.T) {
	file := auditFixture(t)
	cfg := writeConfig(t, "audit:\n  path: "+file+"\n")
	out, errOut, err := sspr(t, cfg, "", "audit")
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, errOut)
	}
	t.Logf("output:\n%s", out)
	assertInert(t, out)

	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d lines, want a header and 7 events:\n%s", len(lines), out)
	}
	header := lines[0]
	for _, col := range []string{"TIME (UTC)", "REF", "REMOTE", "LOGIN", "STEP", "METHOD", "RESULT", "REASON"} {
		if !strings.Contains(header, col) {
			t.Errorf("header %q lacks %s", header, col)
		}
	}
	// Aligned: on ordinary lines each column starts where its title does.
	for _, i := range []int{1, 2, 6} {
		for _, col := range []string{"REF", "REMOTE", "LOGIN", "STEP", "METHOD", "RESULT"} {
			at := strings.Index(header, col)
			if at == 0 || lines[i][at-2:at] != "  " || lines[i][at] == ' ' {
				t.Errorf("line %d: column %s does not start at %d:\n%s\n%s", i, col, at, header, lines[i])
			}
		}
	}
	for _, want := range []string{
		"2026-11-20 09:00:00  3127ab35  192.0.2.7:50022",
		"Alice", "identify", "ok",
		// The evil login, every part of it visible and inert.
		`\x1b]52;c;aGk=\x07\x1b[2Jroot\n2026-01-01 INFO reset ok user=admin \u202etxt.exe`,
		// An invalid byte was read as U+FFFD, which is printable.
		`del\x7fc1\u009b31mbad` + "\ufffd",
		// An error record: its message as the step, its level as the result, its error shown.
		`directory write failed  -             error     error="ldap: result 53 \x1b[31m"`,
		// Times are shown in UTC.
		"2026-11-21 08:00:00  3127ab35",
		"drain", "in_flight=1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if want := "sspr audit: 5 malformed lines skipped (lines 3, 5, 7, 12, 13)\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}

func TestAuditFilters(t *testing.T) {
	file := auditFixture(t)
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	count := func(args ...string) int {
		t.Helper()
		out, errOut, err := sspr(t, cfg, "", append([]string{"audit", "--file", file}, args...)...)
		if err != nil {
			t.Fatalf("audit %v: %v\n%s", args, err, errOut)
		}
		assertInert(t, out)
		return strings.Count(out, "\n") - 1 // the header
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 7},
		{[]string{"--sid", "3127AB35"}, 4},
		{[]string{"--sid", sidEvil}, 2},
		{[]string{"--sid", "ffff"}, 0},
		{[]string{"--login", " ALICE "}, 2},
		// The canonical login: a fullwidth a is an a.
		{[]string{"--login", "ａlice"}, 2},
		{[]string{"--result", "decoy"}, 2},
		{[]string{"--result", "error"}, 1},
		{[]string{"--since", "2026-11-21"}, 2},
		{[]string{"--since", "2026-11-20T09:01:00Z"}, 5},
		{[]string{"--sid", "3127ab35", "--result", "ok", "--since", "2026-11-21T07:59:00Z"}, 1},
		{[]string{"--since", "1h"}, 0},
	} {
		if got := count(tc.args...); got != tc.want {
			t.Errorf("audit %q: %d events, want %d", tc.args, got, tc.want)
		}
	}
}

func TestAuditJSON(t *testing.T) {
	file := auditFixture(t)
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	out, _, err := sspr(t, cfg, "", "audit", "--file", file, "--json", "--result", "decoy")
	if err != nil {
		t.Fatal(err)
	}
	assertInert(t, out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, lines[0])
	}
	// The same value, escaped for the terminal.
	if ev["login"] != evilLogin {
		t.Errorf("login %q, want %q", ev["login"], evilLogin)
	}
	if !strings.HasPrefix(lines[0], `{"time":"2026-11-20T09:01:00Z","level":"INFO","msg":"identify"`) {
		t.Errorf("keys not in the order of the file: %s", lines[0])
	}
	if err := json.Unmarshal([]byte(lines[1]), &ev); err != nil || ev["login"] != "del\x7fc1\u009b31mbad\ufffd" {
		t.Errorf("second line: %v %q", err, ev["login"])
	}
}

func TestAuditFileErrors(t *testing.T) {
	cfg := writeConfig(t, "audit:\n  path: \"-\"\n")
	if _, _, err := sspr(t, cfg, "", "audit"); err == nil || !strings.Contains(err.Error(), "--file") {
		t.Errorf("audit.path - without --file: %v", err)
	}
	out, _, err := sspr(t, cfg, `{"time":"2026-11-20T09:00:00Z","step":"identify","result":"ok","login":"zed"}`+"\n", "audit", "--file", "-")
	if err != nil || !strings.Contains(out, "zed") {
		t.Errorf("--file - reads standard input: %v\n%s", err, out)
	}
	if _, _, err := sspr(t, cfg, "", "audit", "--file", filepath.Join(t.TempDir(), "none.log")); err == nil {
		t.Error("a missing file is no error")
	}
	for _, args := range [][]string{{"--since", "soon"}, {"--since", "-2h"}, {"--bogus"}, {"extra"}} {
		if _, _, err := sspr(t, cfg, "", append([]string{"audit", "--file", "-"}, args...)...); exitCode(err) != 2 {
			t.Errorf("audit %q: %v, want exit status 2", args, err)
		}
	}
}

// A line longer than the limit is malformed, and the next one is read.
func TestAuditLongLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.log")
	long := `{"time":"2026-11-20T09:00:00Z","login":"` + strings.Repeat("a", maxAuditLine) + `"}`
	ok := `{"time":"2026-11-20T09:00:01Z","login":"after","result":"ok"}`
	if err := os.WriteFile(p, []byte(long+"\n"+ok), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := sspr(t, writeConfig(t, ""), "", "audit", "--file", p)
	if err != nil || !strings.Contains(out, "after") || !strings.Contains(errOut, "1 malformed line skipped (line 1)") {
		t.Errorf("err %v\nstdout %s\nstderr %s", err, out, errOut)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2h", now.Add(-2 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
		{"7d", now.AddDate(0, 0, -7)},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01T08:30", time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC)},
		{"2026-11-01T08:30:00+01:00", time.Date(2026, 11, 1, 7, 30, 0, 0, time.UTC)},
	} {
		got, err := parseSince(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "soon", "-1h", "d", "2026-13-01"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}

func FuzzAuditLine(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-20T09:00:00Z","login":"\u001b[2J\u202e","x":"\u0085"}`))
	f.Add([]byte(`{"time":"2026-11-20T09:00:00Z","login":"a` + "\xff\x7f\u2028" + `"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, ok := parseAuditLine(line)
		if !ok {
			return
		}
		var b strings.Builder
		if err := (tablePrinter{}).print(&b, ev); err != nil {
			t.Fatal(err)
		}
		if err := (jsonPrinter{}).print(&b, ev); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, r := range out {
			if r != '\n' && unsafeRune(r) {
				t.Fatalf("printed %U from %q", r, line)
			}
		}
		if js := escapeJSON(ev.line); !json.Valid([]byte(js)) {
			t.Fatalf("escaped JSON is not JSON: %s", js)
		}
	})
}
