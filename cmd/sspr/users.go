package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/pquerna/otp/totp"
	"golang.org/x/term"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
)

// users runs `sspr users add|verify|list` on the embedded directory.
func users(cfg *Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError(2)
	}
	path := cfg.Directory.Embedded.Path
	if cfg.demo {
		if _, err := embedded.WriteDemo(path); err != nil {
			return err
		}
	}
	switch args[0] {
	case "add":
		return usersAdd(cfg, path, args[1:], stdin, stdout, stderr)
	case "verify":
		return usersVerify(path, args[1:], stdin, stderr)
	case "list":
		return usersList(path, stdout)
	}
	fmt.Fprintf(stderr, "sspr users: unknown command %q\n\n%s", args[0], usage)
	return exitError(2)
}

// openOrCreate opens the directory file, creating an empty one if needed.
func openOrCreate(path string) (*embedded.Dir, error) {
	d, err := embedded.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return embedded.Create(path)
	}
	return d, err
}

func usersAdd(cfg *Config, path string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "display name")
	email := fs.String("email", "", "alternate email address")
	mobile := fs.String("mobile", "", "mobile phone number, with country code (+1 212 555 0100)")
	office := fs.String("office", "", "office phone number, with country code")
	withTOTP := fs.Bool("totp", false, "enrol an authenticator app: print its QR code")
	login, rest := "", args
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		login, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return exitError(2)
	}
	if login == "" && fs.NArg() > 0 {
		login = fs.Arg(0)
	}
	if login == "" || flow.Sanitize(login, flow.MaxLoginLen) != login || strings.ContainsAny(login, " \t") {
		return errors.New("users add: give a LOGIN without spaces or control characters")
	}
	rec := embedded.UserRecord{Login: login, DisplayName: *name, Email: *email}
	var err error
	if rec.Mobile, err = e164(*mobile); err != nil {
		return fmt.Errorf("users add: --mobile: %w", err)
	}
	if rec.Office, err = e164(*office); err != nil {
		return fmt.Errorf("users add: --office: %w", err)
	}
	if *email != "" && (!strings.Contains(*email, "@") || strings.ContainsAny(*email, " \t<>")) {
		return fmt.Errorf("users add: --email: %q is not an email address", *email)
	}
	var uri string
	if *withTOTP {
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "sspr", AccountName: login})
		if err != nil {
			return fmt.Errorf("users add: authenticator: %w", err)
		}
		rec.TOTPSecret, uri = key.Secret(), key.URL()
	}
	pw, err := readNewPassword(stdin, stderr)
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	policy := flow.PasswordPolicy{
		MinLength: cfg.Policy.Password.MinLength, MaxLength: cfg.Policy.Password.MaxLength,
		Upper: boolOr(cfg.Policy.Password.Upper, true), Lower: boolOr(cfg.Policy.Password.Lower, true),
		Digit: boolOr(cfg.Policy.Password.Digit, true), MinScore: *cfg.Policy.Password.MinScore,
	}
	if path := cfg.Policy.Password.BreachedFile; path != "" {
		if policy.Breached, err = flow.OpenBreachFile(path); err != nil {
			return fmt.Errorf("users add: policy.password.breached_file: %w", err)
		}
		defer policy.Breached.Close()
	}
	var unmet []string
	for _, r := range flow.CheckPasswordFor(policy, flow.Person{Login: login, DisplayName: *name, Email: *email}, pw, pw) {
		if !r.Met {
			unmet = append(unmet, r.Text)
		}
	}
	if len(unmet) > 0 {
		return fmt.Errorf("users add: the password does not meet the policy: %s", strings.Join(unmet, "; "))
	}
	d, err := openOrCreate(path)
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	if err := d.AddUser(rec, pw); err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	fmt.Fprintf(stdout, "added %s to %s\n", login, path)
	if uri != "" {
		qr, err := qrText(uri)
		if err != nil {
			return fmt.Errorf("users add: QR code: %w", err)
		}
		fmt.Fprintf(stdout, "\nScan this with the authenticator app, or enter the URI by hand:\n\n%s\n%s\n", qr, uri)
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
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
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

func usersVerify(path string, args []string, stdin io.Reader, stderr io.Writer) error {
	if len(args) != 1 {
		return errors.New("users verify: give one LOGIN; the password is read from stdin")
	}
	d, err := embedded.Open(path)
	if err != nil {
		return fmt.Errorf("users verify: %w", err)
	}
	pw, err := readPasswordLine(stdin)
	if err != nil {
		return fmt.Errorf("users verify: %w", err)
	}
	ok, err := d.VerifyPassword(args[0], pw)
	if err != nil {
		return fmt.Errorf("users verify: %w", err)
	}
	if !ok {
		fmt.Fprintln(stderr, "sspr users verify: the password does not match")
		return exitError(1)
	}
	return nil
}

func usersList(path string, stdout io.Writer) error {
	d, err := embedded.Open(path)
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
