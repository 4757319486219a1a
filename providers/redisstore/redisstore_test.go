package redisstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/storetest"
)

func TestMain(m *testing.M) {
	LogTo(nil) // dial failures are what some tests are about
	os.Exit(m.Run())
}

var prefixes atomic.Int64

// uniquePrefix keeps the keys of every store a test makes apart from the
// others on the same server.
func uniquePrefix() string { return fmt.Sprintf("test%d:", prefixes.Add(1)) }

func newStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	st, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// conformance runs the suite with stores made from base: each store gets
// its own prefix, and the shared pair is two clients with one prefix, as two
// sspr instances on one Redis are.
func conformance(t *testing.T, base Config) {
	storetest.Run(t, func(t *testing.T) flow.Store {
		cfg := base
		cfg.Prefix = uniquePrefix()
		return newStore(t, cfg)
	}, storetest.Shared(func(t *testing.T) (flow.Store, flow.Store) {
		cfg := base
		cfg.Prefix = uniquePrefix()
		return newStore(t, cfg), newStore(t, cfg)
	}))
}

func TestConformance(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	conformance(t, Config{Addrs: []string{srv.Addr()}})
}

// TestConformanceCluster runs the suite on a one-node Cluster through the
// cluster client: a script or command that touched keys of two slots would
// fail here with CROSSSLOT.
func TestConformanceCluster(t *testing.T) {
	t.Parallel()
	srv := startRedis(t, func(r *redisServer) {
		r.args = []string{"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(r.dir, "nodes.conf"),
			"--cluster-announce-ip", "127.0.0.1"}
	})
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	ctx := context.Background()
	if err := admin.ClusterAddSlotsRange(ctx, 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, err := admin.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not ok after 10s: %v %s", err, info)
		}
	}
	// Two seed addresses make the universal client a cluster client.
	conformance(t, Config{Addrs: []string{srv.Addr(), srv.Addr()}})
	storetest.RunHelpdesk(t, func(t *testing.T) (flow.HelpdeskStore, flow.HelpdeskStore) {
		cfg := Config{Addrs: []string{srv.Addr(), srv.Addr()}, Prefix: uniquePrefix()}
		return newStore(t, cfg), newStore(t, cfg)
	})
}

// TestConformanceSentinel runs the suite through a Sentinel that names the
// master.
func TestConformanceSentinel(t *testing.T) {
	t.Parallel()
	master := startRedis(t)
	sentinel := startRedis(t, func(r *redisServer) {
		r.conf = fmt.Sprintf("sentinel monitor sspr 127.0.0.1 %d 1\n", master.port)
		r.args = []string{"--sentinel"}
	})
	conformance(t, Config{Addrs: []string{sentinel.Addr()}, MasterName: "sspr"})
}

