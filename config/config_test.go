package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Timeout  time.Duration `yaml:"timeout" range:"0s..1m" doc:"how long"`
	Password Secret        `yaml:"password" doc:"the password"`
}

func (i *inner) SetDefaults() { i.Timeout = 10 * time.Second }

type sample struct {
	Cooldown time.Duration `yaml:"cooldown" range:"0s..10m"`
	Count    int           `yaml:"count" range:"1..10"`
	On       bool          `yaml:"on"`
	Names    []string      `yaml:"names"`
	Block    struct {
		Length int `yaml:"length" range:"5..8"`
	} `yaml:"block"`
	Opt *inner `yaml:"opt"`
}

func (s *sample) Validate() error {
	if s.On && len(s.Names) == 0 {
		return &Error{Path: "names", Msg: "needed when on"}
	}
	return nil
}

func defaults() sample {
	s := sample{Cooldown: time.Minute, Count: 3, On: true, Names: []string{"a"}}
	s.Block.Length = 5
	return s
}

func TestLoadKeepsExplicitZeroAndDefaults(t *testing.T) {
	s := defaults()
	if err := Load([]byte("cooldown: 0s\non: false\n"), &s); err != nil {
		t.Fatal(err)
	}
	if s.Cooldown != 0 || s.On || s.Count != 3 || s.Block.Length != 5 || s.Opt != nil {
		t.Fatalf("got %+v", s)
	}
	s = defaults()
	if err := Load([]byte("cooldown: 0\n"), &s); err != nil || s.Cooldown != 0 {
		t.Fatalf("a bare 0 duration: %v %v", s.Cooldown, err)
	}
}

func TestLoadCollectsEveryErrorWithItsPath(t *testing.T) {
	s := defaults()
	err := Load([]byte(`cooldwn: 5s
count: 11
block:
  length: x
opt:
  timeout: 2h
  pasword: y
names: [b]
on: maybe
`), &s)
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want Errors, got %v", err)
	}
	want := []string{
		"line 1: cooldwn: unknown key (did you mean cooldown?)",
		"line 2: count: 11 is not allowed (1 to 10)",
		`line 4: block.length: "x" is not a whole number`,
		"line 6: opt.timeout: 2h is not allowed (0s to 1m)",
		"line 7: opt.pasword: unknown key (did you mean password?)",
		`line 9: on: "maybe" is not true or false`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

func TestValidateRunsWithRelativePaths(t *testing.T) {
	s := defaults()
	err := Load([]byte("names: []\n"), &s)
	if err == nil || err.Error() != "line 1: names: needed when on" {
		t.Fatalf("got %v", err)
	}
}

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("  s3cret  \n"), 0o600)
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte("s3cret\n"), 0o644)
	two := filepath.Join(dir, "two")
	os.WriteFile(two, []byte("a\nb\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	t.Setenv("SSPR_TEST_SECRET", " fromenv\n")
	t.Setenv("SSPR_TEST_EMPTY", "")
	for _, tc := range []struct{ yaml, value, err string }{
		{"password: p4ss-word", "p4ss-word", ""},
		{"password_file: " + good, "s3cret", ""},
		{"password_env: SSPR_TEST_SECRET", "fromenv", ""},
		{"password_file: " + open, "", "opt.password: " + open + " is mode 0644: its group or others may read it; chmod 600 " + open},
		{"password_file: " + two, "", "holds more than one line"},
		{"password_file: " + empty, "", "opt.password: is empty"},
		{"password_env: SSPR_TEST_EMPTY", "", "is empty"},
		{"password_env: SSPR_TEST_UNSET_XYZ", "", "SSPR_TEST_UNSET_XYZ is not set"},
		{`password: ""`, "", "is empty"},
		{"password: a\n  password_env: SSPR_TEST_SECRET", "", "given more than once"},
	} {
		s := defaults()
		err := Load([]byte("opt:\n  "+tc.yaml+"\n"), &s)
		if tc.err == "" {
			if err != nil || s.Opt.Password.Value() != tc.value {
				t.Errorf("%s: got %q, %v", tc.yaml, s.Opt.Password.Value(), err)
			}
			if strings.Contains(s.Opt.Password.String(), tc.value) {
				t.Errorf("%s: String shows the secret", tc.yaml)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.err)
		}
	}
}

func TestOptionalBlockTakesItsDefaults(t *testing.T) {
	s := defaults()
	if err := Load([]byte("opt: {}\n"), &s); err != nil {
		t.Fatal(err)
	}
	if s.Opt == nil || s.Opt.Timeout != 10*time.Second {
		t.Fatalf("got %+v", s.Opt)
	}
}

func TestReference(t *testing.T) {
	s := defaults()
	md := Markdown(Reference(&s))
	for _, want := range []string{
		"| `cooldown` | `1m` |  (0s to 10m) |",
		"| `opt.timeout` | `10s` | how long (0s to 1m) |",
		"| `opt.password`, `password_file`, `password_env` | none | the password |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("reference lacks %q:\n%s", want, md)
		}
	}
}

// TestZeroOrRange: a "0|lo..hi" range takes zero (a default) or a value
// in the range, and says so.
func TestZeroOrRange(t *testing.T) {
	type s struct {
		Timeout time.Duration `yaml:"timeout" range:"0|1s..30s"`
	}
	for _, tc := range []struct{ yaml, err string }{
		{"timeout: 0s", ""}, {"timeout: 5s", ""},
		{"timeout: 500ms", "timeout: 500ms is not allowed (0, or 1s to 30s)"},
		{"timeout: 1m", "timeout: 1m is not allowed (0, or 1s to 30s)"},
	} {
		var v s
		err := Load([]byte(tc.yaml), &v)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.err)
		}
	}
}

func TestLoadMapOfValues(t *testing.T) {
	var v struct {
		Headers map[string]string `yaml:"headers"`
		Ports   map[string]int    `yaml:"ports"`
	}
	if err := Load([]byte("headers:\n  X-A: a\n  Accept: application/json\n"), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Headers) != 2 || v.Headers["X-A"] != "a" || v.Headers["Accept"] != "application/json" {
		t.Fatalf("got %v", v.Headers)
	}
	err := Load([]byte("headers: [a]\nports:\n  a: x\n  b: 1\n  b: 2\n"), &v)
	for _, want := range []string{"headers: must be a block", "ports.a: ", "ports.b: is given twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err %v, want %q", err, want)
		}
	}
}
