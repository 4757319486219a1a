package storetest

import (
	"testing"
	"time"
)

func (s *suite) useOnceTests() []test {
	return []test{
		{"FirstOnly", func(t *testing.T) {
			a, b := s.pair(t)
			k := key(t, "code")
			for i, want := range []bool{true, false, false} {
				fresh, err := a.UseOnce(ctx(t), k, 10*time.Second)
				must(t, "UseOnce", err)
				if fresh != want {
					t.Errorf("UseOnce call %d = %v, want %v", i+1, fresh, want)
				}
			}
			fresh, err := b.UseOnce(ctx(t), k, 10*time.Second)
			must(t, "UseOnce on the other instance", err)
			if fresh {
				t.Error("UseOnce on the other instance = true, want false: the key was used")
			}
			fresh, err = a.UseOnce(ctx(t), key(t, "other"), 10*time.Second)
			must(t, "UseOnce", err)
			if !fresh {
				t.Error("UseOnce of another key = false, want true")
			}
		}},
		{"Expires", func(t *testing.T) {
			st := s.newStore(t)
			k := key(t, "code")
			const ttl = 500 * time.Millisecond
			var set time.Time
			for i, want := range []bool{true, false} {
				fresh, err := st.UseOnce(ctx(t), k, ttl)
				must(t, "UseOnce", err)
				if fresh != want {
					t.Errorf("UseOnce call %d = %v, want %v", i+1, fresh, want)
				}
				if i == 0 {
					set = time.Now()
				}
			}
			sleepUntil(set, ttl+150*time.Millisecond)
			fresh, err := st.UseOnce(ctx(t), k, ttl)
			must(t, "UseOnce", err)
			if !fresh {
				t.Error("UseOnce after its ttl = false, want true")
			}
		}},
	}
}

func (s *suite) windowTests() []test {
	return []test{
		{"LimitHolds", func(t *testing.T) {
			st := s.newStore(t)
			k := key(t, "tries")
			const window = 10 * time.Second
			for i := range 5 {
				if ok, _ := take(t, st, k, 5, window); !ok {
					t.Fatalf("Take %d of 5 refused", i+1)
				}
			}
			for range 3 {
				ok, retry := take(t, st, k, 5, window)
				if ok {
					t.Fatal("Take beyond the limit succeeded")
				}
				between(t, "retryAfter", retry, window-time.Second, window)
			}
			if ok, _ := take(t, st, key(t, "other"), 5, window); !ok {
				t.Error("Take of another key refused")
			}
		}},
		{"Slides", func(t *testing.T) {
			// Events at 0 and 500 ms in a window of 1 s, limit 2: a little
			// after 1 s the first has left and the second has not, which a
			// fixed window would get wrong one way or the other.
			st := s.newStore(t)
			k := key(t, "tries")
			const window = time.Second
			if ok, _ := take(t, st, k, 2, window); !ok {
				t.Fatal("first Take refused")
			}
			first := time.Now() // the first event is no later than this
			sleepUntil(first, window/2)
			if ok, _ := take(t, st, k, 2, window); !ok {
				t.Fatal("second Take refused")
			}
			ok, retry := take(t, st, k, 2, window)
			if ok {
				t.Fatal("third Take succeeded with a limit of 2")
			}
			// The first event leaves at most window/2 after the third Take.
			between(t, "retryAfter while both events are in the window", retry, time.Nanosecond, window/2+time.Millisecond)
			time.Sleep(retry + 50*time.Millisecond)
			if ok, _ := take(t, st, k, 2, window); !ok {
				t.Fatalf("Take refused after retryAfter (%v) passed", retry)
			}
			ok, retry = take(t, st, k, 2, window)
			if ok {
				t.Fatal("Take succeeded while the second and third events are in the window")
			}
			between(t, "retryAfter", retry, time.Nanosecond, window)
		}},
		{"LimitZero", func(t *testing.T) {
			st := s.newStore(t)
			k := key(t, "none")
			const window = time.Second
			for range 2 {
				ok, retry := take(t, st, k, 0, window)
				if ok {
					t.Fatal("Take with a limit of 0 succeeded")
				}
				between(t, "retryAfter", retry, time.Nanosecond, window)
				_, err := st.Add(ctx(t), k, window)
				must(t, "Add", err)
			}
		}},
		{"AddCounts", func(t *testing.T) {
			st := s.newStore(t)
			k := key(t, "sends")
			const window = 10 * time.Second
			for want := 1; want <= 3; want++ {
				n, err := st.Add(ctx(t), k, window)
				must(t, "Add", err)
				if n != want {
					t.Errorf("Add = %d, want %d", n, want)
				}
			}
			if ok, _ := take(t, st, k, 3, window); ok {
				t.Error("Take with a limit of 3 after 3 Adds succeeded")
			}
			if ok, _ := take(t, st, k, 4, window); !ok {
				t.Error("Take with a limit of 4 after 3 Adds refused")
			}
			n, err := st.Add(ctx(t), k, window)
			must(t, "Add", err)
			if n != 5 {
				t.Errorf("Add after 3 Adds and a Take = %d, want 5", n)
			}
		}},
		{"AddSlides", func(t *testing.T) {
			st := s.newStore(t)
			k := key(t, "sends")
			const window = 500 * time.Millisecond
			for want := 1; want <= 2; want++ {
				n, err := st.Add(ctx(t), k, window)
				must(t, "Add", err)
				if n != want {
					t.Errorf("Add = %d, want %d", n, want)
				}
			}
			sleepUntil(time.Now(), window+100*time.Millisecond)
			n, err := st.Add(ctx(t), k, window)
			must(t, "Add", err)
			if n != 1 {
				t.Errorf("Add after the window passed = %d, want 1", n)
			}
		}},
		{"Forget", func(t *testing.T) {
			a, b := s.pair(t)
			k, other := key(t, "account"), key(t, "other")
			const window = 10 * time.Second
			fill := func() {
				for _, k := range []string{k, other} {
					for range 2 {
						_, err := a.Add(ctx(t), k, window)
						must(t, "Add", err)
					}
					must(t, "Hold", a.Hold(ctx(t), k, window))
					_, err := a.UseOnce(ctx(t), k, window)
					must(t, "UseOnce", err)
				}
			}
			fill()
			must(t, "Forget of no key", a.Forget(ctx(t)))
			must(t, "Forget", b.Forget(ctx(t), k, other, key(t, "unknown")))
			for _, k := range []string{k, other} {
				if ok, _ := take(t, a, k, 1, window); !ok {
					t.Error("Take after Forget refused")
				}
				held, err := a.Held(ctx(t), k)
				must(t, "Held", err)
				if held != 0 {
					t.Errorf("Held after Forget = %v, want 0", held)
				}
				fresh, err := a.UseOnce(ctx(t), k, window)
				must(t, "UseOnce", err)
				if !fresh {
					t.Error("UseOnce after Forget = false, want true")
				}
			}
		}},
	}
}
