// Command sspr is a self-service password reset wizard for the terminal:
// run locally, served over SSH, or on a kiosk.
//
//	sspr [--config FILE] [run]     the wizard in this terminal (the default)
//	sspr [--config FILE] serve     the wizard over SSH
//	sspr [--config FILE] kiosk     the wizard on this terminal, as a kiosk
//	sspr [--config FILE] users add|verify|list|totp|encrypt-totp|ntfy-topic
//	sspr [--config FILE] check [LOGIN]  validate the config and its files
//	sspr [--config FILE] audit     a readable, filterable view of the audit trail
//
// --plain (or ui.plain in the config) draws plain screens for screen
// readers: no colour, no boxes, no animation.
//
// Without --config, sspr runs the demo: a sample directory and an
// in-terminal phone, nothing to install.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `usage: sspr [--config FILE] [--plain] [command]

  --plain             plain screens for screen readers: no colour, no boxes,
                      no animation (also ui.plain in the config)

commands:
  run                 the reset wizard in this terminal (default)
  serve               the reset wizard over SSH (ssh.listen)
  kiosk               the reset wizard on this terminal as a kiosk that cannot
                      be left (kiosk.name, kiosk.idle, kiosk.exit_keys)
  users add LOGIN     add a user to the embedded directory
        [--name NAME] [--email E] [--mobile N] [--office N] [--totp]
        (the password is read from stdin, or asked for on a terminal)
  users verify LOGIN  read a password on stdin; exit 0 if it matches, 1 if not
  users list          list the users of the embedded directory
  users totp LOGIN    enrol or replace an authenticator app (in directory.ldap
                      when set): shows its QR code, saves it once a code matches
  users encrypt-totp  encrypt the authenticator secrets still in plain text
                      (directory.embedded.totp_key_file or SSPR_TOTP_KEY)
  users ntfy-topic LOGIN  print the ntfy topic LOGIN's app subscribes to
  check [LOGIN]       validate the config and say which field is wrong; with
                      directory.ldap, connect, bind and look LOGIN up
  audit               the audit trail, one line per event (audit.path)
        [--file F] [--sid S] [--login L] [--result R] [--since 2h|TIME] [--json]

Without --config, sspr runs the demo (sample users, an in-terminal phone).
`

// exitError carries an exit status without a message of its own.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var code exitError
	switch {
	case err == nil:
	case errors.As(err, &code):
		os.Exit(int(code))
	default:
		fmt.Fprintln(os.Stderr, "sspr:", err)
		os.Exit(2)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sspr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	configPath := fs.String("config", "", "YAML config `file` (none: the demo)")
	plain := fs.Bool("plain", false, "plain screens for screen readers (also ui.plain)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return exitError(2)
	}
	cmd, rest := "run", fs.Args()
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	if cmd == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	cfg.UI.Plain = cfg.UI.Plain || *plain
	switch cmd {
	case "run":
		return runLocal(cfg, stderr)
	case "serve":
		return serve(cfg, stderr)
	case "kiosk":
		return kiosk(cfg, stdout, stderr)
	case "users":
		return users(cfg, rest, stdin, stdout, stderr)
	case "check":
		return check(cfg, stdout, rest...)
	case "audit":
		return auditView(cfg, rest, stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "sspr: unknown command %q\n\n%s", cmd, usage)
	return exitError(2)
}
