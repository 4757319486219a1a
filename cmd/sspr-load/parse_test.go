package main

import (
	"os"
	"testing"
	"time"
)

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:22": true, "127.3.4.5:2222": true, "[::1]:22": true, "localhost:22": true,
		"10.0.0.1:22": false, "[::2]:22": false, "example.com:22": false, "127.0.0.1": false, "0.0.0.0:22": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestOutboxCode(t *testing.T) {
	text := "2026-01-01T00:00:00Z\tsms\t+12125550102\tYour sspr code is 11111111\n" +
		"2026-01-01T00:00:01Z\tsms\t+12125550101\tYour sspr code is 22222222\n" +
		"2026-01-01T00:00:02Z\tsms\t+12125550102\tYour sspr code is 33333333\n" +
		"2026-01-01T00:00:03Z\tvoice\t+12125550102\tPress the number"
	if got := outboxCode(text, "+1 212 555 0102"); got != "33333333" {
		t.Errorf("got %q", got)
	}
	if got := outboxCode(text, "+1 212 555 0199"); got != "" {
		t.Errorf("got %q for an unknown number", got)
	}
}

func TestPercentileAndStatus(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(d, 50); p != 50*time.Millisecond {
		t.Errorf("p50 %s", p)
	}
	if p := percentile(d, 99); p != 99*time.Millisecond {
		t.Errorf("p99 %s", p)
	}
	if n := statusKB("Name:\tx\nVmRSS:\t  1234 kB\n", "VmRSS"); n != 1234 {
		t.Errorf("VmRSS %d", n)
	}
	if f := statFields("12 (a b) c) S 1 2 3"); len(f) < 2 || f[1] != "1" {
		t.Errorf("statFields %q", f)
	}
}

func TestScreen(t *testing.T) {
	s := newScreen(20, 3)
	s.write([]byte("\x1b[2J\x1b[1;1HEnter your phone\x1b[2;1Hxx"))
	s.write([]byte("\x1b[1;12Hverification code"))
	if got := s.String(); got[:20] != "Enter your verificat" {
		t.Errorf("screen:\n%s", got)
	}
}

// The CPU read from /proc grows with work done, for this process and for
// its tree (which holds at least this process).
func TestProcCPU(t *testing.T) {
	c0, t0 := selfCPU(), treeCPU(os.Getpid())
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for selfCPU() <= c0 || treeCPU(os.Getpid()) <= t0 {
		if time.Now().After(deadline) {
			t.Fatalf("CPU did not grow: self %s, tree %s", selfCPU(), treeCPU(os.Getpid()))
		}
		for i := range 1_000_000 {
			x += i
		}
	}
	_ = x
	if got := statFields("12 (a b) c) S 1 2 3"); len(got) != 4 || got[0] != "S" || got[1] != "1" {
		t.Errorf("statFields with a ) in the name: %q", got)
	}
}

func TestMachineBusy(t *testing.T) {
	b0 := machineBusy()
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for machineBusy() <= b0 {
		if time.Now().After(deadline) {
			t.Fatal("the machine's busy time did not grow while this test worked")
		}
		for i := range 1_000_000 {
			x += i
		}
	}
	_ = x
}
