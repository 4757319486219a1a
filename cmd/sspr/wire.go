package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/sspr-project/sspr/config"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/demo"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/redisstore"
	"github.com/sspr-project/sspr/providers/totp"
)

// app is everything a subcommand needs, wired once.
type app struct {
	cfg    *Config
	engine *flow.Engine
	dir    *embedded.Dir
	phone  *demo.Phone
	audit  io.Closer
	store  io.Closer
	// ldap ends the LDAP directory's connections (nil without one).
	ldap io.Closer
	// delivery is the sender of each method, the metrics and the
	// providers' webhooks (delivery.go).
	delivery *deliveryWiring
	// storeAtStart is why Redis could not be asked at start (the secret
	// key was not compared); the command says so where its log goes.
	storeAtStart error
	// dirPing checks that the directory answers, cheaply (health.go).
	dirPing func(ctx context.Context) error
	// keyCheck compares this instance's secret key with the one recorded
	// in Redis (recording it when none is), nil without Redis: serve runs
	// it again with every check of the store, since an emptied Redis may
	// have been claimed by an instance with another key.
	keyCheck func(ctx context.Context) error
}

// warnStoreAtStart writes storeAtStart, if any, to w.
func (a *app) warnStoreAtStart(w io.Writer) {
	if a.storeAtStart != nil {
		fmt.Fprintf(w, "sspr: warning: %v\n", a.storeAtStart)
	}
}

func (a *app) Close() error {
	a.engine.Config().Password.Breached.Close()
	if a.store != nil {
		a.store.Close()
	}
	if a.delivery != nil {
		a.delivery.Close()
	}
	if a.ldap != nil {
		a.ldap.Close()
	}
	return a.audit.Close()
}

// wire opens the data dir, the directory, the delivery and the store, and
// builds the engine.
func wire(cfg *Config) (*app, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	key, err := secretKey(cfg.SecretKeyFile)
	if err != nil {
		return nil, err
	}
	embeddedOpts, err := embeddedOptions(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.demo {
		if _, err := embedded.WriteDemo(cfg.Directory.Embedded.Path, embeddedOpts...); err != nil {
			return nil, fmt.Errorf("demo directory: %w", err)
		}
	}
	var dir *embedded.Dir
	if cfg.Directory.LDAP == nil {
		if dir, err = embedded.Open(cfg.Directory.Embedded.Path, embeddedOpts...); err != nil {
			return nil, fmt.Errorf("directory.embedded.path: %w", noUsersFile(err))
		}
	}
	// The demo phone's authenticator app holds the demo accounts.
	secrets := map[string]string{}
	for _, u := range embedded.DemoUsers {
		if u.TOTPSecret != "" {
			// Keyed by both: the person may have typed either.
			secrets[u.Login] = u.TOTPSecret
			if u.Email != "" {
				secrets[u.Email] = u.TOTPSecret
			}
		}
	}
	if err := appendable(cfg.Delivery.Demo.Outbox); err != nil {
		return nil, fmt.Errorf("delivery.demo.outbox: %w", err)
	}
	phone := demo.New(cfg.Delivery.Demo.Outbox, secrets)
	var breached *flow.BreachFile
	if path := cfg.Policy.Password.BreachedFile; path != "" {
		if breached, err = flow.OpenBreachFile(path); err != nil {
			return nil, fmt.Errorf("policy.password.breached_file: %w", err)
		}
	}
	auditW, err := openAudit(cfg.Audit.Path)
	if err != nil {
		breached.Close()
		return nil, fmt.Errorf("audit.path: %w", err)
	}
	// directory.ldap when set, else the embedded directory; it does not
	// connect yet, so nothing needs closing on the error paths below.
	directory, closeLDAP, err := chooseDirectory(cfg, dir, auditW)
	if err != nil {
		auditW.Close()
		breached.Close()
		return nil, err
	}
	store, closeStore, storeAtStart, err := openStore(cfg, key)
	if err != nil {
		auditW.Close()
		breached.Close()
		return nil, err
	}
	delivery, err := buildDelivery(cfg, phone, store)
	if err != nil {
		auditW.Close()
		breached.Close()
		if closeStore != nil {
			closeStore.Close()
		}
		return nil, err
	}
	eng, err := flow.NewEngine(cfg.Settings.Config(key, breached, cfg.UI.Lang), flow.Deps{
		Directory: directory,
		Store:     store,
		SMS:       delivery.sms,
		Voice:     delivery.voice,
		Email:     delivery.email,
		Push:      delivery.push,
		TOTP:      totp.New(),
		// Every audit record is counted for the metrics on its way.
		Audit: slog.New(delivery.metrics.Audit(flow.NewAuditLogger(auditW).Handler())),
		// An audit record that cannot be written is reported here.
		Log: slog.New(delivery.log),
	})
	if err != nil {
		auditW.Close()
		breached.Close()
		if closeStore != nil {
			closeStore.Close()
		}
		delivery.Close()
		return nil, fmt.Errorf("policy: %w", err)
	}
	phone.SetApprover(eng)
	delivery.approver.set(eng)
	a := &app{cfg: cfg, engine: eng, dir: dir, phone: phone, audit: auditW, store: closeStore, ldap: closeLDAP, delivery: delivery,
		storeAtStart: storeAtStart, dirPing: directoryPing(cfg, directory)}
	if rs, ok := closeStore.(*redisstore.Store); ok {
		fp := flow.KeyFingerprint(key)
		a.keyCheck = func(ctx context.Context) error { return rs.CheckKeyFingerprint(ctx, fp) }
	}
	return a, nil
}

// openStore returns the in-process store, or Redis when store.redis.addrs
// is set. Redis is asked once, for the secret key fingerprint of the
// instances sharing it: another key refuses the start. If Redis does not
// answer, the start goes on and atStart says why: the engine fails closed
// while it is away and recovers by itself when it answers.
func openStore(cfg *Config, key []byte) (st flow.Store, closer io.Closer, atStart error, err error) {
	r := cfg.Store.Redis
	if len(r.Addrs) == 0 {
		return memstore.New(), nil, nil, nil
	}
	rs, err := redisstore.New(r)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("store.redis: %w", err)
	}
	// The Redis client's own log would draw over the wizard.
	redisstore.LogTo(nil)
	atStart, err = checkKeyFingerprint(rs, key, r.Timeout)
	if err != nil {
		rs.Close()
		return nil, nil, nil, err
	}
	return rs, rs, atStart, nil
}

