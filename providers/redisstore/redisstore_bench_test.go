package redisstore

import (
	"context"
	"os/exec"
	"testing"

	"github.com/sspr-project/sspr/internal/testenv/testserver"
	"github.com/sspr-project/sspr/providers/storetest"
)

// benchRedis starts a redis-server for one benchmark through the same
// helper as the tests (startRedis wants a *testing.T).
func benchRedis(b *testing.B) *Store {
	b.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		b.Fatalf("redis-server not found (%v): these benchmarks need a real Redis", err)
	}
	r := &redisServer{bin: bin, dir: b.TempDir()}
	b.Cleanup(r.Kill)
	for attempt := 0; ; {
		r.port = testserver.FreePort(b)
		if err = r.start(); err == nil {
			break
		}
		if attempt++; attempt == 5 {
			b.Fatalf("redis-server: %v\n%s", err, r.out)
		}
	}
	st, err := New(Config{Addrs: []string{r.Addr()}, Prefix: uniquePrefix()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	if err := st.Ping(context.Background()); err != nil {
		b.Fatal(err)
	}
	return st
}

// The store's operations against a real redis-server on loopback, one at
// a time: each is one round trip (a script or a command), plus the
// subscription for an approval.
func BenchmarkStore(b *testing.B) { storetest.Bench(b, benchRedis(b)) }

// One code issued and verified with Redis as the store. Compare with
// BenchmarkCodeCycle in flow (the memory store).
func BenchmarkCodeCycle(b *testing.B) { storetest.BenchCodeCycle(b, benchRedis(b)) }
