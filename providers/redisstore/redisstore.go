// Package redisstore is the flow.Store that many sspr instances share:
// limits, holds, the TOTP replay cache and pending approvals live in Redis
// (one server, Sentinel or Cluster), so a limit holds across instances and a
// provider callback that lands on another instance completes the right
// session.
//
// Every check-and-count is one Lua script, so parallel callers on any number
// of instances cannot exceed a limit, and the scripts read the server's clock,
// so instances whose clocks disagree still count the same windows.
package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// DefaultPrefix starts every key the store writes, unless Config.Prefix says
// otherwise.
const DefaultPrefix = "sspr:"

// Config is the store.redis block of sspr.yaml: where Redis is and how to
// reach it. No addresses means no Redis (limits live in the process), so
// the all-default block is valid; New needs at least one.
//
// One address is a single server; several are the seed nodes of a Cluster;
// with MasterName set, the addresses are Sentinels and the store follows the
// master they name.
type Config struct {
	Addrs      []string      `yaml:"addrs" default:"none: limits live in this process" doc:"Redis host:port list; one address is a server, several a Cluster, with master_name a Sentinel set. Limits, suspensions, pending approvals and the authenticator replay cache are then shared by every instance and survive restarts"`
	MasterName string        `yaml:"master_name" doc:"the Sentinel master's name"`
	Username   string        `yaml:"username" doc:"Redis ACL user"`
	Password   config.Secret `yaml:"password" doc:"its password, inline, in a file or in an environment variable (one of the three)"`
	DB         int           `yaml:"db" range:"0..15" doc:"database number (a Cluster has only 0)"`
	// Prefix starts every key and channel, so several deployments can share
	// one Redis; DefaultPrefix when empty.
	Prefix string `yaml:"prefix" doc:"prefix of every key, so several deployments can share one Redis"`
	// TLS turns on TLS (1.2 or later) to every node; CAFile, a PEM bundle,
	// replaces the system roots when set.
	TLS    bool   `yaml:"tls" doc:"TLS to Redis"`
	CAFile string `yaml:"ca_file" default:"system roots" doc:"the CA bundle that signs Redis's certificate"`
	// Timeout bounds dialing, and reading and writing one call; the
	// client's defaults when zero.
	Timeout time.Duration `yaml:"timeout" range:"0s..1m" doc:"how long one call waits before failing (0s: the client's default); while Redis is away sspr refuses to send or verify and recovers by itself"`
}

// Default is a store.redis block before the file says more: no Redis, and
// DefaultPrefix.
func Default() Config { return Config{Prefix: DefaultPrefix} }

// Validate reports every wrong key of c at its path in the block (addrs[1],
// ca_file). The ranges of db and timeout are their tags' (config.Check).
func (c *Config) Validate() error {
	var es config.Errors
	if len(c.Addrs) == 0 {
		var set []string
		for _, k := range []struct {
			key string
			set bool
		}{
			{"master_name", c.MasterName != ""}, {"username", c.Username != ""}, {"password", c.Password.IsSet()},
			{"db", c.DB != 0}, {"tls", c.TLS}, {"ca_file", c.CAFile != ""}, {"timeout", c.Timeout != 0},
		} {
			if k.set {
				set = append(set, k.key)
			}
		}
		if len(set) > 0 {
			es.Add("addrs", "is empty, yet %s %s set (give at least one host:port)", strings.Join(set, ", "), plural(len(set), "is", "are"))
		}
		return es.Err()
	}
	for i, a := range c.Addrs {
		if err := checkAddr(a); err != nil {
			es.Add(fmt.Sprintf("addrs[%d]", i), "%v", err)
		}
	}
	if c.DB != 0 && c.MasterName == "" && len(c.Addrs) > 1 {
		es.Add("db", "%d is not allowed: a Cluster (several addrs without master_name) has only db 0", c.DB)
	}
	if c.CAFile != "" {
		if !c.TLS {
			es.Add("ca_file", "%q is given without tls: true", c.CAFile)
		}
		if err := config.Readable(c.CAFile); err != nil {
			es.Add("ca_file", "%q is not a readable file (%v)", c.CAFile, err)
		}
	}
	return es.Err()
}

