package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mergeFixture writes the trails of two instances, interleaved in time,
// each with one malformed line, under dir/a and dir/b.
func mergeFixture(t *testing.T) (dir, a, b string) {
	t.Helper()
	dir = t.TempDir()
	ev := func(ts, sid, login, result string) string {
		return `{"time":"` + ts + `","level":"INFO","msg":"identify","sid":"` + sid + `","remote":"192.0.2.7:1","channel":"ssh","login":"` + login + `","step":"identify","result":"` + result + `","reason":""}`
	}
	write := func(name string, lines ...string) string {
		p := filepath.Join(dir, name, "audit.log")
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a = write("a",
		ev("2026-11-20T09:00:00Z", "aaaa0001", "alice", "ok"),
		ev("2026-11-20T09:00:02Z", "aaaa0002", "bob", "decoy"),
		`not JSON`,
		ev("2026-11-20T09:00:04Z", "aaaa0003", "alice", "refused"),
	)
	b = write("b",
		ev("2026-11-20T09:00:01Z", "bbbb0001", "carol", "ok"),
		`{"time":"never"}`,
		ev("2026-11-20T09:00:03Z", "bbbb0002", "alice", "ok"),
		// Out of order in its own file: printed where it is reached.
		ev("2026-11-20T08:59:00Z", "bbbb0003", "dave", "ok"),
		ev("2026-11-20T09:00:05Z", "bbbb0004", "alice", "decoy"),
	)
	return dir, a, b
}

// refs are the REF column of a table, in order.
func refs(t *testing.T, out string) []string {
	t.Helper()
	var r []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n")[1:] {
		f := strings.Fields(l)
		r = append(r, f[3]) // date, time, file, ref
	}
	return r
}

func TestAuditMerge(t *testing.T) {
	_, a, b := mergeFixture(t)
	cfg := writeConfig(t, "audit:\n  path: "+a+"\n")
	out, errOut, err := sspr(t, cfg, "", "audit", "--file", a, "--file", b)
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, errOut)
	}
	t.Logf("output:\n%s", out)
	assertInert(t, out)
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "TIME (UTC)           FILE         REF ") {
		t.Errorf("header %q: want a FILE column after the time", lines[0])
	}
	if !strings.HasPrefix(lines[1], "2026-11-20 09:00:00  a/audit.log  aaaa0001  ") {
		t.Errorf("first line %q", lines[1])
	}
	want := []string{"aaaa0001", "bbbb0001", "aaaa0002", "bbbb0002", "bbbb0003", "aaaa0003", "bbbb0004"}
	if got := refs(t, out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("order %v, want %v", got, want)
	}
	wantErr := "sspr audit: " + a + ": 1 malformed line skipped (line 3)\n" +
		"sspr audit: " + b + ": 1 malformed line skipped (line 2)\n"
	if errOut != wantErr {
		t.Errorf("stderr %q, want %q", errOut, wantErr)
	}

	// A glob names the same two files; the default file is left out.
	out2, errOut2, err := sspr(t, cfg, "", "audit", "--file", filepath.Join(filepath.Dir(filepath.Dir(a)), "*", "audit.log"))
	if err != nil || out2 != out || errOut2 != wantErr {
		t.Errorf("glob: %v\n%s\n%s", err, out2, errOut2)
	}
	// A file named twice is read once.
	out3, _, err := sspr(t, cfg, "", "audit", "--file", a, "--file", b, "--file", a)
	if err != nil || out3 != out {
		t.Errorf("a file named twice: %v\n%s", err, out3)
	}
}

