package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
)

// uiFile is how sspr.yaml holds the block.
type uiFile struct {
	UI Settings `yaml:"ui"`
}

func TestSettingsLoad(t *testing.T) {
	f := uiFile{UI: DefaultSettings()}
	if err := config.Load([]byte("ui:\n  plain: true\n  lang: de_CH.UTF-8\n"), &f); err != nil {
		t.Fatal(err)
	}
	if want := (Settings{IdleTimeout: 5 * time.Minute, Plain: true, Lang: "de_CH.UTF-8"}); f.UI != want {
		t.Fatalf("got %+v, want %+v", f.UI, want)
	}
	f = uiFile{UI: DefaultSettings()}
	if err := config.Load([]byte("ui:\n  idle_timeout: 10s\n"), &f); err != nil || f.UI.IdleTimeout != 10*time.Second {
		t.Fatalf("got %+v, %v", f.UI, err)
	}
}

func TestSettingsErrorsCarryTheirPaths(t *testing.T) {
	f := uiFile{UI: DefaultSettings()}
	err := config.Load([]byte("ui:\n  idle_timeout: 0s\n  plian: true\n  lang: xx\n"), &f)
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("want config.Errors, got %v", err)
	}
	want := []string{
		"line 2: ui.idle_timeout: 0s is not allowed (10s to 1h)",
		"line 3: ui.plian: unknown key (did you mean plain?)",
		`line 4: ui.lang: "xx" is not allowed (one of en, de, fr, or a locale of one of them)`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}
