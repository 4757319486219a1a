// Package embedded is the directory sspr brings along: the users in one
// YAML file, their passwords as argon2id hashes. It serves the demo and
// small sites without LDAP.
//
// The file looks like this:
//
//	users:
//	  - login: alice
//	    display_name: Alice Example
//	    email: alice@example.com
//	    mobile: +1 212 555 0101
//	    office: +1 212 555 0111
//	    totp_secret: enc:v1:3f2a9c1e:<nonce, ciphertext and tag in base64url>
//	    password: $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>
//	    disabled: false
//
// Authenticator secrets are encrypted with AES-256-GCM when the Dir has a
// TOTP key (WithTOTPKey); a plain base32 secret, as older files and the demo
// without a key hold, is read as it is.
//
// Writes are read-modify-write under an in-process lock and an advisory
// lock on "<file>.lock", so several sspr processes may share one file, and
// the file is replaced atomically, so a crash never leaves half of it.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

// Dir is a users file; it implements flow.Directory. It is safe for
// concurrent use, also by several processes on the same file.
type Dir struct {
	path   string
	params Params
	// key seals the authenticator secrets this Dir writes and opens those
	// it reads; nil leaves new secrets plain.
	key *totp.Key

	// writing holds one token while this process writes; unlike a mutex,
	// waiting for it honours a context.
	writing chan struct{}

	mu     sync.Mutex // guards the cache below
	users  []record
	loaded os.FileInfo

	// beforeRename, when set, runs between writing the new file and
	// renaming it into place; tests make it fail.
	beforeRename func(tmp string) error

	// log gets the warnings of a write that went through but could not
	// keep the file's owner; nil means slog.Default().
	log atomic.Pointer[slog.Logger]

	// hashing bounds the argon2id computations running at once, new hashes
	// and checks alike (argon.go): each takes its memory cost (64 MiB by
	// default) for all of its run, and a stranger can ask for one.
	hashing *semaphore.Weighted
	// hashesAtOnce is hashing's size; 0 until Open sets it.
	hashesAtOnce int
	// queued counts the computations waiting for their turn.
	queued atomic.Int64
	// onArgon, when set, runs as each computation starts and again as it
	// ends (delta +1, then -1), within its turn; tests count them.
	onArgon func(delta int)
}

var _ flow.Directory = (*Dir)(nil)
var _ flow.CurrentPasswordChecker = (*Dir)(nil)

// Option changes how a Dir is opened.
type Option func(*Dir)

// WithParams sets the argon2id cost of the hashes the Dir writes; tests
// use a low one. Existing hashes are verified with their own parameters.
func WithParams(p Params) Option { return func(d *Dir) { d.params = p } }

// WithHashesAtOnce bounds the argon2id computations (new hashes and
// password checks) that run at once; more wait their turn. n <= 0 means
// as many as Go may run threads at once (runtime.GOMAXPROCS).
func WithHashesAtOnce(n int) Option { return func(d *Dir) { d.hashesAtOnce = n } }

// WithTOTPKey encrypts the authenticator secrets the Dir writes with k, and
// decrypts those it reads. Without it, an encrypted secret fails to load.
func WithTOTPKey(k *totp.Key) Option { return func(d *Dir) { d.key = k } }

// Open reads and checks the users file at path. Errors name the entry and
// the field that is wrong.
func Open(path string, opts ...Option) (*Dir, error) {
	// Writes replace the file, so they must go to the file itself and not
	// over a symbolic link to it.
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("open users file: %w", err)
	}
	d := &Dir{path: real, params: DefaultParams, writing: make(chan struct{}, 1)}
	for _, o := range opts {
		o(d)
	}
	if d.hashesAtOnce <= 0 {
		d.hashesAtOnce = runtime.GOMAXPROCS(0)
	}
	d.hashing = semaphore.NewWeighted(int64(d.hashesAtOnce))
	if err := d.params.validate(); err != nil {
		return nil, fmt.Errorf("argon2id parameters: %w", err)
	}
	if _, err := d.load(); err != nil {
		return nil, err
	}
	return d, nil
}

// Create makes an empty users file at path (mode 0600) unless one is
// there, and opens it.
func Create(path string, opts ...Option) (*Dir, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_, err = f.WriteString("users: []\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("create users file: %w", err)
		}
	case !errors.Is(err, os.ErrExist):
		return nil, fmt.Errorf("create users file: %w", err)
	}
	return Open(path, opts...)
}

// SetLogger sends the Dir's warnings to l instead of slog.Default(). It
// may be called at any time.
func (d *Dir) SetLogger(l *slog.Logger) { d.log.Store(l) }

