package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sspr-project/sspr/config"

	"golang.org/x/term"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/totp"
	"github.com/sspr-project/sspr/tui"
)

// embeddedUsers prepares a `sspr users` command (named by what) that acts
// on the embedded directory only: it refuses a config with directory.ldap
// before touching any file, writes the demo directory in the demo, and
// returns the directory's path and the options to open it with.
func embeddedUsers(cfg *Config, what string) (string, []embedded.Option, error) {
	if cfg.Directory.LDAP != nil {
		return "", nil, fmt.Errorf("%s acts on the embedded directory; this config uses directory.ldap: manage people in the directory itself", what)
	}
	opts, err := prepareEmbedded(cfg)
	return cfg.Directory.Embedded.Path, opts, err
}

// prepareEmbedded returns the options to open the embedded directory with,
// after writing the demo directory in the demo so that the users commands
// find the sample people.
func prepareEmbedded(cfg *Config) ([]embedded.Option, error) {
	opts, err := embeddedOptions(cfg)
	if err != nil || !cfg.demo {
		return opts, err
	}
	if _, err := embedded.WriteDemo(cfg.Directory.Embedded.Path, opts...); err != nil {
		return nil, err
	}
	return opts, nil
}

// openOrCreate opens the directory file, creating an empty one if needed.
func openOrCreate(path string, opts ...embedded.Option) (*embedded.Dir, error) {
	d, err := embedded.Open(path, opts...)
	if errors.Is(err, os.ErrNotExist) {
		return embedded.Create(path, opts...)
	}
	return d, err
}

// noUsersFile adds what to do to the error of an embedded directory whose
// users file is not there yet: add the first person, or name a directory
// server instead.
func noUsersFile(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: add the first person with `sspr --config FILE users add LOGIN`, or name a directory server in directory.ldap (docs/LDAP.md, docs/ACTIVE-DIRECTORY.md)", err)
	}
	return err
}

// usersAddOptions are the flags of `sspr users add`.
type usersAddOptions struct {
	name, email, mobile, office string
	totp                        bool
}

func usersAdd(cfg *Config, path string, opts []embedded.Option, login string, o usersAddOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	if login == "" || flow.Sanitize(login, flow.MaxLoginLen) != login || strings.ContainsAny(login, " \t") {
		return errors.New("users add: give a LOGIN without spaces or control characters")
	}
	rec := embedded.UserRecord{Login: login, DisplayName: o.name, Email: o.email}
	var err error
	if rec.Mobile, err = e164(o.mobile); err != nil {
		return fmt.Errorf("users add: --mobile: %w", err)
	}
	if rec.Office, err = e164(o.office); err != nil {
		return fmt.Errorf("users add: --office: %w", err)
	}
	if o.email != "" {
		if err := checkEmail(o.email); err != nil {
			return fmt.Errorf("users add: --email: %w", err)
		}
	}
	var uri string
	if o.totp {
		if rec.TOTPSecret, uri, err = totp.NewSecret(totpIssuer, login); err != nil {
			return fmt.Errorf("users add: authenticator: %w", err)
		}
	}
	pw, err := readNewPassword(stdin, stderr)
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	if err := checkPolicy(cfg, flow.Person{Login: login, DisplayName: o.name, Email: o.email}, pw); err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	d, err := openOrCreate(path, opts...)
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	audit, err := openAdminAudit(cfg.Audit.Path)
	if err != nil {
		return fmt.Errorf("users add: audit.path: %w; nothing was changed", err)
	}
	defer audit.Close()
	if err := d.AddUser(rec, pw); err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	audit.record("admin_add", login)
	fmt.Fprintf(stdout, "added %s to %s\n", login, path)
	if uri != "" {
		qr, err := tui.QRText(uri)
		if err != nil {
			return fmt.Errorf("users add: QR code: %w", err)
		}
		fmt.Fprintf(stdout, "\nScan this with the authenticator app, or enter the URI by hand:\n\n%s\n%s\n", qr, uri)
	}
	return nil
}