// TestFailsClosedAndRecovers kills Redis under a store in use: every call
// fails, soon and without a value in its error, a refused Take is not a
// granted one, and once Redis is back on its port the same store works
// again by itself.
func TestFailsClosedAndRecovers(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	st := newStore(t, Config{Addrs: []string{srv.Addr()}, Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	const key, token, answer = "key-4821-alice", "token-4821-alice", "answer-4821"
	for range 2 {
		if ok, _, err := st.Take(ctx, key, 2, time.Minute); err != nil || !ok {
			t.Fatalf("Take = %v, %v; want ok", ok, err)
		}
	}
	if err := st.CreateApproval(ctx, token, time.Minute); err != nil {
		t.Fatal(err)
	}
	awaited := make(chan error, 1)
	go func() {
		_, err := st.AwaitApproval(ctx, token)
		awaited <- err
	}()
	time.Sleep(100 * time.Millisecond)

	srv.Kill()
	killed := time.Now()
	calls := []struct {
		name string
		call func() error
	}{
		{"Take", func() error {
			ok, _, err := st.Take(ctx, key, 5, time.Minute)
			if ok {
				t.Error("Take granted while Redis is down")
			}
			return err
		}},
		{"Add", func() error { _, err := st.Add(ctx, key, time.Minute); return err }},
		{"Forget", func() error { return st.Forget(ctx, key) }},
		{"Hold", func() error { return st.Hold(ctx, key, time.Minute) }},
		{"Held", func() error { _, err := st.Held(ctx, key); return err }},
		{"UseOnce", func() error {
			fresh, err := st.UseOnce(ctx, key, time.Minute)
			if fresh {
				t.Error("UseOnce reported a fresh key while Redis is down")
			}
			return err
		}},
		{"Ping", func() error { return st.Ping(ctx) }},
		{"CreateApproval", func() error { return st.CreateApproval(ctx, token+"2", time.Minute) }},
		{"ResolveApproval", func() error { return st.ResolveApproval(ctx, token, answer) }},
		{"AwaitApproval", func() error { _, err := st.AwaitApproval(ctx, token); return err }},
		{"DeleteApproval", func() error { return st.DeleteApproval(ctx, token) }},
	}
	var slowest time.Duration
	for _, c := range calls {
		start := time.Now()
		err := c.call()
		took := time.Since(start)
		slowest = max(slowest, took)
		t.Logf("%s failed after %v: %v", c.name, took.Round(time.Millisecond), err)
		switch {
		case err == nil:
			t.Errorf("%s with Redis down succeeded", c.name)
			continue
		case errors.Is(err, flow.ErrNoApproval):
			t.Errorf("%s with Redis down = %v: an outage must not look like a missing approval", c.name, err)
		case !strings.HasPrefix(err.Error(), "redisstore: "):
			t.Errorf("%s error %q lacks its context", c.name, err)
		}
		for _, v := range []string{key, token, answer} {
			if strings.Contains(err.Error(), v) {
				t.Errorf("%s error %q contains a value", c.name, err)
			}
		}
		if took > 3*time.Second {
			t.Errorf("%s with Redis down took %v to fail", c.name, took)
		}
	}
	select {
	case err := <-awaited:
		if err == nil || errors.Is(err, flow.ErrNoApproval) {
			t.Errorf("AwaitApproval under way when Redis died = %v, want an outage error", err)
		}
		t.Logf("the waiter under way failed %v after the kill", time.Since(killed).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Error("AwaitApproval under way when Redis died still waits 5s later")
	}
	t.Logf("with Redis down the slowest call failed after %v", slowest.Round(time.Millisecond))

	srv.Restart()
	restarted := time.Now()
	for {
		ok, _, err := st.Take(ctx, key, 2, time.Minute)
		if err == nil {
			if !ok {
				t.Error("Take refused on the restarted (empty) Redis")
			}
			break
		}
		if time.Since(restarted) > 5*time.Second {
			t.Fatalf("the store still fails 5s after Redis returned: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the store worked again %v after Redis returned", time.Since(restarted).Round(time.Millisecond))
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateApproval(ctx, token, time.Minute); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = st.ResolveApproval(ctx, token, answer)
	}()
	if got, err := st.AwaitApproval(ctx, token); err != nil || got != answer {
		t.Errorf("AwaitApproval after recovery = %q, %v; want %q", got, err, answer)
	}
}

// TestFailsClosedWhenRedisHangs freezes Redis: connections stay open and
// nothing answers. Calls fail after their read timeouts instead of waiting,
// and work again once Redis answers.
func TestFailsClosedWhenRedisHangs(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	st := newStore(t, Config{Addrs: []string{srv.Addr()}, Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	if ok, _, err := st.Take(ctx, "k", 1, time.Minute); err != nil || !ok {
		t.Fatalf("Take = %v, %v; want ok", ok, err)
	}
	srv.Freeze()
	start := time.Now()
	ok, _, err := st.Take(ctx, "k", 1000, time.Minute)
	took := time.Since(start)
	if err == nil || ok {
		t.Errorf("Take with Redis hung = %v, %v; want an error", ok, err)
	}
	if took > 3*time.Second {
		t.Errorf("Take with Redis hung took %v to fail", took)
	}
	t.Logf("with Redis hung Take failed after %v: %v", took.Round(time.Millisecond), err)
	srv.Thaw()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := st.Ping(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store still fails 5s after Redis answers again: %v", err)
		}
	}
	// The window survived (Redis only paused) and still refuses.
	if ok, _, err := st.Take(ctx, "k", 1, time.Minute); err != nil || ok {
		t.Errorf("Take after Redis answers again = %v, %v; want refused", ok, err)
	}
}

// TestStateOutlivesInstance: a suspension, a spent window and a used code
// written by one instance are there for the next one after the first is
// gone (an sspr restart).
func TestStateOutlivesInstance(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	cfg := Config{Addrs: []string{srv.Addr()}, Prefix: uniquePrefix()}
	ctx := context.Background()
	first, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Hold(ctx, "suspended", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := first.Take(ctx, "tries", 1, 10*time.Second); err != nil || !ok {
		t.Fatalf("Take = %v, %v", ok, err)
	}
	if _, err := first.UseOnce(ctx, "code", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	next := newStore(t, cfg)
	if left, err := next.Held(ctx, "suspended"); err != nil || left < 9*time.Second || left > 10*time.Second {
		t.Errorf("Held after the instance restarted = %v, %v; want about 10s", left, err)
	}
	if ok, _, err := next.Take(ctx, "tries", 1, 10*time.Second); err != nil || ok {
		t.Errorf("Take after the instance restarted = %v, %v; want refused", ok, err)
	}
	if fresh, err := next.UseOnce(ctx, "code", 10*time.Second); err != nil || fresh {
		t.Errorf("UseOnce after the instance restarted = %v, %v; want used", fresh, err)
	}
}

// TestKeysExpire looks at what the store leaves in Redis: keys under the
// default prefix, each with an expiry, so Redis never fills with old state,
// and none left by Forget.
func TestKeysExpire(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	st := newStore(t, Config{Addrs: []string{srv.Addr()}})
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer raw.Close()
	ctx := context.Background()
	if _, _, err := st.Take(ctx, "k", 5, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Add(ctx, "k", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.Hold(ctx, "k", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UseOnce(ctx, "k", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateApproval(ctx, "tok", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.PutHelpdeskCode(ctx, "hk", flow.HelpdeskCode{Login: "frank", Hash: []byte{1}, Uses: 1, Expires: time.Now().Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutHelpdeskCode(ctx, "hk2", flow.HelpdeskCode{Login: "gina", Hash: []byte{1}, Uses: 1, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{
		"sspr:w:{k}":            time.Minute,
		"sspr:h:{k}":            time.Hour,
		"sspr:o:{k}":            time.Minute,
		"sspr:a:{tok}":          time.Minute,
		"sspr:{helpdesk}:hk":    2 * time.Hour,
		"sspr:{helpdesk}:hk2":   time.Hour,
		"sspr:{helpdesk}:index": 2 * time.Hour, // with its last code
	}
	keys, err := raw.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(want) {
		t.Errorf("keys in Redis: %q, want those of %v", keys, want)
	}
	for k, ttl := range want {
		left, err := raw.PTTL(ctx, k).Result()
		if err != nil || left <= ttl-5*time.Second || left > ttl {
			t.Errorf("PTTL %s = %v, %v; want about %v", k, left, err, ttl)
		}
	}
	if err := st.Forget(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if n, err := raw.Exists(ctx, "sspr:w:{k}", "sspr:h:{k}", "sspr:o:{k}").Result(); err != nil || n != 0 {
		t.Errorf("keys left after Forget: %d, %v", n, err)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	one := []string{"127.0.0.1:6379"}
	tests := []struct {
		name string
		cfg  Config
		want string // part of the error; "" for none
	}{
		{"one server", Config{Addrs: one}, ""},
		{"cluster", Config{Addrs: []string{"a:1", "b:1"}}, ""},
		{"sentinel with a db", Config{Addrs: []string{"a:1", "b:1"}, MasterName: "m", DB: 2}, ""},
		{"no address", Config{}, "addrs"},
		{"empty address", Config{Addrs: []string{""}}, "addrs[0]: is empty"},
		{"address without a port", Config{Addrs: []string{"a:1", "redis"}}, "addrs[1]"},
		{"empty password", Config{Addrs: one, Password: config.InlineSecret("")}, "password: is empty"},
		{"negative db", Config{Addrs: one, DB: -1}, "db"},
		{"cluster with a db", Config{Addrs: []string{"a:1", "b:1"}, DB: 1}, "db"},
		{"negative timeout", Config{Addrs: one, Timeout: -time.Second}, "timeout: -1s is not allowed (0s to 1m)"},
		{"ca without tls", Config{Addrs: one, CAFile: notPEM}, "ca_file"},
		{"missing ca", Config{Addrs: one, TLS: true, CAFile: filepath.Join(dir, "none.pem")}, "ca_file"},
		{"ca not pem", Config{Addrs: one, TLS: true, CAFile: notPEM}, "ca_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := New(tc.cfg)
			if err == nil {
				_ = st.Close()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("New = %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("New = %v, want an error about %s", err, tc.want)
			}
		})
	}
}

// TestHelpdeskConformance runs the helpdesk suite on two clients of one
// redis-server; TestConformanceCluster runs it on a Cluster (the scripts
// touch two keys, which must share a slot).
func TestHelpdeskConformance(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	storetest.RunHelpdesk(t, func(t *testing.T) (flow.HelpdeskStore, flow.HelpdeskStore) {
		cfg := Config{Addrs: []string{srv.Addr()}, Prefix: uniquePrefix()}
		return newStore(t, cfg), newStore(t, cfg)
	})
}
