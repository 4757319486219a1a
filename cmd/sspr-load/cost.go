package main

import (
	"context"
	"net"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// runHandshakes makes o.n SSH handshakes (key exchange and
// authentication; no channel is opened), o.parallel at once, and reports
// the server's CPU per handshake.
func runHandshakes(ctx context.Context, o options, cfg *gossh.ClientConfig) *result {
	r := &result{Mode: "handshake", Addr: o.addr, Sessions: o.n}
	var e errs
	var ff stats
	start := time.Now()
	c0 := treeCPU(o.pid)
	sem := make(chan struct{}, o.parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range o.n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			if err := handshake(ctx, o.addr, cfg); err != nil {
				e.add(err)
				return
			}
			ff.add(time.Since(t0))
			mu.Lock()
			r.Handshakes++
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Let the server finish with the last connections before reading its
	// CPU (an sshd child is reaped when it ends).
	time.Sleep(300 * time.Millisecond)
	cpu := (treeCPU(o.pid) - c0).Seconds()
	r.Opened, r.Failed, r.FirstErrors = r.Handshakes, e.n, e.first
	r.FirstFrame = ff.summary() // here: the handshake's time
	if r.Handshakes > 0 {
		r.CPUmsPerHandshake = 1000 * cpu / float64(r.Handshakes)
	}
	r.ServerCPUSeconds = cpu
	r.ElapsedSecond = time.Since(start).Seconds()
	return r
}

func handshake(ctx context.Context, addr string, cfg *gossh.ClientConfig) error {
	d := net.Dialer{Timeout: cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	_ = conn.SetDeadline(time.Now().Add(cfg.Timeout))
	c, _, _, err := gossh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return err
	}
	return c.Close()
}

// runKeys opens o.n sessions, measures the server's idle CPU over a
// second, then types o.keys keys into each session, one at a time, each
// waiting for its echo (o.n sessions typing at once), and reports the
// server's CPU per key press beyond its idle CPU over the same time.
func runKeys(ctx context.Context, o options, cfg *gossh.ClientConfig) *result {
	r := &result{Mode: "keys", Addr: o.addr, Sessions: o.n}
	start := time.Now()
	var e errs
	var ff, ks stats
	var live []*session
	for range o.n {
		s, err := open(ctx, o, cfg, &ff)
		if err != nil {
			e.add(err)
			continue
		}
		live = append(live, s)
	}
	defer func() {
		for _, s := range live {
			s.Close()
		}
	}()
	r.Opened, r.FirstFrame = len(live), ff.summary()
	time.Sleep(500 * time.Millisecond)
	i0, t0 := treeCPU(o.pid), time.Now()
	time.Sleep(time.Second)
	idle := (treeCPU(o.pid) - i0).Seconds() / time.Since(t0).Seconds()

	c0, t1 := treeCPU(o.pid), time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, s := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for i := range o.keys {
				key := probeKeys[i%len(probeKeys)]
				if i%2 == 1 {
					key = '\x7f' // erase: the field never fills
				}
				var err error
				if key == '\x7f' {
					err = s.send("\x7f")
					time.Sleep(10 * time.Millisecond)
				} else {
					var d time.Duration
					d, err = s.echo(ctx, key)
					ks.add(d)
				}
				if err != nil {
					e.add(err)
					break
				}
				n++
			}
			mu.Lock()
			r.Keys += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	time.Sleep(100 * time.Millisecond) // the last erase drawn
	secs := time.Since(t1).Seconds()
	cpu := (treeCPU(o.pid) - c0).Seconds()
	r.Keystroke = ks.summary()
	if r.Keys > 0 {
		r.CPUmsPerKey = 1000 * max(0, cpu-idle*secs) / float64(r.Keys)
	}
	r.ServerCPUSeconds = cpu
	r.Failed, r.FirstErrors = e.n, e.first
	r.ElapsedSecond = time.Since(start).Seconds()
	return r
}
