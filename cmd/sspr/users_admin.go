package main

// The lifecycle of an account in the embedded directory: `sspr users set`,
// `disable`, `enable`, `remove` and `passwd`. Each names the entry by its
// login, writes the file through the provider (atomically, keeping its
// mode, owner and group) and leaves one record per change in the audit
// trail.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
)

// usersSetOptions are the flags of `sspr users set`.
type usersSetOptions struct {
	name, email, mobile, office                     string
	clearName, clearEmail, clearMobile, clearOffice bool
	// sshKeys are authorized_keys lines to add; clearSSHKeys removes
	// the keys listed before.
	sshKeys      []string
	clearSSHKeys bool
}

// change turns the flags given into the change they ask for. A flag with
// its --clear- twin, an empty value, or no flag at all is a usage error.
func (o usersSetOptions) change(flags *pflag.FlagSet) (embedded.UserChange, []string, error) {
	var c embedded.UserChange
	var names []string
	for _, f := range []struct {
		name  string
		value string
		clear bool
		to    **string
	}{
		{"name", o.name, o.clearName, &c.DisplayName},
		{"email", o.email, o.clearEmail, &c.Email},
		{"mobile", o.mobile, o.clearMobile, &c.Mobile},
		{"office", o.office, o.clearOffice, &c.Office},
	} {
		set := flags.Changed(f.name)
		switch {
		case set && f.clear:
			return c, nil, usageError{fmt.Errorf("users set: --%s and --clear-%[1]s together: give one of them", f.name)}
		case set && f.value == "":
			return c, nil, usageError{fmt.Errorf("users set: --%s is empty: use --clear-%[1]s to clear it", f.name)}
		case !set && !f.clear:
			continue
		}
		v := f.value
		*f.to = &v
		names = append(names, f.name)
	}
	if o.clearSSHKeys {
		c.ClearSSHKeys = true
		names = append(names, "clear_ssh_keys")
	}
	for _, k := range o.sshKeys {
		fp, err := flow.ValidSSHKey(strings.TrimSpace(k))
		if err != nil {
			return c, nil, usageError{fmt.Errorf("users set: --ssh-key %w", err)}
		}
		c.AddSSHKeys = append(c.AddSSHKeys, k)
		names = append(names, "ssh_key "+fp)
	}
	if len(names) == 0 {
		return c, nil, usageError{errors.New("users set: name a field to change: --name, --email, --mobile, --office, --ssh-key, or their --clear-* twins")}
	}
	var err error
	for _, p := range []struct {
		flag string
		v    *string
	}{{"mobile", c.Mobile}, {"office", c.Office}} {
		if p.v != nil {
			if *p.v, err = e164(*p.v); err != nil {
				return c, nil, fmt.Errorf("users set: --%s: %w", p.flag, err)
			}
		}
	}
	if c.Email != nil && *c.Email != "" {
		if err := checkEmail(*c.Email); err != nil {
			return c, nil, fmt.Errorf("users set: --email: %w", err)
		}
	}
	return c, names, nil
}

// adminTarget is the entry an administrator's command acts on, in an open
// embedded directory, with the audit trail its change goes to.
type adminTarget struct {
	dir   *embedded.Dir
	path  string
	user  embedded.UserInfo
	audit *adminAudit
}

// openAdminTarget opens the embedded directory and finds the entry whose
// login is login (what names the command in messages). An unknown login
// is said on stderr and is exit status 1. The audit trail is opened before
// anything changes: a change that could not be recorded is not made.
func openAdminTarget(cfg *Config, what, login string, stderr io.Writer) (*adminTarget, error) {
	path, opts, err := embeddedUsers(cfg, what)
	if err != nil {
		return nil, err
	}
	d, err := embedded.Open(path, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, noUsersFile(err))
	}
	d.SetLogger(logger(stderr))
	u, err := d.User(login)
	if errors.Is(err, flow.ErrUnknownUser) {
		msg := fmt.Sprintf("no account has the login %q in %s", flow.Sanitize(login, 64), path)
		if !strings.HasSuffix(err.Error(), flow.ErrUnknownUser.Error()) {
			msg = err.Error() // several entries share it
		}
		fmt.Fprintf(stderr, "sspr %s: %s\n", what, msg)
		return nil, exitError(1)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	a, err := openAdminAudit(cfg.Audit.Path)
	if err != nil {
		return nil, fmt.Errorf("%s: audit.path: %w; nothing was changed", what, err)
	}
	return &adminTarget{dir: d, path: path, user: u, audit: a}, nil
}

