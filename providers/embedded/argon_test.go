package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// gate holds every argon2id computation of a Dir (its onArgon hook) until
// the test lets it go, and counts them.
type gate struct {
	mu       sync.Mutex
	inFlight int // started, not ended
	held     int // started and waiting to be let go
	peak     int
	total    int
	release  chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) hook(delta int) {
	g.mu.Lock()
	g.inFlight += delta
	if delta > 0 {
		g.total++
		g.peak = max(g.peak, g.inFlight)
		g.held++
	}
	g.mu.Unlock()
	if delta > 0 {
		<-g.release
	}
}

// let lets one held computation go.
func (g *gate) let() {
	g.release <- struct{}{}
	g.mu.Lock()
	g.held--
	g.mu.Unlock()
}

func (g *gate) counts() (inFlight, held int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inFlight, g.held
}

// drive lets the held computations go one at a time, each only once as
// many run as the bound allows or once every caller still running is in
// one (so that nothing else could start): the peak is then as high as the
// callers can push it. It returns when every caller has returned.
func (g *gate) drive(bound int, running *atomic.Int64) {
	for {
		n := running.Load()
		if n == 0 {
			return
		}
		in, held := g.counts()
		if held > 0 && (in >= bound || int64(in) == n) {
			g.let()
			continue
		}
		// Waiting for a state, not for a time: nothing is asserted on it.
		time.Sleep(50 * time.Microsecond)
	}
}

// Hashes and checks of every kind, many at once, never run more argon2id
// at once than the bound, and every one of them takes a turn.
func TestArgonBounded(t *testing.T) {
	const people, bound = 8, 3
	var users []record
	for i := range people {
		users = append(users, record{Login: fmt.Sprintf("user%d", i), Password: mustHash(t, "old-Password-1")})
	}
	d, err := Open(writeUsers(t, users), WithParams(cheap), WithHashesAtOnce(bound))
	if err != nil {
		t.Fatal(err)
	}
	g := newGate()
	d.onArgon = g.hook
	ctx := context.Background()
	// Each person: a check, a reset's two computations, a change's two,
	// an administrator's reset and a verification: 7 computations.
	ops := []func(u flow.User) error{
		func(u flow.User) error { return d.CheckPassword(ctx, u, "old-Password-1") },
		func(u flow.User) error {
			if cur, err := d.IsCurrentPassword(ctx, u, "new-Password-22"); err != nil || cur {
				return fmt.Errorf("IsCurrentPassword: %v, %v", cur, err)
			}
			return d.SetPassword(ctx, u, "new-Password-22")
		},
		func(u flow.User) error { return d.ChangePassword(ctx, u, "new-Password-22", "other-Password-33") },
		func(u flow.User) error { return d.ResetPassword(ctx, u.ID, "admin-Password-44") },
		func(u flow.User) error {
			if ok, err := d.VerifyPassword(u.ID, "admin-Password-44"); !ok || err != nil {
				return fmt.Errorf("VerifyPassword: %v, %v", ok, err)
			}
			return nil
		},
	}
	var running atomic.Int64
	errs := make(chan error, people)
	for i := range people {
		running.Add(1)
		go func() {
			defer running.Add(-1)
			u := flow.User{ID: fmt.Sprintf("user%d", i)}
			for _, op := range ops {
				if err := op(u); err != nil {
					errs <- fmt.Errorf("%s: %w", u.ID, err)
					return
				}
			}
		}()
	}
	g.drive(bound, &running)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if g.peak != bound {
		t.Errorf("at most %d computations ran at once; want exactly the bound, %d", g.peak, bound)
	}
	if g.total != 7*people {
		t.Errorf("%d computations took a turn; want %d", g.total, 7*people)
	}
	if n := d.queued.Load(); n != 0 {
		t.Errorf("%d still queued", n)
	}
}

// The memory of many resets at once is that of the bound: with 40 people
// each checking the current password and hashing the new one, as many
// hashes are in flight at the peak as the bound allows, each with its
// parameters' memory, and no more.
func TestArgonMemoryOfManyResets(t *testing.T) {
	const people = 40
	var users []record
	for i := range people {
		users = append(users, record{Login: fmt.Sprintf("user%d", i), Password: mustHash(t, "old-Password-1")})
	}
	// Without WithHashesAtOnce: as many as Go runs threads at once.
	d, err := Open(writeUsers(t, users), WithParams(cheap))
	if err != nil {
		t.Fatal(err)
	}
	bound := runtime.GOMAXPROCS(0)
	if d.hashesAtOnce != bound {
		t.Fatalf("the default bound is %d; want GOMAXPROCS, %d", d.hashesAtOnce, bound)
	}
	g := newGate()
	d.onArgon = g.hook
	ctx := context.Background()
	var running atomic.Int64
	errs := make(chan error, people)
	for i := range people {
		running.Add(1)
		go func() {
			defer running.Add(-1)
			u := flow.User{ID: fmt.Sprintf("user%d", i)}
			if _, err := d.IsCurrentPassword(ctx, u, "new-Password-22"); err != nil {
				errs <- err
				return
			}
			if err := d.SetPassword(ctx, u, "new-Password-22"); err != nil {
				errs <- err
			}
		}()
	}
	g.drive(bound, &running)
	d.onArgon = nil
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	perHash := uint64(DefaultParams.Memory) << 10
	if peak, limit := uint64(g.peak)*perHash, uint64(bound)*perHash; peak > limit || g.peak < min(bound, people) {
		t.Errorf("%d resets at once: %d hashes at the peak (%d MiB at the default parameters); want %d (%d MiB)",
			people, g.peak, peak>>20, bound, limit>>20)
	}
	if g.total != 2*people {
		t.Errorf("%d computations; want %d, two a reset", g.total, 2*people)
	}
	for i := range people {
		if ok, err := d.VerifyPassword(fmt.Sprintf("user%d", i), "new-Password-22"); !ok || err != nil {
			t.Fatalf("user%d: the new password did not land: %v, %v", i, ok, err)
		}
	}
}

