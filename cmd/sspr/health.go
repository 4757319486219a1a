package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/metrics"
	"github.com/sspr-project/sspr/providers/redisstore"
)

// backendCheckEvery is how often sspr serve checks the store and the
// directory for sspr_store_up, sspr_directory_up and /readyz: often
// enough for an alert, seldom enough that the directory does not notice.
const backendCheckEvery = 10 * time.Second

// backendCheckTimeout bounds one check.
const backendCheckTimeout = 5 * time.Second

// directoryPing is the cheap check of the directory: the LDAP directory
// reads its root DSE on a pooled connection; the embedded one is a file,
// up while it can be opened for reading.
func directoryPing(cfg *Config, d flow.Directory) func(ctx context.Context) error {
	if p, ok := d.(interface{ Ping(context.Context) error }); ok {
		return p.Ping
	}
	path := cfg.Directory.Embedded.Path
	return func(context.Context) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("directory.embedded.path: %w", err)
		}
		return f.Close()
	}
}

// backendWatch keeps the state of the store and the directory: it sets
// the up gauges, and logs a change of state once (WARN when a backend
// goes away, INFO when it is back), never once per check or probe. It is
// the side listener's store Pinger and directory state.
type backendWatch struct {
	log     *slog.Logger
	metrics *metrics.Metrics
	store   flow.Store
	dir     func(ctx context.Context) error

	// key compares the secret key with the other instances' (nil: no
	// shared store); a mismatch makes the instance not ready.
	key func(ctx context.Context) error

	mu        sync.Mutex
	storeDown time.Time // since when the store is down; zero when up
	dirDown   time.Time
	dirErr    error
	keyErr    error // a secret key other than the one recorded in Redis
}

func newBackendWatch(log *slog.Logger, m *metrics.Metrics, store flow.Store, dir func(ctx context.Context) error) *backendWatch {
	return &backendWatch{log: log, metrics: m, store: store, dir: dir}
}

// Ping pings the store and notes the answer; /readyz calls it. A probe
// its caller gave up on says nothing of the store.
func (w *backendWatch) Ping(ctx context.Context) error {
	err := w.store.Ping(ctx)
	if err != nil && errors.Is(err, context.Canceled) {
		return err
	}
	w.noteStore(err)
	if err == nil {
		w.mu.Lock()
		err = w.keyErr
		w.mu.Unlock()
	}
	return err
}

// noteKey keeps the last comparison of the secret key: a mismatch is
// logged once at ERROR when it starts and once at INFO when it ends.
func (w *backendWatch) noteKey(err error) {
	var mismatch *redisstore.KeyMismatchError
	if err != nil && !errors.As(err, &mismatch) {
		return // Redis away: the store's own check says so
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err != nil && w.keyErr == nil:
		w.log.Error("secret_key_mismatch", "error", err.Error(),
			"note", "limits are not shared with the other instances and unknown logins get other decoys: /readyz answers 503 until every instance has the same secret_key_file")
	case err == nil && w.keyErr != nil:
		w.log.Info("secret_key_match")
	}
	if err != nil {
		err = fmt.Errorf("store.redis: %w", err)
	}
	w.keyErr = err
}

// DirectoryError is the directory's last check, for /readyz.
func (w *backendWatch) DirectoryError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dirErr
}

// storeAway marks the store as down from the start, already said (the
// caller logged why).
func (w *backendWatch) storeAway() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.storeDown = time.Now()
	w.metrics.SetStoreUp(false)
}

func (w *backendWatch) noteStore(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.metrics.SetStoreUp(err == nil)
	switch {
	case err != nil && w.storeDown.IsZero():
		w.storeDown = time.Now()
		w.log.Warn("store_down", "error", err.Error(),
			"note", "new sessions see \"temporarily unavailable\" and /readyz answers 503 until the store answers")
	case err == nil && !w.storeDown.IsZero():
		w.log.Info("store_up", "down_for", time.Since(w.storeDown).Round(time.Second).String())
		w.storeDown = time.Time{}
	}
}

func (w *backendWatch) noteDirectory(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dirErr = err
	w.metrics.SetDirectoryUp(err == nil)
	switch {
	case err != nil && w.dirDown.IsZero():
		w.dirDown = time.Now()
		w.log.Warn("directory_down", "error", err.Error())
	case err == nil && !w.dirDown.IsZero():
		w.log.Info("directory_up", "down_for", time.Since(w.dirDown).Round(time.Second).String())
		w.dirDown = time.Time{}
	}
}

// check checks both once.
func (w *backendWatch) check(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, backendCheckTimeout)
	err := w.store.Ping(sctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	w.noteStore(err)
	if err == nil && w.key != nil {
		kctx, cancel := context.WithTimeout(ctx, backendCheckTimeout)
		kerr := w.key(kctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		w.noteKey(kerr)
	}
	if w.dir == nil {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, backendCheckTimeout)
	err = w.dir(dctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	w.noteDirectory(err)
}

// run checks at once, then every interval until ctx ends.
func (w *backendWatch) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		w.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