// checkPolicy checks a password an administrator sets for p against the
// password policy, the breached file included; the error lists every rule
// it fails, and never repeats the password.
func checkPolicy(cfg *Config, p flow.Person, pw string) error {
	policy := cfg.Policy.Password.Policy(nil)
	if path := cfg.Policy.Password.BreachedFile; path != "" {
		var err error
		if policy.Breached, err = flow.OpenBreachFile(path); err != nil {
			return fmt.Errorf("policy.password.breached_file: %w", err)
		}
		defer policy.Breached.Close()
	}
	var unmet []string
	for _, r := range flow.CheckPasswordFor(policy, p, pw, pw) {
		if !r.Met {
			unmet = append(unmet, r.Text)
		}
	}
	if len(unmet) > 0 {
		return fmt.Errorf("the password does not meet the policy: %s", strings.Join(unmet, "; "))
	}
	return nil
}

// checkEmail refuses what cannot be an email address.
func checkEmail(email string) error {
	if !strings.Contains(email, "@") || strings.ContainsAny(email, " \t<>") {
		return fmt.Errorf("%q is not an email address", email)
	}
	return nil
}

// e164 normalises a phone number that carries its country code.
func e164(number string) (string, error) {
	if number == "" {
		return "", nil
	}
	n, ok := flow.E164(number)
	if !ok {
		return "", fmt.Errorf("%q is not a phone number with country code (e.g. +1 212 555 0100)", number)
	}
	return n, nil
}

// readNewPassword reads a password from stdin when it is not a terminal,
// or asks for it twice without echo when it is.
func readNewPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdinTerminal(stdin); ok {
		fmt.Fprint(stderr, "New password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Confirm new password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords don't match")
		}
		return string(a), nil
	}
	return readPasswordLine(stdin)
}

