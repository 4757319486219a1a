package flow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// TestLiftSuspension: a suspension caused by wrong codes is lifted by an
// administrator; the account verifies again at once, its failures are
// forgotten, and the audit trail says who lifted it.
func TestLiftSuspension(t *testing.T) {
	r := newRig(t)
	for i := 0; i < 4; i++ {
		mustReason(t, r.wrongTOTP("alice"), flow.ReasonCodeWrong)
	}
	mustReason(t, r.wrongTOTP("alice"), flow.ReasonSuspended)
	left, err := r.eng.Suspended(bg, "Alice")
	if err != nil || left != 24*time.Hour {
		t.Fatalf("Suspended = %v, %v; want 24h", left, err)
	}
	lifted, err := r.eng.LiftSuspension(bg, "ALICE", "root (sudo)")
	if err != nil || !lifted {
		t.Fatalf("LiftSuspension = %v, %v", lifted, err)
	}
	if left, err := r.eng.Suspended(bg, "alice"); err != nil || left != 0 {
		t.Fatalf("after lifting: %v, %v", left, err)
	}
	if !strings.Contains(r.audit.String(), `"login":"ALICE","step":"lift_suspension","result":"ok","agent":"root (sudo)","was":"24h0m0s"`) {
		t.Fatalf("no lift in the audit:\n%s", r.audit.String())
	}
	// The account verifies again.
	s, code := r.atCode("alice", flow.EmailAltern)
	mustOK(t, s.SubmitCode(bg, code))
	mustOK(t, s.Choose(bg, flow.TOTPApp))
	mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
	mustStep(t, s, flow.StepSetPassword)
	// Its failure counts were forgotten too: four wrong codes do not
	// suspend it again.
	r.clock.Advance(time.Minute)
	for i := 0; i < 4; i++ {
		mustReason(t, r.wrongTOTP("alice"), flow.ReasonCodeWrong)
	}
	// Nothing to lift: said so, and audited.
	r2 := newRig(t)
	lifted, err = r2.eng.LiftSuspension(bg, "bob", "ops")
	if err != nil || lifted {
		t.Fatalf("nothing held: %v, %v", lifted, err)
	}
	if !strings.Contains(r2.audit.String(), `"result":"ok","agent":"ops","was":"none"`) {
		t.Fatalf("audit:\n%s", r2.audit.String())
	}
}
