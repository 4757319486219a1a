package main

import "syscall"

// fdReserve is what the descriptors of the process are kept for besides
// the SSH connections and the side listener: the listeners, the logs, the
// store, the directory's pool, the metrics listener's connections.
const fdReserve = 128

// openFileLimit is the process's soft RLIMIT_NOFILE, 0 when unknown. The
// Go runtime raises the soft limit to the hard one at start (Go 1.19 and
// later), so this is all the process can have.
func openFileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}

// fitSideConns is the side listener's connection cap: want, lowered when
// need be so that the open-file limit still leaves maxSessions
// descriptors for SSH and fdReserve for the rest. Whatever the side
// listener is sent, SSH keeps its own budget. It reports whether it
// lowered want; a limit of 0 (unknown) lowers nothing.
func fitSideConns(want, maxSessions int, limit uint64) (int, bool) {
	if limit == 0 {
		return want, false
	}
	budget := int64(limit) - int64(maxSessions) - fdReserve
	if int64(want) <= budget {
		return want, false
	}
	return int(max(budget, 8)), true
}
