package flow_test

import (
	"context"
	"crypto/rand"
	"math"
	"math/big"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/memstore"
)

// slowDir answers known logins after a variable but bounded time, as a
// real directory does, and unknown ones at once.
type slowLookups struct{ fakeDir }

func (d *slowLookups) LookupUser(ctx context.Context, login string) (flow.User, error) {
	u, err := d.fakeDir.LookupUser(ctx, login)
	if err == nil {
		time.Sleep(time.Millisecond + time.Duration(cryptoInt(7000))*time.Microsecond) // 1 to 8 ms
	}
	return u, err
}

func cryptoInt(n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		panic(err)
	}
	return v.Int64()
}

// identifyTimes measures n identify steps each of a known and an unknown
// login, interleaved so that whatever else the machine does weighs on
// both alike.
func identifyTimes(t *testing.T, eng *flow.Engine, n int) (known, unknown []float64) {
	t.Helper()
	for i := 0; i < n; i++ {
		order := []string{"alice", "zed"}
		if cryptoInt(2) == 0 {
			order[0], order[1] = order[1], order[0]
		}
		for _, login := range order {
			s := mustBegin(t, eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:1"})
			start := time.Now()
			mustOK(t, s.Identify(bg, login, ""))
			d := float64(time.Since(start)) / float64(time.Millisecond)
			if login == "alice" {
				known = append(known, d)
			} else {
				unknown = append(unknown, d)
			}
		}
	}
	return known, unknown
}

// mannWhitney returns the two-sided p-value of the Mann-Whitney U test
// (normal approximation with tie and continuity corrections) that a and b
// come from one distribution.
func mannWhitney(a, b []float64) float64 {
	type obs struct {
		v     float64
		first bool
	}
	all := make([]obs, 0, len(a)+len(b))
	for _, v := range a {
		all = append(all, obs{v, true})
	}
	for _, v := range b {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	n1, n2 := float64(len(a)), float64(len(b))
	n := n1 + n2
	var r1, ties float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // ranks i+1 .. j, averaged
		for k := i; k < j; k++ {
			if all[k].first {
				r1 += rank
			}
		}
		tc := float64(j - i)
		ties += tc*tc*tc - tc
		i = j
	}
	u := r1 - n1*(n1+1)/2
	mean := n1 * n2 / 2
	sigma := math.Sqrt(n1 * n2 / 12 * ((n + 1) - ties/(n*(n-1))))
	z := (math.Abs(u-mean) - 0.5) / sigma
	if z < 0 {
		z = 0
	}
	return math.Erfc(z / math.Sqrt2)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

// TestMannWhitney checks the test itself: one distribution passes, two
// clearly apart do not.
func TestMannWhitney(t *testing.T) {
	var a, c []float64
	for i := 0; i < 200; i++ {
		a = append(a, float64(i))
		c = append(c, float64(i+60))
	}
	if p := mannWhitney(a, c); p > 1e-4 {
		t.Errorf("shifted samples: p = %g", p)
	}
	if p := mannWhitney(a, a); p < 0.99 {
		t.Errorf("identical samples: p = %g", p)
	}
}

// TestIdentifyTimingSame measures the identify step for a known login
// (whose lookup takes 1 to 8 ms) and an unknown one (no wait at all), and
// fails when a Mann-Whitney U test tells the two apart at p < 0.01. A
// machine busy with other work adds noise to both; so that chance alone
// (1 in 100 under the same distribution) cannot fail the test, it fails
// only when three rounds in a row tell them apart.
func TestIdentifyTimingSame(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	cfg := baseConfig()
	cfg.Limits.IdentifyFloor = 20 * time.Millisecond
	cfg.Limits.IdentifyJitter = 4 * time.Millisecond
	eng, err := flow.NewEngine(cfg, flow.Deps{Directory: &slowLookups{fakeDir{users: testUsers()}}, Store: memstore.New(),
		SMS: &recSender{}, Email: &recSender{}})
	mustOK(t, err)
	const n = 120
	for round := 1; round <= 3; round++ {
		known, unknown := identifyTimes(t, eng, n)
		p := mannWhitney(known, unknown)
		t.Logf("round %d: known median %.2f ms (min %.2f, max %.2f), unknown median %.2f ms (min %.2f, max %.2f), Mann-Whitney p = %.3f",
			round, median(known), slices.Min(known), slices.Max(known), median(unknown), slices.Min(unknown), slices.Max(unknown), p)
		if slices.Min(known) < 20 || slices.Min(unknown) < 20 {
			t.Error("an identify step took less than the floor")
		}
		if p >= 0.01 {
			return
		}
	}
	t.Fatal("the identify step takes a different time for known and unknown logins")
}

// TestFloorsAsked: the identify floor is asked for a known and an unknown
// login alike, and the send floor for a step that sends, real or decoy.
func TestFloorsAsked(t *testing.T) {
	floors := func(c *flow.Config) {
		c.Limits.IdentifyFloor = time.Second
		c.Limits.SendFloor = 400 * time.Millisecond
	}
	for _, login := range []string{"alice", decoyWith(t, flow.EmailAltern, flow.TextMobile)} {
		r := newRig(t, floors)
		s := r.begin()
		r.clock.Slept()
		mustOK(t, s.Identify(bg, login, ""))
		if got := r.clock.Slept(); len(got) != 1 || got[0] < 900*time.Millisecond || got[0] > 1250*time.Millisecond {
			t.Fatalf("%s: identify waited %v", login, got)
		}
		mustOK(t, s.Choose(bg, flow.EmailAltern))
		if got := r.clock.Slept(); len(got) != 1 || got[0] < 300*time.Millisecond || got[0] > 650*time.Millisecond {
			t.Fatalf("%s: the send waited %v", login, got)
		}
		mustOK(t, s.Back())
		mustOK(t, s.Choose(bg, flow.TextMobile))
		r.clock.Slept()
		_ = s.ConfirmNumber(bg, "+15550109999")
		if got := r.clock.Slept(); len(got) != 1 || got[0] < 300*time.Millisecond {
			t.Fatalf("%s: the number waited %v", login, got)
		}
	}
}

// TestFloorHonoursContext: a cancelled context ends the wait at once.
func TestFloorHonoursContext(t *testing.T) {
	cfg := baseConfig()
	cfg.Limits.IdentifyFloor = 5 * time.Second
	eng, err := flow.NewEngine(cfg, flow.Deps{Directory: &fakeDir{users: testUsers()}, Store: memstore.New(), SMS: &recSender{}})
	mustOK(t, err)
	s := mustBegin(t, eng, flow.Origin{Channel: flow.Local})
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = s.Identify(ctx, "alice", "")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("identify waited %v past its context", d)
	}
}
