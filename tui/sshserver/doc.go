// Package sshserver serves the reset wizard over SSH, to anyone: there is no
// SSH authentication, because the wizard itself is the authentication. The
// SSH user name and any key a client offers are never an identity; they
// reach the log, sanitised, and nothing else.
//
// The server is a wish server and a chain of small middlewares. Its
// listener admits connections before any cryptography runs: a global cap,
// and per source a cap on connections at once and on new connections per
// window; a trusted load balancer's PROXY header names the source. Each
// connection carries one interactive session with a terminal and nothing
// else: commands, subsystems, port, agent and X11 forwarding are refused and
// logged, and of the client's environment only locale names and colour
// hints are kept. Window sizes and TERM are checked before the program sees
// them, and every session runs its own Bubble Tea program with a hard time
// limit. A shutdown first tells every session and lets work under way
// finish (BeginShutdown), then quits the programs (Shutdown).
package sshserver
