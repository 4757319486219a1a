// Command floor is the least an SSH server with a Bubble Tea screen costs:
// wish/v2 and bubbletea/v2 serving a one-line model that echoes the keys
// typed. The benchmarks compare sspr with it.
//
//	floor -listen 127.0.0.1:2230 -host-key /tmp/floor_ed25519
//	floor -hash 20
//
// With -hash it serves nothing: it hashes that many passwords with
// argon2id at the parameters of sspr's embedded directory, as a reset
// does once, and prints the CPU per hash as JSON.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sspr-project/sspr/providers/embedded"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"
	"github.com/sspr-project/sspr/internal/debugstats"
)

// model is one line: a prompt and what was typed. With fullScreen it is
// drawn on the alternate screen, as sspr's wizard is, so that the renderer
// keeps buffers the size of the window rather than of one line.
type model struct {
	line       string
	fullScreen bool
}

func (m model) Init() tea.Cmd { return nil }

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "ctrl+c":
			return m, tea.Quit
		case "backspace":
			if len(m.line) > 0 {
				m.line = m.line[:len(m.line)-1]
			}
		case "space":
			m.line += " "
		default:
			if k.Text != "" && len(m.line) < 60 {
				m.line += k.Text
			}
		}
	}
	return m, nil
}

func (m model) View() tea.View {
	v := tea.NewView("sspr-floor> " + m.line)
	v.AltScreen = m.fullScreen
	return v
}

func main() {
	listen := flag.String("listen", "127.0.0.1:2230", "`host:port` to listen on (loopback only)")
	hostKey := flag.String("host-key", "", "ed25519 host key `file` (created if missing)")
	fullScreen := flag.Bool("fullscreen", false, "draw the line on the alternate screen, as a full-screen program")
	debug := flag.String("debug", "", "serve goroutine and heap figures on this loopback `host:port`")
	hashes := flag.Int("hash", 0, "hash this many passwords with argon2id, print the CPU per hash and exit")
	hashAtOnce := flag.Int("hash-at-once", 1, "with -hash: how many hashes run at once")
	flag.Parse()
	if *hashes > 0 {
		if err := hashCost(min(*hashes, 1000), max(1, min(*hashAtOnce, 256))); err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		return
	}
	if *hostKey == "" {
		fmt.Fprintln(os.Stderr, "floor: -host-key is required")
		os.Exit(2)
	}
	host, _, err := net.SplitHostPort(*listen)
	if a, perr := netip.ParseAddr(host); err != nil || perr != nil || !a.IsLoopback() {
		fmt.Fprintln(os.Stderr, "floor: -listen must be a loopback host:port")
		os.Exit(2)
	}
	if *debug != "" {
		h, _, err := net.SplitHostPort(*debug)
		if a, perr := netip.ParseAddr(h); err != nil || perr != nil || !a.IsLoopback() {
			fmt.Fprintln(os.Stderr, "floor: -debug must be a loopback host:port")
			os.Exit(2)
		}
		dl, err := net.Listen("tcp", *debug)
		if err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		go func() {
			_ = (&http.Server{Handler: debugstats.Handler(), ReadHeaderTimeout: 5 * time.Second}).Serve(dl)
		}()
	}
	srv, err := wish.NewServer(
		wish.WithAddress(*listen),
		wish.WithHostKeyPath(*hostKey),
		wish.WithMiddleware(bm.Middleware(func(ssh.Session) (tea.Model, []tea.ProgramOption) {
			return model{fullScreen: *fullScreen}, nil
		})),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	done := make(chan os.Signal, 1)
	signal.Notify(done, os.Interrupt, syscall.SIGTERM)
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, ssh.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
	}()
	fmt.Fprintln(os.Stderr, "floor: listening on", *listen)
	<-done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// hashCost hashes n passwords at embedded.DefaultParams, atOnce at a
// time, and prints the process's CPU (user and system, from getrusage)
// per hash.
func hashCost(n, atOnce int) error {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0, t0 := cpu(), time.Now()
	next := make(chan int)
	errs := make(chan error, atOnce)
	for range atOnce {
		go func() {
			var err error
			for i := range next {
				if _, e := embedded.Hash(fmt.Sprintf("Floor-Hash-%d-Xy", i), embedded.DefaultParams); e != nil && err == nil {
					err = e
				}
			}
			errs <- err
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	for range atOnce {
		if err := <-errs; err != nil {
			return err
		}
	}
	c, wall := cpu()-c0, time.Since(t0)
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"hashes":           n,
		"at_once":          atOnce,
		"params":           embedded.DefaultParams,
		"cpu_ms_per_hash":  float64(c.Microseconds()) / 1000 / float64(n),
		"wall_ms_per_hash": float64(wall.Microseconds()) / 1000 / float64(n),
	})
}
