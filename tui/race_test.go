//go:build race

package tui

// raceEnabled: the race detector changes what a call allocates.
const raceEnabled = true
