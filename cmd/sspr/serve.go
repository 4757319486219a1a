package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/redisstore"
	"github.com/sspr-project/sspr/tui"
	"github.com/sspr-project/sspr/tui/sshserver"
)

// serve runs the wizard over SSH until SIGINT or SIGTERM. SIGHUP reopens
// the log files after a rotation and changes nothing else.
func serve(cfg *Config, stderr io.Writer) error {
	// SIGHUP is caught first thing: its default action ends the process,
	// and logrotate may send it at any moment.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	log, logFile, err := openLog(cfg.Log, stderr)
	if err != nil {
		return err
	}
	if logFile != nil {
		// Closed last, after whatever closing the rest logs.
		defer logFile.Close()
	}
	a, err := wire(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	warnings(cfg, stderr)
	if cfg.Demo && cfg.Methods.uses(providerDemo) {
		// Every start, in the server log too (log.file may not be the
		// terminal).
		log.Warn("demo_mode", "config", cfg.path, "methods", cfg.Methods.list(),
			"note", "demo: true: codes appear on the demo phone on the person's own screen; never serve real accounts like this")
	}
	// What SIGHUP reopens, the server log first so that log_reopened
	// lands in the new file; an audit trail on standard error ("-") is
	// not reopened.
	var rotated []namedLog
	if logFile != nil {
		rotated = append(rotated, namedLog{"log.file", logFile})
	}
	if r, ok := a.audit.(reopener); ok {
		rotated = append(rotated, namedLog{"audit.path", r})
	}
	served := make(chan struct{})
	defer close(served)
	go func() {
		for {
			select {
			case <-hup:
				reopenLogs(log, rotated)
			case <-served:
				return
			}
		}
	}()
	l, err := net.Listen("tcp", cfg.SSH.Listen)
	if err != nil {
		return fmt.Errorf("ssh.listen: %w", err)
	}
	// SIGHUP has its own channel above: only these two end the server.
	stop := make(chan os.Signal, 2)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(stop)
	if cfg.demo {
		logDemoListen(log, cfg.SSH.Listen)
	}
	if a.dir != nil {
		a.dir.SetLogger(log)
	}
	if len(cfg.Store.Redis.Addrs) > 0 {
		redisstore.LogTo(log)
	}
	stopDebug, err := startDebug(cfg.Debug, log)
	if err != nil {
		_ = l.Close()
		return err
	}
	defer stopDebug()
	// The side listener (http.listen) lives as long as the SSH server: it
	// serves before SSH accepts (the SSH port is bound earlier, so an early
	// client waits in its queue, while an early HTTP client may find the
	// side port closed) and stops once SSH has drained.
	a.delivery.log.set(log.Handler())
	// The store and the directory are checked on a timer, for the up
	// gauges and /readyz; a change of state is logged once.
	watch := newBackendWatch(log, a.delivery.metrics, a.delivery.store, a.dirPing)
	watch.key = a.keyCheck
	if a.storeAtStart != nil {
		log.Warn("store_unavailable_at_start", "error", a.storeAtStart.Error(),
			"note", "new sessions see \"temporarily unavailable\" until the store answers")
		watch.storeAway()
	}
	bi, _ := debug.ReadBuildInfo()
	a.delivery.metrics.SetBuildInfo(versionParts(version, commit, bi))
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go watch.run(watchCtx, backendCheckEvery)
	side, err := startSide(cfg, a, watch, log, func(err error) {
		log.Error("http_failed", "error", err.Error())
		select {
		case stop <- syscall.SIGTERM:
		default:
		}
	})
	if err != nil {
		_ = l.Close()
		return err
	}
	// With the in-process store, suspensions live here: the admin socket
	// lets `sspr suspensions` reach them.
	if len(cfg.Store.Redis.Addrs) == 0 {
		adm, err := startAdmin(cfg.Admin.Socket, a.engine, log)
		if err != nil {
			_ = l.Close()
			ctx, cancel := context.WithTimeout(context.Background(), sideGrace)
			_ = side.stop(ctx)
			cancel()
			return err
		}
		defer adm.stop()
	}
	err = serveOn(cfg, a.engine, a.demoPhone(), l, log, stop)
	ctx, cancel := context.WithTimeout(context.Background(), sideGrace)
	defer cancel()
	if serr := side.stop(ctx); serr != nil && err == nil {
		err = serr
	}
	return err
}

// drainer is what a shutdown needs of the engine: refuse new work and wait
// for the password writes under way.
type drainer interface {
	Drain(ctx context.Context) error
}

// serveOn serves the wizard of eng on l until a value arrives on stop,
// then shuts down: see shutdown. phone is the demo phone, nil for none.
func serveOn(cfg *Config, eng *flow.Engine, phone tui.DemoPhone, l net.Listener, log *slog.Logger, stop <-chan os.Signal) error {
	srv, err := sshserver.New(sshserver.Config{
		Settings: cfg.SSH,
		Lang:     cfg.UI.Lang,
		Logger:   log,
		// Clients are asked for a key only when the key can be a method.
		KeyAuth: cfg.Policy.SSHKey.Enabled,
		// Plain screens stay in the top left corner of a large window,
		// where a screen reader or a magnifier starts.
		TopLeft: cfg.UI.Plain,
		NewModel: func(s sshserver.SessionInfo) tea.Model {
			return tui.New(eng, tui.Options{
				Origin:      flow.Origin{Channel: flow.SSH, Remote: s.Remote, Lang: s.Language, SSHKey: s.PublicKey},
				Task:        s.Task, // from the SSH user name: change@, info@
				Demo:        phone,
				SignInURL:   cfg.SignInURL,
				IdleTimeout: cfg.UI.IdleTimeout,
				Remote:      true,
				Plain:       cfg.UI.Plain,
				// The spoken CAPTCHA, when the side listener serves it.
				CaptchaAudioURL: audioLink(cfg),
			})
		},
	})
	if err != nil {
		_ = l.Close()
		return fmt.Errorf("ssh: %w", err)
	}
	// demo says whether codes go to the demo phone on the person's screen.
	config := cfg.path
	if config == "" {
		config = "none: the demo"
	}
	log.Info("serving", "listen", l.Addr().String(), "host_key", srv.HostKeyFingerprint(), "config", config,
		"demo", phone != nil, "outbox", cfg.Delivery.Demo.Outbox, "proxy_protocol_from", len(cfg.SSH.ProxyProtocol.Trusted))

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return fmt.Errorf("ssh: %w", err)
	case s := <-stop:
		log.Info("shutting_down", "signal", s.String(), "grace", cfg.SSH.ShutdownGrace.String())
	}
	err = shutdown(srv, eng, cfg.SSH.ShutdownGrace, log, stop)
	<-served
	return err
}