func (d *Dir) logger() *slog.Logger {
	if l := d.log.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// Path returns the file the Dir reads, symbolic links resolved.
func (d *Dir) Path() string { return d.path }

// LookupUser implements flow.Directory: login is matched against every
// login and email in flow.CanonicalLogin's form (case, width and
// surrounding space ignored). Anything but exactly
// one entry is flow.ErrUnknownUser; for two or more, the error says so.
func (d *Dir) LookupUser(ctx context.Context, login string) (flow.User, error) {
	if err := ctx.Err(); err != nil {
		return flow.User{}, err
	}
	users, err := d.load()
	if err != nil {
		return flow.User{}, err
	}
	var found []record
	for _, r := range users {
		if same(r.Login, login) || same(r.Email, login) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return flow.User{}, flow.ErrUnknownUser
	case 1:
		r := found[0]
		return flow.User{ID: r.Login, Login: r.Login, DisplayName: r.DisplayName, Email: r.Email,
			Mobile: r.Mobile, Office: r.Office, TOTPSecret: r.secret, Disabled: r.Disabled,
			Groups: append([]string(nil), r.Groups...), SSHKeys: append([]string(nil), r.SSHKeys...)}, nil
	}
	return flow.User{}, fmt.Errorf("%w: %d entries match %q", flow.ErrUnknownUser, len(found), flow.Sanitize(login, 64))
}

// SetPassword implements flow.Directory: the hash of entry u.ID is replaced
// and nothing else changes.
func (d *Dir) SetPassword(ctx context.Context, u flow.User, password string) error {
	if password == "" {
		return fmt.Errorf("set password of %q: the password is empty", u.ID)
	}
	// Hashing is the slow part; it needs no lock, only its turn.
	hash, err := d.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("set password of %q: %w", u.ID, err)
	}
	err = d.update(ctx, func(users []record) ([]record, error) {
		i, err := findLogin(users, u.ID)
		if err != nil {
			return nil, err
		}
		if users[i].Disabled {
			return nil, errors.New("the account is disabled")
		}
		users[i].Password = hash
		return users, nil
	})
	if err != nil {
		return fmt.Errorf("set password of %q: %w", u.ID, err)
	}
	return nil
}

// findLogin returns the index of the one entry whose login is login.
func findLogin(users []record, login string) (int, error) {
	at, n := -1, 0
	for i, r := range users {
		if same(r.Login, login) {
			at, n = i, n+1
		}
	}
	switch n {
	case 0:
		return -1, flow.ErrUnknownUser
	case 1:
		return at, nil
	}
	return -1, fmt.Errorf("%w: %d entries have this login", flow.ErrUnknownUser, n)
}

// load returns the users, reading the file again only when it changed.
// Reading needs no lock: writers replace the file in one rename.
func (d *Dir) load() ([]record, error) {
	f, err := os.Open(d.path)
	if err != nil {
		return nil, fmt.Errorf("read users file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read users file: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.loaded != nil && os.SameFile(d.loaded, fi) && d.loaded.Size() == fi.Size() && d.loaded.ModTime().Equal(fi.ModTime()) {
		return d.users, nil
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read users file: %w", err)
	}
	users, err := parseUsers(data)
	if err == nil {
		err = d.openSecrets(users)
	}
	if err != nil {
		return nil, fmt.Errorf("users file %s: %w", d.path, err)
	}
	d.users, d.loaded = users, fi
	return users, nil
}

// openSecrets sets the usable secret of every entry, decrypting the sealed
// ones. One that cannot be opened fails the whole file, as any other bad
// entry does, and the error says which entry and why.
func (d *Dir) openSecrets(users []record) error {
	for i := range users {
		r := &users[i]
		if !totp.IsSealed(r.TOTPSecret) {
			r.secret = r.TOTPSecret
			continue
		}
		secret, err := d.key.Open(r.Login, r.TOTPSecret)
		if errors.Is(err, totp.ErrNoKey) {
			err = fmt.Errorf("%w (directory.embedded.totp_key_file or SSPR_TOTP_KEY)", err)
		} else if err == nil && totp.CheckSecret(secret) != nil {
			err = totp.ErrTampered
		}
		if err != nil {
			return fmt.Errorf("users[%d] (%q): totp_secret %w", i, flow.Sanitize(r.Login, 64), err)
		}
		r.secret = secret
	}
	return nil
}

// update changes the users file: under both locks it reads the file as it
// is now, applies change and replaces the file. change may edit entries in
// place and append new ones.
func (d *Dir) update(ctx context.Context, change func([]record) ([]record, error)) error {
	unlock, err := d.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	// The lock may be taken as ctx ends: a caller that has gone writes
	// nothing.
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := os.ReadFile(d.path)
	if err != nil {
		return fmt.Errorf("read users file: %w", err)
	}
	out, err := editUsers(data, change)
	if err != nil {
		return err
	}
	lost, err := writeAtomic(d.path, out, d.beforeRename)
	if err != nil {
		return fmt.Errorf("write users file: %w", err)
	}
	if lost != "" {
		d.logger().Warn("users_file_owner_changed", "path", d.path, "detail", lost)
	}
	return nil
}

// lockPoll is how often a writer tries again for the file lock.
const lockPoll = 5 * time.Millisecond

// lock takes the in-process token, then an exclusive flock on
// "<file>.lock", waiting until both are held or ctx ends. The lock file is
// never removed: removing it would let two writers lock different files.
func (d *Dir) lock(ctx context.Context) (unlock func(), err error) {
	select {
	case d.writing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-d.writing }
	f, err := os.OpenFile(d.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		release()
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			release()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		select {
		case <-time.After(lockPoll):
		case <-ctx.Done():
			f.Close()
			release()
			return nil, ctx.Err()
		}
	}
	// Closing the file releases the flock.
	return func() { f.Close(); release() }, nil
}
