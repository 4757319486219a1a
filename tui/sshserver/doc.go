// Package sshserver serves the reset wizard over SSH, to anyone: there is no
// SSH authentication, because the wizard itself is the authentication. The
// SSH user name and any key a client offers are never an identity; they
// reach the log, sanitised, and nothing else.
//
// The server is a wish server and a chain of small middlewares. Each
// connection carries one interactive session with a terminal and nothing
// else: commands, subsystems, port, agent and X11 forwarding are refused and
// logged. Window sizes and TERM are checked before the program sees them,
// and every session runs its own Bubble Tea program with a hard time limit.
package sshserver
