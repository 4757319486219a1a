package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// checkLoopback refuses any address but 127.0.0.0/8, ::1 and localhost.
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return fmt.Errorf("-addr %q: want host:port", addr)
	}
	if host == "localhost" {
		return nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Unmap().IsLoopback() {
		return fmt.Errorf("-addr %q: only loopback addresses (127.0.0.0/8, ::1) may be loaded", addr)
	}
	return nil
}

// digits keeps the digits of a phone number.
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var codeRE = regexp.MustCompile(`code is (\d{6,10})`)

// outboxCode finds the code of the last line sent to phone in the outbox
// text: time, method, destination, text, tab separated.
func outboxCode(text, phone string) string {
	want, code := digits(phone), ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 4 || digits(f[2]) != want {
			continue
		}
		if m := codeRE.FindStringSubmatch(f[3]); m != nil {
			code = m[1]
		}
	}
	return code
}

// readFrom is the file from offset on.
func readFrom(path string, off int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return "", err
	}
	b, err := io.ReadAll(f)
	return string(b), err
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func newPassword() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "Load-Test-" + hex.EncodeToString(b) + "-Ab1"
}

// sender serialises the sends of codes to one login, so each code read
// from the outbox is the session's own, and keeps the server's send gap.
type sender struct {
	login, phone string

	mu   sync.Mutex
	last time.Time
}

// splitList splits a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func runReset(ctx context.Context, o options, cfg *gossh.ClientConfig) *result {
	r := &result{Mode: "reset", Addr: o.addr, Sessions: o.n}
	start := time.Now()
	var ff, ks, rt stats
	var e errs
	var opened, done, started, keys atomic.Int64
	var mu sync.Mutex
	var finished []time.Time // completion times, for the steady rate
	var c0 time.Duration
	if o.pid > 0 {
		c0 = treeCPU(o.pid)
	}
	self0, busy0 := selfCPU(), machineBusy()
	logins, phones := splitList(o.login), splitList(o.phone)
	accounts := make([]*sender, len(logins))
	for i := range accounts {
		accounts[i] = &sender{login: logins[i], phone: phones[i]}
	}
	var wg sync.WaitGroup
	for w := range o.n {
		snd := accounts[w%len(accounts)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if o.resets > 0 && started.Add(1) > int64(o.resets) {
					return
				}
				t0 := time.Now()
				s, err := open(ctx, o, cfg, &ff)
				if err != nil {
					if ctx.Err() == nil {
						e.add(err)
					}
					started.Add(-1)
					continue
				}
				opened.Add(1)
				err = resetOnce(ctx, o, s, snd, &ks)
				s.Close()
				if err != nil {
					if ctx.Err() == nil {
						e.add(err)
						time.Sleep(100 * time.Millisecond)
					}
					started.Add(-1) // done again
					continue
				}
				done.Add(1)
				keys.Add(s.sent.Load())
				rt.add(time.Since(t0))
				mu.Lock()
				finished = append(finished, time.Now())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if o.pid > 0 {
		r.ServerCPUSeconds = (treeCPU(o.pid) - c0).Seconds()
	}
	r.LoadToolCPUSeconds = (selfCPU() - self0).Seconds()
	r.MachineBusyCores = (machineBusy() - busy0).Seconds() / el.Seconds()
	r.ServerCores = r.ServerCPUSeconds / el.Seconds()
	r.Opened, r.Failed, r.FirstErrors = int(opened.Load()), e.n, e.first
	r.OpenSeconds = el.Seconds()
	r.SessionsPerS = float64(r.Opened) / el.Seconds()
	r.FirstFrame, r.Keystroke = ff.summary(), ks.summary()
	r.Resets = int(done.Load())
	r.ResetsPerS = float64(r.Resets) / el.Seconds()
	sum := rt.summary()
	r.ResetTime = &sum
	if r.Resets > 0 {
		r.KeysPerReset = float64(keys.Load()) / float64(r.Resets)
		if o.pid > 0 {
			r.CPUmsPerReset = 1000 * r.ServerCPUSeconds / float64(r.Resets)
		}
	}
	// The rate from the completion of the first tenth to that of the last:
	// all -n people are at work in between.
	if n := len(finished); n >= 10 {
		a, b := n/10, n-1-n/10
		if d := finished[b].Sub(finished[a]).Seconds(); d > 0 {
			r.SteadyResetsPerS = float64(b-a) / d
		}
	}
	r.ElapsedSecond = el.Seconds()
	return r
}

// resetOnce walks one text-method reset on an open session.
func resetOnce(ctx context.Context, o options, s *session, snd *sender, ks *stats) error {
	if err := probe(ctx, o, s, ks); err != nil {
		return err
	}
	steps := []struct {
		keys string
		want []string
	}{
		{snd.login + "\r", []string{"Text my mobile phone"}},
		{"\r", []string{"Enter your phone number"}},
	}
	for _, st := range steps {
		if err := s.send(st.keys); err != nil {
			return err
		}
		if err := s.waitFor(ctx, st.want...); err != nil {
			return err
		}
	}
	code, err := snd.send(ctx, o, s)
	if err != nil {
		return err
	}
	if err := s.send(code + "\r"); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "Enter new password", "Confirm new password"); err != nil {
		return err
	}
	pw := newPassword()
	if err := s.send(pw + "\r" + pw + "\r"); err != nil {
		return err
	}
	return s.waitFor(ctx, "Your password has been reset")
}

// send types the phone number and returns the code it brought.
func (snd *sender) send(ctx context.Context, o options, s *session) (string, error) {
	snd.mu.Lock()
	defer snd.mu.Unlock()
	if wait := time.Until(snd.last.Add(o.sendGap)); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	off := fileSize(o.outbox)
	snd.last = time.Now()
	if err := s.send(snd.phone + "\r"); err != nil {
		return "", err
	}
	if err := s.waitFor(ctx, "Enter your verification code"); err != nil {
		return "", err
	}
	for {
		text, err := readFrom(o.outbox, off)
		if err != nil {
			return "", err
		}
		if code := outboxCode(text, snd.phone); code != "" {
			return code, nil
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return "", fmt.Errorf("no code to %s in %s: %w", snd.phone, o.outbox, ctx.Err())
		}
	}
}
