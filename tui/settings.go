package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
)

// Settings is the `ui` block of sspr.yaml: how the screens look and how
// long they wait. Start from DefaultSettings: the file is decoded over it.
// The caller turns them into Options (IdleTimeout, Plain) and into the
// language of each session (Lang, or the client's locale over SSH).
type Settings struct {
	IdleTimeout time.Duration `yaml:"idle_timeout" range:"10s..1h" doc:"a session with no key press for this long ends"`
	Plain       bool          `yaml:"plain" doc:"plain screens for screen readers: no colour, no box drawing, no animation (also --plain)"`
	Lang        string        `yaml:"lang" default:"none: the environment, else English" doc:"language of the screens, texts, calls and notices: en, de, fr or a locale such as de_DE.UTF-8; over SSH a client's LANG/LC_* naming one of them wins (see docs/LANGUAGES.md)"`
}

// DefaultSettings is the ui block sspr ships with.
func DefaultSettings() Settings {
	return Settings{IdleTimeout: 5 * time.Minute}
}

// Validate checks that the language is one sspr offers, with a path
// relative to the block.
func (s *Settings) Validate() error {
	if s.Lang != "" {
		if _, ok := i18n.Match(s.Lang); !ok {
			return &config.Error{Path: "lang", Msg: fmt.Sprintf("%q is not allowed (one of %s, or a locale of one of them)", flow.Sanitize(s.Lang, 32), strings.Join(i18n.Languages(), ", "))}
		}
	}
	return nil
}
