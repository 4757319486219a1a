package flow_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

// fullDisk is an audit sink that fails every write with ENOSPC while full.
type fullDisk struct {
	mu   sync.Mutex
	full atomic.Bool
	buf  bytes.Buffer
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if d.full.Load() {
		return 0, &writeErr{syscall.ENOSPC}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.buf.Write(p)
}

func (d *fullDisk) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.buf.String()
}

type writeErr struct{ errno syscall.Errno }

func (e *writeErr) Error() string { return "write /var/log/sspr/audit.log: " + e.errno.Error() }
func (e *writeErr) Unwrap() error { return e.errno }

// A password is not written while its audit record cannot be: the step is
// refused calmly, with a support code, the person stays on the password
// screen, the directory keeps the old password, and the operational log
// says why at ERROR. Once the sink takes writes again, the same session
// goes through.
func TestAuditSinkFullRefusesTheWrite(t *testing.T) {
	r, d := embeddedRig(t)
	sink := &fullDisk{}
	var oplog bytes.Buffer
	var err error
	r.eng, err = flow.NewEngine(baseConfig(), flow.Deps{
		Directory: d, Store: r.store,
		SMS: r.sms, Voice: r.voice, Email: r.email, Push: r.push,
		TOTP: totp.New(), Audit: flow.NewAuditLogger(sink), Clock: r.clock,
		Log: slog.New(slog.NewJSONHandler(&oplog, nil)),
	})
	mustOK(t, err)
	s := r.verified()
	sink.full.Store(true)

	fe := mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonUnavailable)
	if fe.Final || fe.Ref != s.Ref() || !strings.Contains(fe.Message, "temporarily unavailable") {
		t.Fatalf("refusal %+v", fe)
	}
	mustStep(t, s, flow.StepSetPassword)
	if ok, err := d.VerifyPassword("alice", oldPass); !ok || err != nil {
		t.Fatalf("the password changed without an audit record: %v, %v", ok, err)
	}
	if ok, _ := d.VerifyPassword("alice", goodPass); ok {
		t.Fatal("the new password was written")
	}
	log := oplog.String()
	if !strings.Contains(log, `"level":"ERROR"`) || !strings.Contains(log, `"msg":"audit_write_failed"`) ||
		!strings.Contains(log, "no space left on device") || !strings.Contains(log, `"step":"set_password"`) ||
		!strings.Contains(log, `"ref":"`+s.Ref()+`"`) {
		t.Fatalf("operational log:\n%s", log)
	}
	if strings.Contains(log, goodPass) || strings.Contains(log, "alice") {
		t.Fatalf("the operational log holds a password or a login:\n%s", log)
	}

	sink.full.Store(false)
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	if ok, _ := d.VerifyPassword("alice", goodPass); !ok {
		t.Fatal("not written once the sink works again")
	}
	if a := sink.String(); !strings.Contains(a, `"step":"set_password","result":"started"`) || !strings.Contains(a, `"step":"set_password","result":"ok"`) {
		t.Fatalf("audit:\n%s", a)
	}
}

// An unlock is a directory write too: no record, no unlock.
func TestAuditSinkFullRefusesTheUnlock(t *testing.T) {
	r, ld := lockRig(t, false)
	sink := &fullDisk{}
	var err error
	r.eng, err = flow.NewEngine(baseConfig(), flow.Deps{
		Directory: ld, Store: r.store,
		SMS: r.sms, Voice: r.voice, Email: r.email, Push: r.push,
		TOTP: totp.New(), Audit: flow.NewAuditLogger(sink), Clock: r.clock,
	})
	mustOK(t, err)
	s := r.verified()
	sink.full.Store(true)
	fe := mustReason(t, s.Unlock(bg), flow.ReasonUnavailable)
	if fe.Final || !strings.Contains(fe.Message, "temporarily unavailable") {
		t.Fatalf("refusal %+v", fe)
	}
	if len(ld.Unlocks()) != 0 {
		t.Fatal("unlocked without an audit record")
	}
	sink.full.Store(false)
	mustOK(t, s.Unlock(bg))
	if len(ld.Unlocks()) != 1 {
		t.Fatal("not unlocked once the sink works again")
	}
}