// A caller whose context ends while it waits for its turn leaves the
// queue at once, with the context's error, while the turn it waited for is
// still taken; nothing of its is written.
func TestArgonWaiterLeavesOnCancel(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   func(d *Dir, ctx context.Context) error
	}{
		{"SetPassword", func(d *Dir, ctx context.Context) error {
			return d.SetPassword(ctx, flow.User{ID: "bob"}, "new-Password-22")
		}},
		{"ResetPassword", func(d *Dir, ctx context.Context) error {
			return d.ResetPassword(ctx, "bob", "new-Password-22")
		}},
		{"ChangePassword", func(d *Dir, ctx context.Context) error {
			return d.ChangePassword(ctx, flow.User{ID: "bob"}, "old-Password-1", "new-Password-22")
		}},
		{"IsCurrentPassword", func(d *Dir, ctx context.Context) error {
			_, err := d.IsCurrentPassword(ctx, flow.User{ID: "bob"}, "old-Password-1")
			return err
		}},
		{"CheckPassword", func(d *Dir, ctx context.Context) error {
			return d.CheckPassword(ctx, flow.User{ID: "bob"}, "old-Password-1")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeUsers(t, []record{
				{Login: "alice", Password: mustHash(t, "old-Password-1")},
				{Login: "bob", Password: mustHash(t, "old-Password-1")},
			})
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Open(path, WithParams(cheap), WithHashesAtOnce(1))
			if err != nil {
				t.Fatal(err)
			}
			g := newGate()
			d.onArgon = g.hook
			// alice's check takes the only turn and keeps it.
			first := make(chan error, 1)
			go func() { first <- d.CheckPassword(context.Background(), flow.User{ID: "alice"}, "old-Password-1") }()
			for {
				if _, held := g.counts(); held == 1 {
					break
				}
				time.Sleep(50 * time.Microsecond)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- tc.op(d, ctx) }()
			for d.queued.Load() != 1 {
				time.Sleep(50 * time.Microsecond)
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("a waiter whose context ended: %v", err)
			}
			if n := d.queued.Load(); n != 0 {
				t.Fatalf("%d still queued", n)
			}
			if in, _ := g.counts(); in != 1 || g.total != 1 {
				t.Fatalf("%d computations in flight, %d run; want alice's alone", in, g.total)
			}
			g.let()
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(before) {
				t.Fatal("the users file changed")
			}
		})
	}
}

// A reset whose context ends while its hash runs writes nothing: the file
// lock may be free, but the caller is gone.
func TestSetPasswordEndedDuringHashWritesNothing(t *testing.T) {
	path := writeUsers(t, []record{{Login: "bob", Password: mustHash(t, "old-Password-1")}})
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := openDir(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	d.onArgon = func(delta int) {
		if delta > 0 {
			cancel()
		}
	}
	if err := d.SetPassword(ctx, flow.User{ID: "bob"}, "new-Password-22"); !errors.Is(err, context.Canceled) {
		t.Fatalf("SetPassword ended during its hash: %v", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Fatal("the users file changed")
	}
}

// A change whose old password was right when checked, but which another
// write replaced before the change took the lock, is refused as a wrong
// password, and the other write stays.
func TestChangePasswordRefusedWhenChangedMeanwhile(t *testing.T) {
	path := writeUsers(t, []record{{Login: "alice", Password: mustHash(t, "old-Password-1")}})
	d, err := Open(path, WithParams(cheap), WithHashesAtOnce(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var first atomic.Bool
	d.onArgon = func(delta int) {
		// During the check of the old password, an administrator resets
		// it (in the second turn).
		if delta > 0 && first.CompareAndSwap(false, true) {
			if err := d.ResetPassword(ctx, "alice", "admin-Password-44"); err != nil {
				t.Error(err)
			}
		}
	}
	err = d.ChangePassword(ctx, flow.User{ID: "alice"}, "old-Password-1", "new-Password-22")
	if !errors.Is(err, flow.ErrWrongPassword) {
		t.Fatalf("a change from a password replaced meanwhile: %v", err)
	}
	d.onArgon = nil
	if ok, _ := d.VerifyPassword("alice", "admin-Password-44"); !ok {
		t.Fatal("the administrator's reset was overwritten")
	}
}
