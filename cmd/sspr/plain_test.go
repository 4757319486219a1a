package main

import (
	"strings"
	"testing"
)

// TestPlainFromConfig: ui.plain turns plain mode on; it is off by default.
func TestPlainFromConfig(t *testing.T) {
	c, err := loadConfig(writeConfig(t, "ui:\n  plain: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.UI.Plain {
		t.Fatal("ui.plain was not read")
	}
	if c, _ := loadConfig(""); c.UI.Plain {
		t.Fatal("plain mode is on by default")
	}
}

// TestPlainFlag: --plain is accepted and listed in the usage.
func TestPlainFlag(t *testing.T) {
	var out, errOut strings.Builder
	if err := run([]string{"--plain", "help"}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	if !strings.Contains(out.String(), "--plain") {
		t.Fatalf("no --plain in the usage:\n%s", out.String())
	}
}