func TestAuditMergeFilters(t *testing.T) {
	_, a, b := mergeFixture(t)
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--login", "ALICE"}, "aaaa0001 bbbb0002 aaaa0003 bbbb0004"},
		{[]string{"--result", "decoy"}, "aaaa0002 bbbb0004"},
		{[]string{"--sid", "bbbb"}, "bbbb0001 bbbb0002 bbbb0003 bbbb0004"},
		{[]string{"--since", "2026-11-20T09:00:03Z"}, "bbbb0002 aaaa0003 bbbb0004"},
		{[]string{"--login", "alice", "--result", "ok"}, "aaaa0001 bbbb0002"},
		{[]string{"--login", "nobody"}, ""},
	} {
		out, _, err := sspr(t, cfg, "", append([]string{"audit", "--file", a, "--file", b}, tc.args...)...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := strings.Join(refs(t, out), " "); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.args, got, tc.want)
		}
	}
}

func TestAuditMergeJSON(t *testing.T) {
	_, a, b := mergeFixture(t)
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	out, _, err := sspr(t, cfg, "", "audit", "--json", "--file", a, "--file", b, "--login", "alice")
	if err != nil {
		t.Fatal(err)
	}
	assertInert(t, out)
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, l)
		}
		if !strings.HasPrefix(l, `{"time":`) || !strings.HasSuffix(l, `,"audit_file":"`+ev["audit_file"].(string)+`"}`) {
			t.Errorf("the file's keys first, audit_file last: %s", l)
		}
		got = append(got, ev["sid"].(string)+"@"+filepath.Base(filepath.Dir(ev["audit_file"].(string))))
	}
	if want := "aaaa0001@a bbbb0002@b aaaa0003@a bbbb0004@b"; strings.Join(got, " ") != want {
		t.Errorf("%s, want %s", strings.Join(got, " "), want)
	}
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.Contains(l, `"audit_file":"`+a+`"`) && !strings.Contains(l, `"audit_file":"`+b+`"`) {
			t.Errorf("audit_file is not the file as named: %s", l)
		}
	}

	// One file: the lines as before, without audit_file.
	out, _, err = sspr(t, cfg, "", "audit", "--json", "--file", a)
	if err != nil || strings.Contains(out, "audit_file") {
		t.Errorf("one file: %v\n%s", err, out)
	}
}

