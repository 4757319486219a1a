package main

import (
	"fmt"
	"io"
	"os/user"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/tui"
)

// runLocal runs the wizard in this terminal.
func runLocal(cfg *Config, stderr io.Writer) error {
	a, err := wire(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	warnings(cfg, stderr)
	remote := "local"
	if u, err := user.Current(); err == nil {
		remote = "local:" + u.Username
	}
	w := tui.New(a.engine, tui.Options{
		Origin:      flow.Origin{Channel: flow.Local, Remote: remote},
		Demo:        a.phone,
		SignInURL:   cfg.SignInURL,
		IdleTimeout: cfg.UI.IdleTimeout.Duration,
		Plain:       cfg.UI.Plain,
	})
	defer w.Close()
	if _, err := tea.NewProgram(w).Run(); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	return nil
}

// warnings says, before anything starts, what makes this instance unsafe
// for real use.
func warnings(cfg *Config, w io.Writer) {
	if !boolOr(cfg.Captcha.Enabled, true) {
		fmt.Fprintln(w, "sspr: warning: captcha.enabled is false; use this only for automated tests")
	}
}
