package sshserver

import (
	"slices"
	"testing"
)

// TestProgramEnvKeepsTheLocale: the client's LANG, LC_ALL and LC_CTYPE
// reach the program (it draws ASCII for a terminal that is not UTF-8) when
// they look like locales; anything else the client sends does not.
func TestProgramEnvKeepsTheLocale(t *testing.T) {
	got := programEnv("xterm-256color", []string{"LANG=de_DE.ISO-8859-1", "LC_CTYPE=C", "LC_ALL=../../etc/x", "LD_PRELOAD=/tmp/x.so", "FOO=bar"})
	want := []string{"TERM=xterm-256color", "LANG=de_DE.ISO-8859-1", "LC_CTYPE=C"}
	if !slices.Equal(got, want) {
		t.Fatalf("programEnv = %q, want %q", got, want)
	}
}