// A planted audit_file key is shown, but the one added last says where
// the line came from.
func TestAuditMergePlantedFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	if err := os.WriteFile(a, []byte(`{"time":"2026-11-20T09:00:00Z","audit_file":"/elsewhere\u001b[2J"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := sspr(t, writeConfig(t, ""), "", "audit", "--json", "--file", a, "--file", b)
	if err != nil {
		t.Fatal(err)
	}
	assertInert(t, out)
	var ev map[string]any
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev["audit_file"] != a {
		t.Errorf("%v: %s", err, out)
	}
	out, _, err = sspr(t, writeConfig(t, ""), "", "audit", "--file", a, "--file", b)
	if err != nil || !strings.Contains(out, `a.log  -`) || !strings.Contains(out, `audit_file=/elsewhere\x1b[2J`) {
		t.Errorf("%v:\n%s", err, out)
	}
}

func TestAuditMergeStdin(t *testing.T) {
	_, a, _ := mergeFixture(t)
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	stdin := `{"time":"2026-11-20T09:00:01.5Z","sid":"cccc0001","step":"identify","result":"ok","login":"zed"}` + "\n" + "garbage\n"
	out, errOut, err := sspr(t, cfg, stdin, "audit", "--file", a, "--file", "-")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if want := "aaaa0001 cccc0001 aaaa0002 aaaa0003"; strings.Join(refs(t, out), " ") != want {
		t.Errorf("order %v, want %s\n%s", refs(t, out), want, out)
	}
	if !strings.Contains(out, "09:00:01  -          cccc0001") {
		t.Errorf("standard input is the file -:\n%s", out)
	}
	if !strings.Contains(errOut, "sspr audit: -: 1 malformed line skipped (line 2)\n") {
		t.Errorf("stderr %q", errOut)
	}
	if _, _, err := sspr(t, cfg, "", "audit", "--file", "-", "--file", a, "--file", "-"); exitCode(err) != 2 || !strings.Contains(err.Error(), "once") {
		t.Errorf("standard input twice: %v", err)
	}
}

func TestAuditMergeMissingFile(t *testing.T) {
	_, a, _ := mergeFixture(t)
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	missing := filepath.Join(t.TempDir(), "gone.log")
	out, _, err := sspr(t, cfg, "", "audit", "--file", a, "--file", missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("a missing file: %v", err)
	}
	if out != "" {
		t.Errorf("printed before the error:\n%s", out)
	}
	glob := filepath.Join(t.TempDir(), "*.log")
	if _, _, err := sspr(t, cfg, "", "audit", "--file", a, "--file", glob); err == nil || !strings.Contains(err.Error(), glob) || !strings.Contains(err.Error(), "no file matches") {
		t.Errorf("a glob that matches nothing: %v", err)
	}
	// An unquoted glob reaches sspr as arguments.
	if _, _, err := sspr(t, cfg, "", "audit", "--file", a, a); exitCode(err) != 2 || !strings.Contains(err.Error(), "quote") {
		t.Errorf("extra arguments: %v", err)
	}
}

func TestFileLabels(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"/var/log/h/a/audit.log", "/var/log/h/b/audit.log"}, []string{"a/audit.log", "b/audit.log"}},
		{[]string{"/var/log/audit.log.1", "/var/log/audit.log", "-"}, []string{"audit.log.1", "audit.log", "-"}},
		{[]string{"a.log", "x/b.log"}, []string{"a.log", "x/b.log"}},
		{[]string{"/a/x.log", "/b/y.log"}, []string{"a/x.log", "b/y.log"}},
	} {
		if got := fileLabels(tc.in); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("fileLabels(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// countingReader serves n audit lines, one second apart from start, made
// as they are read, and counts the bytes read.
type countingReader struct {
	start, n, i int
	buf         []byte
	read        int
}

func (c *countingReader) Read(p []byte) (int, error) {
	for len(c.buf) < len(p) && c.i < c.n {
		ts := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC).Add(time.Duration(c.start+c.i) * time.Second)
		c.buf = append(c.buf, `{"time":"`+ts.Format(time.RFC3339)+`","step":"identify","result":"ok","login":"`+strings.Repeat("x", 60)+`"}`+"\n"...)
		c.i++
	}
	if len(c.buf) == 0 {
		return 0, io.EOF
	}
	k := copy(p, c.buf)
	c.buf = c.buf[k:]
	c.read += k
	return k, nil
}

// firstPrinter records how much of big had been read when the first
// event was printed.
type firstPrinter struct {
	big          *countingReader
	events, seen int
}

func (p *firstPrinter) start(io.Writer) error { return nil }
func (p *firstPrinter) print(io.Writer, *auditEvent) error {
	if p.events == 0 {
		p.seen = p.big.read
	}
	p.events++
	return nil
}

// The merge streams: it prints the first event having read no more of a
// large file than one buffer, and holds one event per file.
func TestAuditMergeStreams(t *testing.T) {
	big := &countingReader{start: 1, n: 50000} // about 6 MB, from 09:00:01
	small := &countingReader{start: 0, n: 1}   // 09:00:00
	var srcs []*auditSource
	for i, r := range []io.Reader{big, small} {
		srcs = append(srcs, &auditSource{name: fmt.Sprint(i), index: i, r: bufio.NewReaderSize(r, 64<<10)})
	}
	p := &firstPrinter{big: big}
	if err := mergeAudit(srcs, auditFilter{}, p, io.Discard); err != nil {
		t.Fatal(err)
	}
	if p.events != 50001 {
		t.Errorf("%d events, want 50001", p.events)
	}
	if p.seen > 64<<10 {
		t.Errorf("%d bytes of the large file read before the first event was printed; want one buffer at most", p.seen)
	}
}
