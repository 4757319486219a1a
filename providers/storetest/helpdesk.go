package storetest

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// RunHelpdesk runs the conformance suite of flow.HelpdeskStore. pair
// returns two stores on one empty backend (the same store twice for one
// that lives in a process), whose clock is the system's.
func RunHelpdesk(t *testing.T, pair func(t *testing.T) (a, b flow.HelpdeskStore)) {
	hash := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	code := func(h []byte, uses int, ttl time.Duration) flow.HelpdeskCode {
		return flow.HelpdeskCode{Login: "frank", Agent: "ann (root)", Hash: h, Uses: uses, Expires: time.Now().Add(ttl)}
	}
	live := func(t *testing.T, st flow.HelpdeskStore) bool {
		t.Helper()
		ok, err := st.HelpdeskLive(ctx(t))
		must(t, "HelpdeskLive", err)
		return ok
	}
	use := func(t *testing.T, st flow.HelpdeskStore, k string, h []byte) bool {
		t.Helper()
		ok, err := st.UseHelpdeskCode(ctx(t), k, h)
		must(t, "UseHelpdeskCode", err)
		return ok
	}
	tests := []test{
		{"KeptAndListed", func(t *testing.T) {
			a, b := pair(t)
			if live(t, b) {
				t.Fatal("an empty store has a live code")
			}
			want := code(hash(1), 2, time.Minute)
			must(t, "Put", a.PutHelpdeskCode(ctx(t), "k1", want))
			got, ok, err := b.HelpdeskCode(ctx(t), "k1")
			must(t, "HelpdeskCode", err)
			if !ok || got.Login != want.Login || got.Agent != want.Agent || !bytes.Equal(got.Hash, want.Hash) ||
				got.Uses != 2 || got.Expires.Sub(want.Expires).Abs() > time.Millisecond {
				t.Fatalf("HelpdeskCode = %+v, %v; want %+v", got, ok, want)
			}
			if !live(t, b) {
				t.Fatal("not live on the other instance")
			}
			cs, err := b.HelpdeskCodes(ctx(t))
			must(t, "HelpdeskCodes", err)
			if len(cs) != 1 || cs[0].Login != "frank" || cs[0].Uses != 2 {
				t.Fatalf("HelpdeskCodes = %+v", cs)
			}
		}},
		{"UsesCountDown", func(t *testing.T) {
			a, b := pair(t)
			must(t, "Put", a.PutHelpdeskCode(ctx(t), "k", code(hash(1), 2, time.Minute)))
			if use(t, b, "k", hash(2)) {
				t.Fatal("a wrong hash spent a use")
			}
			if !use(t, b, "k", hash(1)) || !use(t, a, "k", hash(1)) {
				t.Fatal("two uses were not spent")
			}
			if use(t, b, "k", hash(1)) {
				t.Fatal("a third use of two")
			}
			if _, ok, _ := a.HelpdeskCode(ctx(t), "k"); ok || live(t, a) {
				t.Fatal("a spent code is still there")
			}
		}},
		{"Replaced", func(t *testing.T) {
			a, b := pair(t)
			must(t, "Put", a.PutHelpdeskCode(ctx(t), "k", code(hash(1), 1, time.Minute)))
			must(t, "Put", b.PutHelpdeskCode(ctx(t), "k", code(hash(3), 1, time.Minute)))
			if use(t, a, "k", hash(1)) || !use(t, a, "k", hash(3)) {
				t.Fatal("the old code outlived its replacement")
			}
		}},
		{"Deleted", func(t *testing.T) {
			a, b := pair(t)
			must(t, "Put", a.PutHelpdeskCode(ctx(t), "k", code(hash(1), 1, time.Minute)))
			for i, want := range []bool{true, false} {
				ok, err := b.DeleteHelpdeskCode(ctx(t), "k")
				must(t, "Delete", err)
				if ok != want {
					t.Fatalf("Delete #%d = %v", i+1, ok)
				}
			}
			if live(t, a) || use(t, a, "k", hash(1)) {
				t.Fatal("a deleted code is live")
			}
		}},
		{"Expires", func(t *testing.T) {
			a, b := pair(t)
			must(t, "Put", a.PutHelpdeskCode(ctx(t), "k", code(hash(1), 1, 300*time.Millisecond)))
			sleepUntil(time.Now(), 400*time.Millisecond)
			cs, err := b.HelpdeskCodes(ctx(t))
			must(t, "HelpdeskCodes", err)
			if _, ok, _ := b.HelpdeskCode(ctx(t), "k"); ok || live(t, b) || len(cs) > 0 || use(t, b, "k", hash(1)) {
				t.Fatal("an expired code is live")
			}
		}},
		// Two instances spending the uses of one code at once spend
		// exactly as many as it has.
		{"RaceToUse", func(t *testing.T) {
			a, b := pair(t)
			must(t, "Put", a.PutHelpdeskCode(ctx(t), "k", code(hash(1), 3, time.Minute)))
			var spent atomic.Int32
			var wg sync.WaitGroup
			for i := range 40 {
				st := a
				if i%2 == 1 {
					st = b
				}
				wg.Go(func() {
					if ok, err := st.UseHelpdeskCode(ctx(t), "k", hash(1)); err == nil && ok {
						spent.Add(1)
					} else if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if n := spent.Load(); n != 3 {
				t.Fatalf("%d uses spent of 3", n)
			}
		}},
	}
	all(tests, func(tc test) { t.Run(tc.name, tc.run) })
}