// logDemoListen says where the demo listens, and how to listen elsewhere:
// without a config file, sspr serve listens on the loopback only.
func logDemoListen(log *slog.Logger, listen string) {
	host, _, _ := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		log.Info("demo_loopback_only", "listen", listen,
			"note", "the demo listens on "+host+" only; to listen on other interfaces, start sspr with a config file (sspr --config sspr.yaml serve) that sets ssh.listen")
		return
	}
	log.Warn("demo_listening", "listen", listen, "note", "the demo, with its sample accounts and its demo phone, is reachable from other hosts")
}

// shutdown ends serving within grace and leaves nothing half-written:
//
//  1. the server stops accepting and every session is told, in plain
//     words, that the service is restarting; their keys stop starting
//     anything;
//  2. the engine refuses new work and waits for the password writes
//     already under way;
//  3. then every program quits, which restores its client's terminal, and
//     the connections close.
//
// The last part of grace (quitReserve) is kept for step 3. A second signal
// cuts the wait short. The error is set only when writes were still under
// way when the grace ran out.
func shutdown(srv *sshserver.Server, eng drainer, grace time.Duration, log *slog.Logger, stop <-chan os.Signal) error {
	deadline := time.Now().Add(grace)
	srv.BeginShutdown(sshserver.RestartNotice)

	// A second signal cuts both waits short.
	hurry, hurried := context.WithCancel(context.Background())
	defer hurried()
	go func() {
		select {
		case s := <-stop:
			log.Warn("shutdown_hurried", "signal", s.String())
			hurried()
		case <-hurry.Done():
		}
	}()

	ctx, cancel := context.WithDeadline(hurry, deadline.Add(-quitReserve(grace)))
	defer cancel()
	drainErr := eng.Drain(ctx)
	if drainErr != nil {
		log.Error("shutdown_drain", "error", drainErr.Error())
	}
	qctx, qcancel := context.WithDeadline(hurry, deadline)
	defer qcancel()
	if err := srv.Shutdown(qctx); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("ssh: shutdown: %w", err)
	}
	if drainErr != nil {
		return fmt.Errorf("shutdown: %w", drainErr)
	}
	log.Info("shut_down")
	return nil
}

// quitReserve is the part of the shutdown grace kept for the programs to
// quit and restore their clients' terminals once the writes are done.
func quitReserve(grace time.Duration) time.Duration {
	return min(grace/5, 2*time.Second)
}