// checkAddr accepts host:port with a port number.
func checkAddr(a string) error {
	if a == "" {
		return errors.New("is empty (host:port)")
	}
	_, port, err := net.SplitHostPort(a)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 1 || n > 65535) {
			err = errors.New("no such port")
		}
	}
	if err != nil {
		return fmt.Errorf("%q is not allowed (host:port, e.g. redis.example.com:6379)", a)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Store is a flow.Store in Redis. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	// id and seq make the members of the sliding windows unique across
	// instances, even for two events in the same microsecond.
	id  string
	seq atomic.Uint64
	// readTimeout bounds the wait for a subscription to be confirmed.
	readTimeout time.Duration
}

// New checks cfg as config.Load does (the ranges of its tags, the
// password, Validate) and returns a Store; cfg needs at least one address.
// It does not wait for Redis: an unreachable Redis makes calls fail until
// it answers again (Ping tells).
func New(cfg Config) (*Store, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("redisstore: addrs: at least one address is needed")
	}
	if err := config.Check(&cfg); err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	var tlsConfig *tls.Config
	if cfg.TLS {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("redisstore: ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("redisstore: ca_file %s: no PEM certificate in it", cfg.CAFile)
			}
			tlsConfig.RootCAs = pool
		}
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("redisstore: instance id: %w", err)
	}
	readTimeout := cfg.Timeout
	if readTimeout == 0 {
		readTimeout = 3 * time.Second // the client's default
	}
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:       cfg.Addrs,
		MasterName:  cfg.MasterName,
		Username:    cfg.Username,
		Password:    cfg.Password.Value(),
		DB:          cfg.DB,
		TLSConfig:   tlsConfig,
		DialTimeout: cfg.Timeout,
		ReadTimeout: cfg.Timeout,
		// The write of a command is bounded like its reply.
		WriteTimeout: cfg.Timeout,
		// One dial per attempt: the client already retries a failed command
		// a few times, and an outage must fail a call in about
		// (retries+1) x DialTimeout, not five times that.
		DialerRetries: 1,
	})
	return &Store{rdb: rdb, prefix: prefix, id: hex.EncodeToString(id[:]), readTimeout: readTimeout}, nil
}

// LogTo sends what the Redis client logs (reconnects, failed dials, Sentinel
// changes) to l, or drops it when l is nil. The client has one logger per
// process, writing to standard error by default, which would draw over a
// terminal UI.
func LogTo(l *slog.Logger) {
	redis.SetLogger(clientLog{l})
}

type clientLog struct{ l *slog.Logger }

// Printf logs at WARN, except the client's line per failed dial: during
// an outage that is one line per command and per retry, and the outage
// itself is logged once when it starts and once when it ends (sspr
// serve's store_down and store_up); those lines go to DEBUG.
func (c clientLog) Printf(ctx context.Context, format string, v ...any) {
	if c.l == nil {
		return
	}
	msg := fmt.Sprintf(format, v...)
	level := slog.LevelWarn
	if strings.Contains(msg, "failed to dial") {
		level = slog.LevelDebug
	}
	c.l.Log(ctx, level, msg, "component", "redis")
}

// Close releases the connections. The data stays in Redis.
func (s *Store) Close() error {
	if err := s.rdb.Close(); err != nil {
		return fmt.Errorf("redisstore: close: %w", err)
	}
	return nil
}

// Keys. The part in braces is the Cluster hash tag: the window, the hold and
// the use-once mark of one key sit in one slot, so Forget drops them with one
// command; every script touches the keys of one tag only.

func (s *Store) windowKey(key string) string { return s.prefix + "w:{" + key + "}" }
func (s *Store) holdKey(key string) string   { return s.prefix + "h:{" + key + "}" }
func (s *Store) onceKey(key string) string   { return s.prefix + "o:{" + key + "}" }

// millis rounds d up to whole milliseconds, at least one, for PX and PEXPIRE.
func millis(d time.Duration) int64 {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms < 1 {
		ms = 1
	}
	return int64(ms)
}

// micros rounds d up to whole microseconds, the unit of the windows' scores.
func micros(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Microsecond - 1) / time.Microsecond)
}

// member names one event of a window, unique across instances.
func (s *Store) member() string {
	return fmt.Sprintf("%s.%d", s.id, s.seq.Add(1))
}

// Take implements flow.Store.
func (s *Store) Take(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	res, err := takeScript.Run(ctx, s.rdb, []string{s.windowKey(key)},
		micros(window), limit, s.member(), millis(window)).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("redisstore: take: %w", err)
	}
	if len(res) != 2 {
		return false, 0, errors.New("redisstore: take: unexpected reply")
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(res[1]) * time.Microsecond, nil
}