// checkKeyFingerprint refuses a secret key other than the one of the
// instances already on this Redis: with two keys, limits are not shared
// and one unknown login gets two decoys, which tells it from a real one.
// A Redis that does not answer is no refusal: away says so.
func checkKeyFingerprint(st *redisstore.Store, key []byte, timeout time.Duration) (away, err error) {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err = st.CheckKeyFingerprint(ctx, flow.KeyFingerprint(key))
	var mismatch *redisstore.KeyMismatchError
	switch {
	case errors.As(err, &mismatch):
		return nil, fmt.Errorf("store.redis: %w: give every instance sharing this Redis the same secret_key_file", err)
	case err != nil:
		return fmt.Errorf("store.redis: %w; starting without comparing the secret key with the other instances' (the store fails closed until Redis answers)", err), nil
	}
	return nil, nil
}

// secretKey reads the key of codes and decoys, creating it on first use.
func secretKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		// Whoever reads it can tell decoys from real accounts offline.
		if err := config.CheckPrivate(path); err != nil {
			return nil, fmt.Errorf("secret_key_file: %w", err)
		}
		if len(key) < 32 {
			return nil, fmt.Errorf("%s: has %d bytes, want 32", path, len(key))
		}
		return key, nil
	}
	if !os.IsNotExist(err) {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return key, f.Close()
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// openAudit opens the audit trail: "-" is standard error, else a file
// appended to with mode 0600, which `sspr serve` reopens on SIGHUP
// (logfile.go).
func openAudit(path string) (io.WriteCloser, error) {
	if path == "-" {
		return nopCloser{os.Stderr}, nil
	}
	return openReopenable(path)
}

// logger is the operational log of a command run by hand, as text on w;
// `sspr serve` builds its log from the log section instead (openLog).
func logger(w io.Writer) *slog.Logger {
	return newLogger(w, "text")
}
