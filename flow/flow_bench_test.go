package flow_test

import (
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/storetest"
)

// The CAPTCHA picture of the identify screen, at the size the terminal
// wizard draws it (270x90) before it is mapped onto half blocks.
func BenchmarkSessionCaptcha(b *testing.B) {
	b.ReportAllocs()
	r := newRig(b, func(c *flow.Config) { c.CaptchaDisabled = false })
	s := r.begin()
	for b.Loop() {
		if img := s.Captcha(270, 90); img == nil {
			b.Fatal("no picture")
		}
	}
}

// keystrokeInputs are two candidates of each length that differ in their
// last character, as two successive key presses would: alternating them
// keeps the session's memo of the last score from answering.
var keystrokeInputs = []struct {
	name string
	pw   [2]string
}{
	{"8 chars", [2]string{"Maple-L4", "Maple-L5"}},
	{"20 chars", [2]string{"Maple-Lantern-4821-x", "Maple-Lantern-4821-y"}},
	{"64 chars", [2]string{
		strings.Repeat("Maple-Lantern-4821-", 4)[:63] + "x",
		strings.Repeat("Maple-Lantern-4821-", 4)[:63] + "y"}},
}

// The policy check made on every key press of the password screen, by
// length of the typed password: the package function and the session's
// Check (which adds the lock, the memo and the person from the directory).
// BenchmarkCheckPassword covers longer inputs and the confirmation field.
func BenchmarkKeystrokeCheck(b *testing.B) {
	p := flow.DefaultConfig().Password
	for _, in := range keystrokeInputs {
		b.Run("CheckPassword/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				flow.CheckPassword(p, "alice", in.pw[i&1], "")
				i++
			}
		})
	}
	for _, in := range keystrokeInputs {
		b.Run("Session.Check/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			s := hintsSession(b, p)
			i := 0
			for b.Loop() {
				s.Check(in.pw[i&1], "")
				i++
			}
		})
	}
}

// One code issued and verified on the memory store (storetest.BenchCodeCycle).
func BenchmarkCodeCycle(b *testing.B) { storetest.BenchCodeCycle(b, memstore.New()) }