// Add implements flow.Store.
func (s *Store) Add(ctx context.Context, key string, window time.Duration) (int, error) {
	n, err := addScript.Run(ctx, s.rdb, []string{s.windowKey(key)},
		micros(window), s.member(), millis(window)).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstore: add: %w", err)
	}
	return int(n), nil
}

// Forget implements flow.Store.
func (s *Store) Forget(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, s.windowKey(k), s.holdKey(k), s.onceKey(k))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: forget: %w", err)
	}
	return nil
}

// Hold implements flow.Store.
func (s *Store) Hold(ctx context.Context, key string, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	if err := holdScript.Run(ctx, s.rdb, []string{s.holdKey(key)}, millis(ttl)).Err(); err != nil {
		return fmt.Errorf("redisstore: hold: %w", err)
	}
	return nil
}

// Held implements flow.Store.
func (s *Store) Held(ctx context.Context, key string) (time.Duration, error) {
	left, err := s.rdb.PTTL(ctx, s.holdKey(key)).Result()
	if err != nil {
		return 0, fmt.Errorf("redisstore: held: %w", err)
	}
	// go-redis reports a missing key (-2) and a key without expiry (-1) as
	// negative durations; a hold is always written with an expiry.
	if left <= 0 {
		return 0, nil
	}
	return left, nil
}

// UseOnce implements flow.Store.
func (s *Store) UseOnce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	fresh, err := s.rdb.SetNX(ctx, s.onceKey(key), "1", time.Duration(millis(ttl))*time.Millisecond).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: use once: %w", err)
	}
	return fresh, nil
}

// Ping implements flow.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// fingerprintKey holds the secret key fingerprint of the instances sharing
// this prefix. It has no expiry: it is as old as the deployment.
func (s *Store) fingerprintKey() string { return s.prefix + "key-fingerprint" }

// claimFingerprintScript stores ARGV[1] under KEYS[1] unless a value is
// there, and returns the value now stored. A script rather than SET NX GET,
// which Redis before 7.0 refuses.
var claimFingerprintScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  return v
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`)

// KeyMismatchError says that another instance sharing the store has another
// secret key: limits then count one person under different keys and an
// unknown login gets a different decoy on each instance. Its message names
// only short prefixes of the fingerprints.
type KeyMismatchError struct {
	// Stored is the fingerprint found in Redis, Ours this instance's.
	Stored, Ours string
}

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("another instance uses a different secret key (fingerprint in Redis %s, this instance's %s)",
		shortFingerprint(e.Stored), shortFingerprint(e.Ours))
}

func shortFingerprint(fp string) string {
	if len(fp) > 8 {
		return fp[:8] + "…"
	}
	return fp
}

// CheckKeyFingerprint records fp, the fingerprint of this instance's secret
// key (flow.KeyFingerprint), as the one of every instance on this prefix if
// none is recorded yet, and otherwise compares it with the recorded one: a
// *KeyMismatchError when they differ. Rotating the key on every instance
// means deleting <prefix>key-fingerprint too.
func (s *Store) CheckKeyFingerprint(ctx context.Context, fp string) error {
	if fp == "" {
		return errors.New("redisstore: key fingerprint: empty")
	}
	stored, err := claimFingerprintScript.Run(ctx, s.rdb, []string{s.fingerprintKey()}, fp).Text()
	var reply redis.Error
	switch {
	case errors.As(err, &reply):
		return fmt.Errorf("redisstore: key fingerprint: Redis refused the check: %w", err)
	case err != nil:
		return fmt.Errorf("redisstore: key fingerprint: Redis could not be reached: %w", err)
	case stored != fp:
		return &KeyMismatchError{Stored: stored, Ours: fp}
	}
	return nil
}

// KeyFingerprint reads the fingerprint recorded on this prefix without
// recording one: ok is false when no instance has recorded any yet. `sspr
// check` compares with it and leaves Redis as it was.
func (s *Store) KeyFingerprint(ctx context.Context) (fp string, ok bool, err error) {
	fp, err = s.rdb.Get(ctx, s.fingerprintKey()).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("redisstore: key fingerprint: %w", err)
	}
	return fp, true, nil
}

var _ flow.Store = (*Store)(nil)
