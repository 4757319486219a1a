package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	fpA = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	fpB = "f9e8d7c6b5a4938271605f4e3d2c1b0a"
)

// TestCheckKeyFingerprint: the first instance on a prefix records its
// fingerprint, one with the same fingerprint is let in, one with another is
// refused with a *KeyMismatchError that leaves the record alone, and another
// prefix on the same server has a record of its own.
func TestCheckKeyFingerprint(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	ctx := context.Background()
	cfg := Config{Addrs: []string{srv.Addr()}, Prefix: uniquePrefix()}
	first, second := newStore(t, cfg), newStore(t, cfg)
	if err := first.CheckKeyFingerprint(ctx, fpA); err != nil {
		t.Fatalf("first instance: %v", err)
	}
	if err := first.CheckKeyFingerprint(ctx, fpA); err != nil {
		t.Fatalf("first instance, again: %v", err)
	}
	if err := second.CheckKeyFingerprint(ctx, fpA); err != nil {
		t.Fatalf("second instance, same key: %v", err)
	}

	err := second.CheckKeyFingerprint(ctx, fpB)
	var mismatch *KeyMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("another key = %v (%T), want a *KeyMismatchError", err, err)
	}
	if mismatch.Stored != fpA || mismatch.Ours != fpB {
		t.Errorf("mismatch = %+v, want Stored %s, Ours %s", mismatch, fpA, fpB)
	}
	msg := err.Error()
	for _, want := range []string{"different secret key", fpA[:8], fpB[:8]} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %q", msg, want)
		}
	}
	if err := first.CheckKeyFingerprint(ctx, fpA); err != nil {
		t.Errorf("the refused key replaced the recorded one: %v", err)
	}

	raw := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer raw.Close()
	key := cfg.Prefix + "key-fingerprint"
	if got, err := raw.Get(ctx, key).Result(); err != nil || got != fpA {
		t.Errorf("GET %s = %q, %v; want %q", key, got, err, fpA)
	}
	if ttl, err := raw.PTTL(ctx, key).Result(); err != nil || ttl != -1 {
		t.Errorf("PTTL %s = %v, %v; want no expiry", key, ttl, err)
	}

	other := newStore(t, Config{Addrs: []string{srv.Addr()}, Prefix: uniquePrefix()})
	if err := other.CheckKeyFingerprint(ctx, fpB); err != nil {
		t.Errorf("another prefix with another key: %v", err)
	}
	if err := first.CheckKeyFingerprint(ctx, fpA); err != nil {
		t.Errorf("the other prefix's record changed this one: %v", err)
	}
	if err := other.CheckKeyFingerprint(ctx, fpA); !errors.As(err, &mismatch) {
		t.Errorf("the other prefix took this prefix's key: %v", err)
	}

	if err := first.CheckKeyFingerprint(ctx, ""); err == nil || errors.As(err, &mismatch) {
		t.Errorf("an empty fingerprint = %v, want a plain refusal", err)
	}
}

// TestCheckKeyFingerprintRace starts instances with different keys at once
// on a fresh prefix: exactly one key is recorded, the others are refused.
func TestCheckKeyFingerprintRace(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	cfg := Config{Addrs: []string{srv.Addr()}, Prefix: uniquePrefix()}
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		st := newStore(t, cfg)
		wg.Go(func() {
			errs[i] = st.CheckKeyFingerprint(context.Background(), fmt.Sprintf("%032x", i+1))
		})
	}
	wg.Wait()
	accepted := 0
	for i, err := range errs {
		var mismatch *KeyMismatchError
		switch {
		case err == nil:
			accepted++
		case !errors.As(err, &mismatch):
			t.Errorf("instance %d: %v", i, err)
		}
	}
	if accepted != 1 {
		t.Errorf("%d of %d instances with different keys were let in, want 1", accepted, n)
	}
}

// TestCheckKeyFingerprintUnreachable: without Redis the check fails soon,
// saying so, and not as a mismatch (the caller goes on and the store fails
// closed until Redis answers).
func TestCheckKeyFingerprintUnreachable(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	st := newStore(t, Config{Addrs: []string{srv.Addr()}, Timeout: 200 * time.Millisecond})
	srv.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := st.CheckKeyFingerprint(ctx, fpA)
	took := time.Since(start)
	var mismatch *KeyMismatchError
	switch {
	case err == nil:
		t.Fatal("the check passed without Redis")
	case errors.As(err, &mismatch):
		t.Fatalf("an outage reported as a mismatch: %v", err)
	case !strings.Contains(err.Error(), "Redis could not be reached"):
		t.Errorf("error %q does not say Redis could not be reached", err)
	case strings.Contains(err.Error(), fpA):
		t.Errorf("error %q contains the fingerprint", err)
	}
	if took > 3*time.Second {
		t.Errorf("the check took %v to fail", took)
	}
}

// TestKeyFingerprintReadsWithoutRecording: the getter reports none on a
// fresh prefix and records nothing, then reads what CheckKeyFingerprint
// recorded.
func TestKeyFingerprintReadsWithoutRecording(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	ctx := context.Background()
	st := newStore(t, Config{Addrs: []string{srv.Addr()}, Prefix: uniquePrefix()})
	for range 2 {
		if fp, ok, err := st.KeyFingerprint(ctx); err != nil || ok || fp != "" {
			t.Fatalf("fresh prefix: %q, %v, %v; want none", fp, ok, err)
		}
	}
	if err := st.CheckKeyFingerprint(ctx, fpA); err != nil {
		t.Fatal(err)
	}
	if fp, ok, err := st.KeyFingerprint(ctx); err != nil || !ok || fp != fpA {
		t.Fatalf("after a record: %q, %v, %v; want %q", fp, ok, err, fpA)
	}
	srv.Kill()
	if _, _, err := st.KeyFingerprint(ctx); err == nil {
		t.Fatal("no error without Redis")
	}
}
