package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/user"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
	"github.com/sspr-project/sspr/tui"
)

// runLocal runs the wizard in this terminal: the reset, or with info
// "Update my security info".
func runLocal(cfg *Config, stderr io.Writer, info bool) error {
	a, err := wire(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	a.warnStoreAtStart(stderr)
	warnings(cfg, stderr)
	remote := "local"
	if u, err := user.Current(); err == nil {
		remote = "local:" + u.Username
	}
	// The side listener (http.listen) serves while the wizard runs; its log
	// would draw over the wizard, so it goes nowhere.
	side, err := startSide(cfg, a, nil, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), sideGrace)
		defer cancel()
		_ = side.stop(ctx)
	}()
	newWizard := tui.New
	if info {
		newWizard = tui.NewInfo
	}
	w := newWizard(a.engine, tui.Options{
		Origin:      flow.Origin{Channel: flow.Local, Remote: remote, Lang: i18n.Choose(cfg.UI.Lang, i18n.EnvLocale(nil))},
		Demo:        a.demoPhone(),
		SignInURL:   cfg.SignInURL,
		IdleTimeout: cfg.UI.IdleTimeout,
		Plain:       cfg.UI.Plain,
		// The spoken CAPTCHA, when the side listener serves it.
		CaptchaAudioURL: audioLink(cfg),
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
	if !cfg.Captcha.Enabled {
		fmt.Fprintln(w, "sspr: warning: captcha.enabled is false; use this only for automated tests")
	}
	if cfg.Demo && cfg.Methods.uses(providerDemo) {
		fmt.Fprintf(w, "sspr: WARNING: demo: true in %s: codes appear on the demo phone on the person's own screen, so anyone who knows a login can reset it; never serve real accounts like this\n", cfg.path)
	}
}