func (t *adminTarget) Close() error { return t.audit.Close() }

// adminAudit is the audit trail of an administrator's commands.
type adminAudit struct {
	w   io.WriteCloser
	log *slog.Logger
	by  string
}

// openAdminAudit opens the audit trail for appending. A file it creates is
// given the owner and group of its directory when sspr runs as root, so
// that the service, which owns that directory, can still append to it.
func openAdminAudit(path string) (*adminAudit, error) {
	by := "uid " + strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		by = u.Username
	}
	if s := os.Getenv("SUDO_USER"); s != "" && os.Geteuid() == 0 {
		by = flow.Sanitize(s, 64) + " (sudo)"
	}
	if path == "-" {
		return &adminAudit{w: nopCloser{os.Stderr}, log: flow.NewAuditLogger(os.Stderr), by: by}, nil
	}
	_, statErr := os.Stat(path)
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	if errors.Is(statErr, os.ErrNotExist) && os.Geteuid() == 0 {
		if fi, err := os.Stat(filepath.Dir(path)); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
				_ = f.Chown(int(st.Uid), int(st.Gid))
			}
		}
	}
	return &adminAudit{w: f, log: flow.NewAuditLogger(f), by: by}, nil
}

// record writes one change: step is admin_<command>; never a password.
func (a *adminAudit) record(step, login string, extra ...slog.Attr) {
	attrs := append([]slog.Attr{slog.String("channel", "cli"), slog.String("login", login),
		slog.String("step", step), slog.String("result", "ok"), slog.String("by", a.by)}, extra...)
	a.log.LogAttrs(context.Background(), slog.LevelInfo, step, attrs...)
}

func (a *adminAudit) Close() error { return a.w.Close() }

func usersSet(cfg *Config, login string, c embedded.UserChange, fields []string, stdout, stderr io.Writer) error {
	t, err := openAdminTarget(cfg, "users set", login, stderr)
	if err != nil {
		return err
	}
	defer t.Close()
	u, err := t.dir.UpdateUser(context.Background(), t.user.Login, c)
	if err != nil {
		return fmt.Errorf("users set: %w", err)
	}
	t.audit.record("admin_set", u.Login, slog.String("fields", strings.Join(fields, ",")))
	fmt.Fprintf(stdout, "updated %s (%s) in %s\n", u.Login, strings.Join(fields, ", "), t.path)
	return nil
}

// usersEnable disables (enable false) or enables an account.
func usersEnable(cfg *Config, login string, enable bool, stdout, stderr io.Writer) error {
	what, step, done := "users enable", "admin_enable", "enabled"
	if !enable {
		what, step, done = "users disable", "admin_disable", "disabled"
	}
	t, err := openAdminTarget(cfg, what, login, stderr)
	if err != nil {
		return err
	}
	defer t.Close()
	if t.user.Disabled == !enable {
		fmt.Fprintf(stdout, "%s is already %s\n", t.user.Login, done)
		return nil
	}
	disabled := !enable
	u, err := t.dir.UpdateUser(context.Background(), t.user.Login, embedded.UserChange{Disabled: &disabled})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	t.audit.record(step, u.Login)
	fmt.Fprintf(stdout, "%s %s in %s\n", done, u.Login, t.path)
	return nil
}

// stdinTerminal returns stdin as a terminal, or false when it is not one.
func stdinTerminal(stdin io.Reader) (*os.File, bool) {
	f, ok := stdin.(*os.File)
	return f, ok && term.IsTerminal(int(f.Fd()))
}

