package flow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
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

// TestSettingsFromYAML: sspr.yaml's keys reach the engine, an explicit 0s
// cooldown and send gap included: a second code can be asked for at once.
func TestSettingsFromYAML(t *testing.T) {
	st := flow.DefaultSettings()
	err := config.Load([]byte(`
captcha: {enabled: false}
policy:
  code: {resend_cooldown: 0s, ttl: 2m}
  phone: {default_region: GB}
limits:
  send_gap: 0s
  sessions_per_source: 1000/1s
  identify_per_source: 1000/1s
  audio_per_source: 2/30m
`), &st)
	mustOK(t, err)
	c := st.Config(testKey, nil, "")
	if c.Limits.AudioPerSource != (flow.Rate{Count: 2, Per: 30 * time.Minute}) {
		t.Fatalf("audio_per_source %v", c.Limits.AudioPerSource)
	}
	if c.ResendCooldown != 0 || c.Limits.SendGap != 0 || c.CodeTTL != 2*time.Minute || c.PhoneRegion != "GB" || !c.CaptchaDisabled {
		t.Fatalf("config %+v", c)
	}
	r := newRig(t, func(cfg *flow.Config) { cfg.ResendCooldown, cfg.Limits.SendGap = c.ResendCooldown, c.Limits.SendGap })
	s := r.begin()
	mustOK(t, s.Identify(bg, "erin", ""))
	mustOK(t, s.Choose(bg, flow.EmailAltern))
	mustOK(t, s.Resend(bg))
	if r.email.Len() != 2 {
		t.Fatalf("%d emails, want 2: the cooldown of 0s was not honoured", r.email.Len())
	}
	if eng := r.eng.Config(); eng.ResendCooldown != 0 || eng.Limits.SendGap != 0 {
		t.Fatalf("the engine replaced explicit zeros: %v, %v", eng.ResendCooldown, eng.Limits.SendGap)
	}
}

// TestSettingsRefusals: out-of-range values and a bad region are named by
// their key path, all of them at once.
func TestSettingsRefusals(t *testing.T) {
	st := flow.DefaultSettings()
	err := config.Load([]byte(`
policy:
  code: {ttl: 20s, resend_cooldown: 11m}
  phone: {default_region: XX}
  password: {min_length: 20, max_length: 16}
limits:
  failure_window: 0s
  sends_per_account: [3/15m, 0/1h]
  trusted_sources: ["10.0.0.0/33"]
`), &st)
	for _, want := range []string{
		"policy.code.ttl: 20s is not allowed (30s to 10m)",
		"policy.code.resend_cooldown: 11m is not allowed (0s to 10m)",
		`policy.phone.default_region: "XX" is not a region code`,
		"policy.password.max_length: is less than min_length",
		"limits.failure_window: 0s is not allowed (1m to 24h)",
		"limits.sends_per_account[1]: 0/1h is not allowed",
		"limits.trusted_sources[0]:",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

// TestPhoneRegion: a number typed without a country code is read in the
// configured region when the stored one has none either.
func TestPhoneRegion(t *testing.T) {
	if !flow.SamePhone("020 7946 0018", "+44 20 7946 0018", "US") {
		t.Error("a national number is read in the stored number's region")
	}
	if !flow.SamePhone("020 7946 0018", "020 7946 0018", "GB") || flow.SamePhone("020 7946 0018", "020 7946 0018", "US") {
		t.Error("numbers without a country code must follow the configured region")
	}
}
