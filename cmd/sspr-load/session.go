package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"
)

// totalBytes counts every byte received by every session.
var totalBytes atomic.Int64

// session is one SSH session with a PTY and what it received.
type session struct {
	client *gossh.Client
	sess   *gossh.Session
	stdin  io.WriteCloser
	sent   atomic.Int64 // bytes typed

	mu      sync.Mutex
	scr     *screen
	raw     []byte // the stream since mark, for echo detection
	keepRaw bool
	changed chan struct{}
	done    chan struct{}
	err     error
}

func dialSession(ctx context.Context, addr string, cfg *gossh.ClientConfig, width, height int) (*session, error) {
	d := net.Dialer{Timeout: cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, chans, reqs, err := gossh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	client := gossh.NewClient(c, chans, reqs)
	sess, err := client.NewSession()
	if err != nil {
		client.Close()
		return nil, err
	}
	s := &session{client: client, sess: sess, scr: newScreen(width, height), changed: make(chan struct{}, 1), done: make(chan struct{})}
	stdout, err := sess.StdoutPipe()
	if err == nil {
		s.stdin, err = sess.StdinPipe()
	}
	if err == nil {
		err = sess.RequestPty("xterm-256color", height, width, gossh.TerminalModes{gossh.ECHO: 0})
	}
	if err == nil {
		err = sess.Shell()
	}
	if err != nil {
		client.Close()
		return nil, err
	}
	go s.read(stdout)
	return s, nil
}

func (s *session) read(r io.Reader) {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			totalBytes.Add(int64(n))
			s.mu.Lock()
			s.scr.write(buf[:n])
			if s.keepRaw {
				s.raw = append(s.raw, buf[:n]...)
			}
			s.mu.Unlock()
			select {
			case s.changed <- struct{}{}:
			default:
			}
		}
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			close(s.done)
			return
		}
	}
}

func (s *session) Close() {
	s.client.Close()
}

var errClosed = errors.New("session ended")

// waitFor waits until the screen shows every one of texts.
func (s *session) waitFor(ctx context.Context, texts ...string) error {
	for {
		s.mu.Lock()
		v := s.scr.String()
		s.mu.Unlock()
		ok := true
		for _, t := range texts {
			if !strings.Contains(v, t) {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-s.changed:
		case <-s.done:
			// one last look at what arrived before the end
			s.mu.Lock()
			v := s.scr.String()
			s.mu.Unlock()
			for _, t := range texts {
				if !strings.Contains(v, t) {
					return fmt.Errorf("waiting for %q: %w; the screen shows:\n%s", t, errClosed, v)
				}
			}
			return nil
		case <-ctx.Done():
			s.mu.Lock()
			v := s.scr.String()
			s.mu.Unlock()
			return fmt.Errorf("waiting for %q: %w; the screen shows:\n%s", texts, ctx.Err(), v)
		}
	}
}

func (s *session) send(keys string) error {
	s.sent.Add(int64(len(keys)))
	_, err := io.WriteString(s.stdin, keys)
	return err
}

// echo types one printable key and returns the time until it comes back in
// the stream, escape sequences removed.
func (s *session) echo(ctx context.Context, key byte) (time.Duration, error) {
	s.mu.Lock()
	s.raw, s.keepRaw = s.raw[:0], true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.raw, s.keepRaw = nil, false
		s.mu.Unlock()
	}()
	start := time.Now()
	if err := s.send(string(key)); err != nil {
		return 0, err
	}
	for {
		s.mu.Lock()
		got := bytes.IndexByte([]byte(ansi.Strip(string(s.raw))), key) >= 0
		s.mu.Unlock()
		if got {
			return time.Since(start), nil
		}
		select {
		case <-s.changed:
		case <-s.done:
			return 0, errClosed
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}
