package flow_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// slowDir is a directory whose writes block until released.
type slowDir struct {
	fakeDir
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (d *slowDir) SetPassword(ctx context.Context, u flow.User, pw string) error {
	d.once.Do(func() { close(d.started) })
	<-d.release
	return d.fakeDir.SetPassword(ctx, u, pw)
}

// TestDrainWaitsForWrite starts a password write, drains while it is under
// way, and checks that Drain returns only once the write has landed, and
// that nothing new begins meanwhile.
func TestDrainWaitsForWrite(t *testing.T) {
	r := newRig(t)
	slow := &slowDir{fakeDir: fakeDir{users: testUsers()}, started: make(chan struct{}), release: make(chan struct{})}
	eng, err := flow.NewEngine(baseConfig(), flow.Deps{Directory: slow, Store: r.store, Email: r.email,
		Audit: flow.NewAuditLogger(r.audit), Clock: r.clock})
	mustOK(t, err)
	s := mustBegin(t, eng, flow.Origin{Channel: flow.Local})
	mustOK(t, s.Identify(bg, "erin", ""))
	mustOK(t, s.Choose(bg, flow.EmailAltern))
	mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
	waiting := mustBegin(t, eng, flow.Origin{Channel: flow.Local})

	wrote := make(chan error, 1)
	go func() { wrote <- s.SetPassword(bg, goodPass, goodPass) }()
	<-slow.started
	if n := eng.InFlight(); n != 1 {
		t.Fatalf("%d writes in flight, want 1", n)
	}
	drained := make(chan error, 1)
	go func() { drained <- eng.Drain(bg) }()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v while a write was under way", err)
	default:
	}
	// Nothing new begins while draining.
	if _, err := eng.Begin(bg, flow.Origin{Channel: flow.Local}); flow.ReasonOf(err) != flow.ReasonUnavailable ||
		!strings.Contains(err.Error(), "restarting") {
		t.Fatalf("Begin while draining: %v", err)
	}
	fe := mustReason(t, waiting.Identify(bg, "alice", ""), flow.ReasonUnavailable)
	if !fe.Final || !strings.Contains(fe.Message, "restarting") {
		t.Fatalf("identify while draining: %+v", fe)
	}

	close(slow.release)
	select {
	case err := <-drained:
		mustOK(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Drain did not return after the write finished")
	}
	mustOK(t, <-wrote)
	if len(slow.Sets()) != 1 {
		t.Fatal("the write did not land")
	}
	mustStep(t, s, flow.StepDone)
	if !strings.Contains(r.audit.String(), `"in_flight":1`) {
		t.Errorf("drain did not log the writes in flight:\n%s", r.audit.String())
	}
}

// TestDrainTimesOut reports the writes still under way when ctx ends, and
// refuses a write that has not begun.
func TestDrainTimesOut(t *testing.T) {
	r := newRig(t)
	slow := &slowDir{fakeDir: fakeDir{users: testUsers()}, started: make(chan struct{}), release: make(chan struct{})}
	eng, err := flow.NewEngine(baseConfig(), flow.Deps{Directory: slow, Store: r.store, Email: r.email, Clock: r.clock})
	mustOK(t, err)
	verified := func() *flow.Session {
		s := mustBegin(t, eng, flow.Origin{Channel: flow.Local})
		mustOK(t, s.Identify(bg, "erin", ""))
		r.clock.Advance(61 * time.Second)
		mustOK(t, s.Choose(bg, flow.EmailAltern))
		mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
		return s
	}
	s, late := verified(), verified()
	go func() { _ = s.SetPassword(bg, goodPass, goodPass) }()
	select {
	case <-slow.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the write did not start")
	}
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	err = eng.Drain(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 password writes still under way") {
		t.Fatalf("Drain: %v", err)
	}
	fe := mustReason(t, late.SetPassword(bg, goodPass, goodPass), flow.ReasonUnavailable)
	if !fe.Final {
		t.Fatal("a refused write must end the session")
	}
	close(slow.release)
	// Draining again waits for the rest, then is done.
	mustOK(t, eng.Drain(bg))
	if n := len(slow.Sets()); n != 1 {
		t.Fatalf("%d writes, want only the one under way", n)
	}
}
