package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/tui"
	"github.com/sspr-project/sspr/tui/sshserver"
)

// shutdownGrace is how long open sessions get to finish on SIGTERM.
const shutdownGrace = 10 * time.Second

// serve runs the wizard over SSH until SIGINT or SIGTERM.
func serve(cfg *Config, stderr io.Writer) error {
	a, err := wire(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	warnings(cfg, stderr)
	log := logger(stderr)
	srv, err := sshserver.New(sshserver.Config{
		Listen:      cfg.SSH.Listen,
		HostKeyPath: cfg.SSH.HostKey,
		MaxSessions: cfg.SSH.MaxSessions,
		MaxTimeout:  cfg.SSH.MaxSessionTime.Duration,
		Logger:      log,
		NewModel: func(s sshserver.SessionInfo) tea.Model {
			return tui.New(a.engine, tui.Options{
				Origin:      flow.Origin{Channel: flow.SSH, Remote: s.Remote},
				Demo:        a.phone,
				SignInURL:   cfg.SignInURL,
				IdleTimeout: cfg.UI.IdleTimeout.Duration,
				Remote:      true,
			})
		},
	})
	if err != nil {
		return fmt.Errorf("ssh: %w", err)
	}
	l, err := net.Listen("tcp", cfg.SSH.Listen)
	if err != nil {
		return fmt.Errorf("ssh.listen: %w", err)
	}
	log.Info("serving", "listen", l.Addr().String(), "host_key", srv.HostKeyFingerprint(), "demo", cfg.demo,
		"outbox", cfg.Delivery.Demo.Outbox)

	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case err := <-done:
		return fmt.Errorf("ssh: %w", err)
	case s := <-sig:
		log.Info("shutting down", "signal", s.String(), "grace", shutdownGrace.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ssh: shutdown: %w", err)
	}
	return nil
}
