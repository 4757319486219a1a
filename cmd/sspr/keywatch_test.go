package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/metrics"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/redisstore"
)

// TestKeyMismatchAtRunTime: an instance whose secret key no longer matches
// the one recorded in the shared store (an emptied Redis claimed by an
// instance with another key) stops being ready and says so once; a Redis
// that does not answer is the store's own matter, not a mismatch.
func TestKeyMismatchAtRunTime(t *testing.T) {
	var logs bytes.Buffer
	var keyErr error
	w := newBackendWatch(slog.New(slog.NewTextHandler(&logs, nil)), metrics.New(metrics.Options{}), memstore.New(), nil)
	w.key = func(context.Context) error { return keyErr }
	ctx := context.Background()

	w.check(ctx)
	if err := w.Ping(ctx); err != nil {
		t.Fatalf("ready with the same key: %v", err)
	}
	keyErr = &redisstore.KeyMismatchError{Stored: "1a2b3c4d5e6f", Ours: "9f8e7d6c5b4a"}
	w.check(ctx)
	w.check(ctx)
	err := w.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "different secret key") {
		t.Fatalf("ready with another instance's key: %v", err)
	}
	if n := strings.Count(logs.String(), "secret_key_mismatch"); n != 1 {
		t.Fatalf("%d mismatch lines, want 1:\n%s", n, logs.String())
	}
	keyErr = context.DeadlineExceeded // Redis slow: not a mismatch
	w.check(ctx)
	if err := w.Ping(ctx); err == nil {
		t.Fatal("a Redis that times out must not clear the mismatch")
	}
	keyErr = nil
	w.check(ctx)
	if err := w.Ping(ctx); err != nil || !strings.Contains(logs.String(), "secret_key_match") {
		t.Fatalf("the mismatch did not end: %v\n%s", err, logs.String())
	}
}