// readPasswordLine reads one line (at most 4 KiB) without its line ending.
func readPasswordLine(stdin io.Reader) (string, error) {
	r := bufio.NewReaderSize(io.LimitReader(stdin, 4096), 4096)
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

func usersVerify(path string, opts []embedded.Option, login string, stdin io.Reader, stderr io.Writer) error {
	d, err := embedded.Open(path, opts...)
	if err != nil {
		return fmt.Errorf("users verify: %w", err)
	}
	pw, err := readPasswordLine(stdin)
	if err != nil {
		return fmt.Errorf("users verify: %w", err)
	}
	ok, err := d.VerifyPassword(login, pw)
	if err != nil {
		return fmt.Errorf("users verify: %w", err)
	}
	if !ok {
		fmt.Fprintln(stderr, "sspr users verify: the password does not match")
		return exitError(1)
	}
	return nil
}

func usersList(path string, opts []embedded.Option, stdout io.Writer) error {
	d, err := embedded.Open(path, opts...)
	if err != nil {
		return fmt.Errorf("users list: %w", err)
	}
	list, err := d.List()
	if err != nil {
		return fmt.Errorf("users list: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOGIN\tNAME\tEMAIL\tMOBILE\tOFFICE\tAPP\tSTATE")
	for _, u := range list {
		state := "active"
		if u.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Login, u.DisplayName, u.Email, u.Mobile, u.Office, yesNo(u.Authenticator), state)
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Authenticator block: the TOTP key (directory.embedded.totp_key_file,
// directory.ldap.totp_key_file or SSPR_TOTP_KEY), `sspr users totp` and
// `sspr users encrypt-totp`, and their lines in `sspr check`.

// totpIssuer names sspr in the authenticator app's list.
const totpIssuer = "sspr"

// totpKeyEnv is the environment variable that may hold the TOTP key.
const totpKeyEnv = "SSPR_TOTP_KEY"

// totpAttempts is how many codes `users totp` reads before it gives up.
const totpAttempts = 3

// totpKey reads the key that encrypts the embedded directory's
// authenticator secrets, and says where it came from; nil when none is
// configured.
func totpKey(cfg *Config) (*totp.Key, string, error) {
	return readTOTPKey("directory.embedded.totp_key_file", cfg.Directory.Embedded.TOTPKeyFile)
}

// ldapTOTPKey is totpKey for directory.ldap, whose key file is its own
// (directory.embedded is ignored when directory.ldap is set).
func ldapTOTPKey(cfg *Config) (*totp.Key, string, error) {
	return readTOTPKey("directory.ldap.totp_key_file", cfg.Directory.LDAP.TOTPKeyFile)
}

// readTOTPKey reads the key from the file path (named by field in errors)
// or, when path is empty, from SSPR_TOTP_KEY. The errors never repeat the
// key.
func readTOTPKey(field, path string) (*totp.Key, string, error) {
	if path != "" {
		b, err := config.ReadPrivateFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", field, err)
		}
		k, err := totp.ParseKey(b)
		if err != nil {
			return nil, "", fmt.Errorf("%s %s: %w", field, path, err)
		}
		return k, field + " " + path, nil
	}
	if v := os.Getenv(totpKeyEnv); v != "" {
		k, err := totp.ParseKey([]byte(v))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", totpKeyEnv, err)
		}
		return k, totpKeyEnv, nil
	}
	return nil, "", nil
}

// embeddedOptions are the options every opening of the embedded directory
// takes: the bound on argon2id at once, and the TOTP key when one is
// configured.
func embeddedOptions(cfg *Config) ([]embedded.Option, error) {
	opts := []embedded.Option{embedded.WithHashesAtOnce(cfg.Directory.Embedded.HashesAtOnce)}
	k, _, err := totpKey(cfg)
	if err != nil || k == nil {
		return opts, err
	}
	return append(opts, embedded.WithTOTPKey(k)), nil
}

// openEmbedded opens directory.embedded.path with the TOTP key.
func openEmbedded(cfg *Config) (*embedded.Dir, error) {
	opts, err := embeddedOptions(cfg)
	if err != nil {
		return nil, err
	}
	return embedded.Open(cfg.Directory.Embedded.Path, opts...)
}

// totpDirectory is what enrolling an authenticator app needs of a
// directory: find the account, store its new secret (sealed when the
// directory has a TOTP key), and name that key.
type totpDirectory interface {
	LookupUser(ctx context.Context, login string) (flow.User, error)
	SetTOTPSecret(ctx context.Context, u flow.User, secret string) error
	TOTPKeyID() string
}

// embeddedTOTP is the embedded directory as a totpDirectory: its entries
// are named by login, which is the ID of the users it returns.
type embeddedTOTP struct{ *embedded.Dir }

func (e embeddedTOTP) SetTOTPSecret(ctx context.Context, u flow.User, secret string) error {
	return e.Dir.SetTOTPSecret(ctx, u.ID, secret)
}

// totpTarget is the directory `users totp` writes to, with what its
// messages say about it.
type totpTarget struct {
	dir totpDirectory
	// where names the place u's secret is stored in.
	where func(u flow.User) string
	// keyField is the config key that would hold the TOTP key.
	keyField string
}

// usersTOTP enrols (or replaces) the authenticator app of one account in
// the configured directory: directory.ldap when it is set, else the
// embedded one.
func usersTOTP(cfg *Config, login string, stdin io.Reader, stdout, stderr io.Writer) error {
	var target totpTarget
	if cfg.Directory.LDAP != nil {
		d, err := openLDAP(cfg, logger(stderr))
		if err != nil {
			return fmt.Errorf("users totp: %w", err)
		}
		defer d.Close()
		attr := d.TOTPAttribute()
		if attr == "" {
			return errors.New("users totp: directory.ldap.attributes.totp_secret is not set: no attribute holds authenticator secrets (docs/LDAP.md)")
		}
		target = totpTarget{dir: d, keyField: "directory.ldap.totp_key_file",
			where: func(u flow.User) string { return attr + " of " + u.ID }}
	} else {
		path, opts, err := embeddedUsers(cfg, "users totp")
		if err != nil {
			return err
		}
		d, err := embedded.Open(path, opts...)
		if err != nil {
			return fmt.Errorf("users totp: %w", err)
		}
		target = totpTarget{dir: embeddedTOTP{d}, keyField: "directory.embedded.totp_key_file",
			where: func(flow.User) string { return path }}
	}
	return enrolTOTP(context.Background(), target, login, stdin, stdout, stderr)
}

// enrolTOTP shows a new secret for login as a QR code and a URI, and saves
// it only once a code from the app matches, so a failed scan never
// replaces a working app.
func enrolTOTP(ctx context.Context, t totpTarget, login string, stdin io.Reader, stdout, stderr io.Writer) error {
	u, err := t.dir.LookupUser(ctx, login)
	if err != nil {
		return fmt.Errorf("users totp: %q: %w", flow.Sanitize(login, 64), err)
	}
	if flow.CanonicalLogin(u.Login) != flow.CanonicalLogin(login) {
		// An email matched: the secret goes to that entry, named by login.
		fmt.Fprintf(stderr, "%s is the email of %s\n", flow.Sanitize(login, 64), u.Login)
	}
	secret, uri, err := totp.NewSecret(totpIssuer, u.Login)
	if err != nil {
		return fmt.Errorf("users totp: %w", err)
	}
	qr, err := tui.QRText(uri)
	if err != nil {
		return fmt.Errorf("users totp: QR code: %w", err)
	}
	verb := "Enrolling"
	if u.TOTPSecret != "" {
		verb = "Replacing"
	}
	fmt.Fprintf(stdout, "%s the authenticator app of %s. Scan this with the app, or enter the URI by hand:\n\n%s\n%s\n\n", verb, u.Login, qr, uri)
	in := bufio.NewReaderSize(io.LimitReader(stdin, 4096), 256)
	v := totp.New()
	for try := 1; ; try++ {
		fmt.Fprint(stderr, "Code the app shows now: ")
		line, err := in.ReadString('\n')
		code := strings.TrimSpace(line)
		if code == "" && err != nil {
			fmt.Fprintln(stderr)
			fmt.Fprintln(stderr, "sspr users totp: no code given: nothing was saved")
			return exitError(1)
		}
		if _, ok := v.Validate(secret, code, time.Now()); ok {
			break
		}
		if try == totpAttempts {
			fmt.Fprintf(stderr, "sspr users totp: %d codes did not match: nothing was saved\n", totpAttempts)
			return exitError(1)
		}
		fmt.Fprintf(stderr, "That code does not match. Check that the app added the account %s:%s and that its clock is right, then try again.\n", totpIssuer, u.Login)
	}
	if err := t.dir.SetTOTPSecret(ctx, u, secret); err != nil {
		return fmt.Errorf("users totp: %w", err)
	}
	if id := t.dir.TOTPKeyID(); id != "" {
		fmt.Fprintf(stdout, "saved: %s's authenticator app, encrypted with key %s, in %s\n", u.Login, id, t.where(u))
	} else {
		fmt.Fprintf(stdout, "saved: %s's authenticator app in %s\n", u.Login, t.where(u))
		fmt.Fprintf(stderr, "warning: the secret is stored in plain text; set %s or %s to encrypt it\n", t.keyField, totpKeyEnv)
	}
	return nil
}

// usersEncryptTOTP encrypts the authenticator secrets still stored in
// plain text, after a key was configured.
func usersEncryptTOTP(path string, opts []embedded.Option, stdout io.Writer) error {
	if len(opts) == 0 {
		return fmt.Errorf("users encrypt-totp: no TOTP key: set directory.embedded.totp_key_file or %s", totpKeyEnv)
	}
	d, err := embedded.Open(path, opts...)
	if err != nil {
		return fmt.Errorf("users encrypt-totp: %w", err)
	}
	n, err := d.EncryptTOTPSecrets(context.Background())
	if err != nil {
		return fmt.Errorf("users encrypt-totp: %w", err)
	}
	fmt.Fprintf(stdout, "encrypted %d authenticator secrets with key %s in %s\n", n, d.TOTPKeyID(), path)
	return nil
}

// checkTOTP is the authenticator part of `sspr check`: the key, and a
// warning for every secret left in plain text.
func checkTOTP(cfg *Config, d *embedded.Dir, stdout io.Writer, step func(what string, err error) error) error {
	k, from, err := totpKey(cfg)
	if err != nil {
		return step("TOTP key", err)
	}
	if path := cfg.Directory.Embedded.TOTPKeyFile; path != "" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			_ = step("directory.embedded.totp_key_file "+path, fmt.Errorf("mode %v lets others read it; chmod 600", fi.Mode().Perm()))
		}
	}
	list, err := d.List()
	if err != nil {
		return step("directory.embedded.path", err)
	}
	plain, sealed := 0, 0
	for _, u := range list {
		switch {
		case u.AuthenticatorEncrypted:
			sealed++
		case u.Authenticator:
			plain++
		}
	}
	if k != nil {
		if err := step(fmt.Sprintf("TOTP key %s from %s (%d secrets encrypted)", k.ID(), from, sealed), nil); err != nil {
			return err
		}
		if plain > 0 {
			fmt.Fprintf(stdout, "WARN  %d authenticator secrets are still in plain text: run `sspr users encrypt-totp`\n", plain)
		}
		return nil
	}
	if plain > 0 {
		fmt.Fprintf(stdout, "WARN  %d authenticator secrets are stored in plain text: no TOTP key (directory.embedded.totp_key_file or %s)\n", plain, totpKeyEnv)
	}
	return nil
}

// End of the authenticator block.
