// Command sspr is a self-service password reset wizard for the terminal:
// run locally, served over SSH, or on a kiosk.
//
//	sspr [run]                  the wizard in this terminal (the default)
//	sspr serve                  the wizard over SSH
//	sspr kiosk                  the wizard on this terminal, as a kiosk
//	sspr users add|set|disable|enable|remove|passwd|verify|list|totp|encrypt-totp|ntfy-topic
//	sspr check [LOGIN]          validate the config and its files
//	sspr audit                  a readable, filterable view of the audit trail
//	sspr version                the version, the commit and the Go version
//	sspr completion bash|zsh|fish
//
// --config FILE (or SSPR_CONFIG) names the config and --plain draws plain
// screens for screen readers; both go before or after the command. Without
// a config, sspr runs the demo: a sample directory and an in-terminal
// phone, nothing to install. The command line itself is in cli.go.
package main

import (
	"errors"
	"fmt"
	"os"
)

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