func usersRemove(cfg *Config, login string, yes bool, stdin io.Reader, stdout, stderr io.Writer) error {
	if _, tty := stdinTerminal(stdin); !tty && !yes {
		return usageError{errors.New("users remove: standard input is not a terminal, so it cannot ask: give --yes to remove without asking")}
	}
	t, err := openAdminTarget(cfg, "users remove", login, stderr)
	if err != nil {
		return err
	}
	defer t.Close()
	if !yes {
		who := t.user.Login
		if t.user.DisplayName != "" {
			who += " (" + t.user.DisplayName + ")"
		}
		fmt.Fprintf(stderr, "Remove %s? [y/N] ", who)
		line, _ := bufio.NewReaderSize(io.LimitReader(stdin, 256), 256).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(stderr, "sspr users remove: nothing was removed")
			return exitError(1)
		}
	}
	u, err := t.dir.RemoveUser(context.Background(), t.user.Login)
	if err != nil {
		return fmt.Errorf("users remove: %w", err)
	}
	t.audit.record("admin_remove", u.Login)
	fmt.Fprintf(stdout, "removed %s from %s\n", u.Login, t.path)
	return nil
}

func usersPasswd(cfg *Config, login string, stdin io.Reader, stdout, stderr io.Writer) error {
	t, err := openAdminTarget(cfg, "users passwd", login, stderr)
	if err != nil {
		return err
	}
	defer t.Close()
	pw, err := readNewPassword(stdin, stderr)
	if err != nil {
		return fmt.Errorf("users passwd: %w", err)
	}
	p := flow.Person{Login: t.user.Login, DisplayName: t.user.DisplayName, Email: t.user.Email}
	if err := checkPolicy(cfg, p, pw); err != nil {
		return fmt.Errorf("users passwd: %w", err)
	}
	if err := t.dir.ResetPassword(context.Background(), t.user.Login, pw); err != nil {
		return fmt.Errorf("users passwd: %w", err)
	}
	t.audit.record("admin_passwd", t.user.Login)
	fmt.Fprintf(stdout, "set a new password for %s in %s\n", t.user.Login, t.path)
	if t.user.Disabled {
		fmt.Fprintf(stderr, "note: %s is disabled; `sspr users enable %[1]s` lets it sign in\n", t.user.Login)
	}
	return nil
}

// usersUnlock lifts the directory's lockout of login's account and keeps
// its password: pwdAccountLockedTime on OpenLDAP (ppolicy), lockoutTime
// on Active Directory. The embedded directory never locks an account, so
// there is nothing to unlock there, and the command says so.
func usersUnlock(cfg *Config, login string, stdout, stderr io.Writer) error {
	if cfg.Directory.LDAP == nil {
		return errors.New("users unlock: the embedded directory has no lockout: its accounts are never locked after failed sign-ins, only disabled (sspr users enable); a paused self-service reset is lifted with sspr suspensions lift")
	}
	d, err := openLDAP(cfg, logger(stderr))
	if err != nil {
		return fmt.Errorf("users unlock: %w", err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := d.LookupUser(ctx, flow.CanonicalLogin(login))
	if errors.Is(err, flow.ErrUnknownUser) {
		fmt.Fprintf(stderr, "sspr users unlock: no account has the login %q in directory.ldap\n", flow.Sanitize(login, 64))
		return exitError(1)
	}
	if err != nil {
		return fmt.Errorf("users unlock: %w", err)
	}
	if u.Disabled {
		fmt.Fprintf(stderr, "sspr users unlock: %s is disabled, not locked; enable it in the directory\n", u.ID)
		return exitError(1)
	}
	if !u.Locked {
		fmt.Fprintf(stdout, "%s is not locked\n", u.ID)
		return nil
	}
	a, err := openAdminAudit(cfg.Audit.Path)
	if err != nil {
		return fmt.Errorf("users unlock: audit.path: %w; nothing was changed", err)
	}
	defer a.Close()
	if err := d.Unlock(ctx, u); err != nil {
		return fmt.Errorf("users unlock: %w", err)
	}
	a.record("admin_unlock", flow.Sanitize(login, flow.MaxLoginLen), slog.String("dn", u.ID))
	fmt.Fprintf(stdout, "unlocked %s; its password is unchanged\n", u.ID)
	return nil
}
