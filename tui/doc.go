// Package tui is the reset wizard in the terminal: a Bubble Tea model that
// shows one screen per step of a flow session (identify, methods, number,
// code, waiting, password, done) and, in demo mode, a phone beside it. It
// decides no rule: every check is a flow call made in a command.
//
// Every text is in the session's language (Options.Origin.Lang), from the
// catalogues of package i18n, and wraps rather than being cut at 80x24.
//
// It looks right at 80x24 and on the Linux console, honours NO_COLOR, and
// costs nothing while idle: the real terminal cursor, no timer on a screen
// where nothing changes.
package tui
