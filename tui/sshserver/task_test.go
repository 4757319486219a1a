package sshserver

import (
	"testing"

	"github.com/sspr-project/sspr/flow"
)

func TestTaskFor(t *testing.T) {
	for user, want := range map[string]flow.Task{
		"change": flow.TaskChange, "Change": flow.TaskChange, "info": flow.TaskInfo, "INFO": flow.TaskInfo,
		"reset": flow.TaskReset, "": flow.TaskReset, "alice": flow.TaskReset, "change ": flow.TaskReset,
		"changes": flow.TaskReset, "info@x": flow.TaskReset,
	} {
		if got := TaskFor(user); got != want {
			t.Errorf("TaskFor(%q) = %q, want %q", user, got, want)
		}
	}
}
