package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sspr-project/sspr/config"

	tea "charm.land/bubbletea/v2"
	"golang.org/x/sys/unix"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
	"github.com/sspr-project/sspr/tui"
)

// KioskConfig is `sspr kiosk`, the wizard on a shared local terminal.
type KioskConfig struct {
	// Name is the kiosk's source in audit lines and throttles; it defaults
	// at start (the host name) so a config read elsewhere does not depend
	// on the host.
	Name string `yaml:"name" default:"kiosk:<host name>" doc:"the kiosk's source in audit lines and throttles (sspr kiosk); up to 64 characters, no spaces or slashes"`
	// Idle returns to the first screen after this long without input.
	Idle time.Duration `yaml:"idle" range:"1s..1h" doc:"without a key press for this long the kiosk returns to a fresh first screen and erases the screen and scrollback"`
	// ExitKeys is the admin exit sequence; empty: the kiosk cannot be left.
	ExitKeys []string `yaml:"exit_keys" default:"none: the kiosk cannot be left" doc:"an admin exit: 3 to 16 keys as Bubble Tea names them (e.g. [ctrl+x, ctrl+x, ctrl+k]), typed in a row"`
	// Log receives crash reports and anything written to standard error.
	Log string `yaml:"log" default:"<data_dir>/kiosk.log" doc:"the kiosk's own log (start, stop, crashes) and its standard error"`
}

// Validate checks the kiosk's name and exit keys.
func (k *KioskConfig) Validate() error {
	var es config.Errors
	if k.Name != "" && (len(k.Name) > 64 || k.Name != flow.Sanitize(k.Name, 64) || strings.ContainsAny(k.Name, " \t/")) {
		es.Add("name", "%q is not allowed (up to 64 printable characters without spaces or slashes, e.g. lobby-1)", flow.Sanitize(k.Name, 64))
	}
	if len(k.ExitKeys) != 0 && (len(k.ExitKeys) < 3 || len(k.ExitKeys) > 16) {
		es.Add("exit_keys", "%d keys are not allowed (none: the kiosk cannot be left, or 3 to 16 keys)", len(k.ExitKeys))
	}
	for i, key := range k.ExitKeys {
		if key == "" || len(key) > 32 || key != flow.Sanitize(key, 32) {
			es.Add(fmt.Sprintf("exit_keys[%d]", i), "%q is not allowed (a key as Bubble Tea names it, e.g. \"ctrl+x\" or \"f12\")", flow.Sanitize(key, 32))
		}
	}
	return es.Err()
}

// kioskName is the kiosk's source in audit lines and throttles.
func kioskName(cfg *Config) string {
	if cfg.Kiosk.Name != "" {
		return cfg.Kiosk.Name
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return "kiosk:" + flow.Sanitize(h, 56)
	}
	return "kiosk"
}

// kiosk runs the wizard on this terminal for whoever walks up, until the
// admin exit keys (if configured), SIGTERM or SIGHUP. Ctrl+C, Ctrl+Z,
// Ctrl+\ and the signals they would send do nothing; a crash of the wizard
// is logged and the wizard starts again at the first screen.
func kiosk(cfg *Config, stdout, stderr io.Writer) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	logFile, err := os.OpenFile(cfg.Kiosk.Log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("kiosk.log: %w", err)
	}
	defer logFile.Close()
	log := slog.New(slog.NewJSONHandler(logFile, nil))
	// Set-up errors still reach the terminal: nobody has typed anything yet.
	a, err := wire(cfg)
	if err != nil {
		log.Error("kiosk cannot start", "err", err.Error())
		return err
	}
	defer a.Close()
	if a.storeAtStart != nil {
		log.Warn("store_unavailable_at_start", "err", a.storeAtStart.Error())
	}

	// From here on nothing but the wizard reaches the screen: standard error
	// (Bubble Tea's panic report, a runtime crash) goes to the kiosk log.
	if err := unix.Dup2(int(logFile.Fd()), 2); err != nil {
		return fmt.Errorf("kiosk.log: redirecting standard error: %w", err)
	}
	stderr = logFile
	signal.Ignore(syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	warnings(cfg, stderr)
	name := kioskName(cfg)
	log.Info("kiosk started", "kiosk", name, "idle", cfg.Kiosk.Idle.String(), "admin_exit", len(cfg.Kiosk.ExitKeys) > 0)

	once := func(ctx context.Context) (bool, error) {
		w := tui.New(a.engine, tui.Options{
			Origin:      flow.Origin{Channel: flow.Kiosk, Remote: name, Lang: i18n.Choose(cfg.UI.Lang, i18n.EnvLocale(nil))},
			Demo:        a.demoPhone(),
			SignInURL:   cfg.SignInURL,
			IdleTimeout: cfg.Kiosk.Idle,
			ExitKeys:    cfg.Kiosk.ExitKeys,
			Plain:       cfg.UI.Plain,
		})
		defer w.Close()
		p := tea.NewProgram(w, tea.WithContext(ctx), tea.WithoutSignalHandler(), tea.WithFilter(kioskFilter))
		_, err := p.Run()
		return w.AdminExit(), err
	}
	clear := func() { fmt.Fprint(stdout, tui.ClearAll) }
	err = kioskLoop(ctx, once, log, clear)
	log.Info("kiosk stopped", "kiosk", name, "reason", kioskStopReason(ctx, err))
	return err
}

// kioskFilter drops what would suspend or end the program; only the
// Wizard's admin exit may quit.
func kioskFilter(m tea.Model, msg tea.Msg) tea.Msg {
	switch msg.(type) {
	case tea.SuspendMsg, tea.InterruptMsg:
		return nil
	case tea.QuitMsg:
		if w, ok := m.(*tui.Wizard); ok && w.AdminExit() {
			return msg
		}
		return nil
	}
	return msg
}

func kioskStopReason(ctx context.Context, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case ctx.Err() != nil:
		return "signal"
	}
	return "admin exit keys"
}

// kioskBackoff is how long a run must last not to count as ending at once,
// and the pause after one that did.
var kioskBackoff = time.Second

// kioskLoop runs the wizard again and again: after a crash (logged) and
// after any other end that is not the admin exit or ctx's end. The screen
// and scrollback are cleared before and after every run. Errors that come
// back at once several times in a row (no terminal, say) end the loop.
func kioskLoop(ctx context.Context, once func(context.Context) (bool, error), log *slog.Logger, clear func()) error {
	const maxFast = 10
	fast := kioskBackoff
	fastFailures := 0
	for {
		clear()
		start := time.Now()
		adminExit, err := safeRun(ctx, once)
		clear()
		switch {
		case adminExit:
			return nil
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, tea.ErrProgramPanic):
			log.Error("wizard crashed; restarted at the first screen", "err", err.Error())
		case err != nil:
			log.Error("wizard ended; restarted at the first screen", "err", err.Error())
		default:
			log.Warn("wizard ended without the admin exit; restarted at the first screen")
		}
		if time.Since(start) < fast {
			fastFailures++
			if fastFailures >= maxFast {
				if err == nil {
					err = errors.New("the wizard keeps ending at once")
				}
				return fmt.Errorf("kiosk: giving up after %d restarts in a row: %w", maxFast, err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(fast):
			}
		} else {
			fastFailures = 0
		}
	}
}

// safeRun runs once and turns a panic outside Bubble Tea's own recovery
// (in building the Wizard, say) into tea.ErrProgramPanic.
func safeRun(ctx context.Context, once func(context.Context) (bool, error)) (adminExit bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			adminExit, err = false, fmt.Errorf("%w: %v", tea.ErrProgramPanic, r)
		}
	}()
	return once(ctx)
}
