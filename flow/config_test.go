package flow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/memstore"
)

func TestDefaultConfig(t *testing.T) {
	c := flow.DefaultConfig()
	c.SecretKey = testKey
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := flow.PasswordPolicy{MinLength: 14, MaxLength: 256, Upper: true, Lower: true, Digit: true, MinScore: 3}
	if c.Password != want || c.CodeLength < 6 || c.CodeTTL != 5*time.Minute || c.CodeMaxAttempts != 5 ||
		c.ResendCooldown != time.Minute || c.MethodsRequired != 1 {
		t.Fatalf("defaults %+v", c)
	}
}

func TestZeroConfigTakesDefaults(t *testing.T) {
	eng, err := flow.NewEngine(flow.Config{SecretKey: testKey}, flow.Deps{Directory: &fakeDir{}, Store: memstore.New()})
	mustOK(t, err)
	got, want := eng.Config(), flow.DefaultConfig()
	want.SecretKey = testKey
	// EmailEnabled is a bool: false cannot mean "unset", so it stays off.
	if got.EmailEnabled {
		t.Fatal("email switched on by default")
	}
	if got.Password != want.Password || got.CodeTTL != want.CodeTTL || got.ResetWindow != want.ResetWindow ||
		got.MaxFailures != want.MaxFailures || got.CaptchaMaxFailures != want.CaptchaMaxFailures {
		t.Fatalf("config %+v", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		set   func(*flow.Config)
		field string
	}{
		{"three methods", func(c *flow.Config) { c.MethodsRequired = 3 }, "methods_required"},
		{"min length 8", func(c *flow.Config) { c.Password.MinLength = 8 }, "password.min_length"},
		{"min length 13", func(c *flow.Config) { c.Password.MinLength = 13 }, "password.min_length"},
		{"max below min", func(c *flow.Config) { c.Password.MaxLength = 10 }, "password.max_length"},
		{"six-digit code minimum", func(c *flow.Config) { c.CodeLength = 5 }, "code length"},
		{"code lifetime over 10 min", func(c *flow.Config) { c.CodeTTL = 11 * time.Minute }, "code lifetime"},
		{"negative code lifetime", func(c *flow.Config) { c.CodeTTL = -time.Second }, "code lifetime"},
		{"eleven tries", func(c *flow.Config) { c.CodeMaxAttempts = 11 }, "code attempts"},
		{"short key", func(c *flow.Config) { c.SecretKey = []byte("short") }, "secret key"},
		{"approval over 10 min", func(c *flow.Config) { c.ApprovalTTL = time.Hour }, "approval lifetime"},
		{"negative cooldown", func(c *flow.Config) { c.ResendCooldown = -time.Second }, "resend_cooldown"},
		{"negative captcha failures", func(c *flow.Config) { c.CaptchaMaxFailures = -1 }, "captcha.max_failures"},
		{"failures above NIST ceiling", func(c *flow.Config) { c.MaxFailures = 101 }, "max_failures"},
		{"negative failures", func(c *flow.Config) { c.MaxFailures = -1 }, "max_failures"},
		{"negative mismatches", func(c *flow.Config) { c.MaxNumberMismatches = -1 }, "max_number_mismatches"},
		{"negative reset window", func(c *flow.Config) { c.ResetWindow = -time.Minute }, "reset_window"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := flow.DefaultConfig()
			c.SecretKey = testKey
			tc.set(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, tc.field)
			}
			if _, err := flow.NewEngine(c, flow.Deps{Directory: &fakeDir{}, Store: memstore.New()}); err == nil {
				t.Fatal("NewEngine accepted it")
			}
		})
	}
}

func TestNewEngineNeedsBackends(t *testing.T) {
	c := flow.Config{SecretKey: testKey}
	if _, err := flow.NewEngine(c, flow.Deps{Store: memstore.New()}); err == nil {
		t.Fatal("no directory accepted")
	}
	if _, err := flow.NewEngine(c, flow.Deps{Directory: &fakeDir{}}); err == nil {
		t.Fatal("no store accepted")
	}
	// No clock and no audit logger: the system clock and a discarding log.
	eng, err := flow.NewEngine(c, flow.Deps{Directory: &fakeDir{users: testUsers()}, Store: memstore.New(), SMS: &recSender{}})
	mustOK(t, err)
	s := mustBegin(t, eng, flow.Origin{Channel: flow.Local})
	if s.State().Step != flow.StepIdentify {
		t.Fatal("step")
	}
}

func TestLabelsAndSteps(t *testing.T) {
	for _, m := range []flow.MethodID{flow.TextMobile, flow.CallMobile, flow.CallOffice, flow.PushApp, flow.TOTPApp, flow.EmailAltern} {
		if m.Label() == "" {
			t.Errorf("%s has no label", m)
		}
	}
	if flow.StepSetPassword.String() != "set_password" || flow.Step(99).String() != "unknown" {
		t.Fatal("step names")
	}
	if flow.ReasonOf(nil) != "" || flow.IsFinal(nil) {
		t.Fatal("nil error")
	}
}
