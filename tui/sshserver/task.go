package sshserver

import (
	"strings"

	"github.com/sspr-project/sspr/flow"
)

// TaskFor is the task an SSH user name asks for: "change" changes a
// password the person knows, "info" updates their security info, and any
// other name (reset, the person's own login, nothing) is the reset. The
// name picks the first screen only; who the person is, the screens ask.
func TaskFor(user string) flow.Task {
	switch {
	case strings.EqualFold(user, "change"):
		return flow.TaskChange
	case strings.EqualFold(user, "info"):
		return flow.TaskInfo
	}
	return flow.TaskReset
}
