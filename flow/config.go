package flow

import (
	"fmt"
	"github.com/sspr-project/sspr/config"
	"time"
)

// PasswordPolicy is the rule list a new password must meet.
type PasswordPolicy struct {
	MinLength int
	MaxLength int
	Upper     bool
	Lower     bool
	Digit     bool
	// MinScore is the zxcvbn strength score (0 to 4) a password needs; 0
	// leaves the rule out.
	MinScore int
	// Breached, when set, is a list of breached passwords to refuse.
	Breached *BreachFile
}

// Config holds the rules of the reset. Zero numbers and durations take the
// defaults of DefaultConfig when passed through NewEngine, except those
// whose zero is a setting of its own: ResendCooldown and Limits.SendGap
// zero mean no wait. Booleans mean what they say (EmailEnabled false is no
// email), so start from DefaultConfig to keep its switches. sspr.yaml
// reaches it through Settings.
type Config struct {
	// MethodsRequired is 1 or 2 (Microsoft's one- and two-gate policies).
	MethodsRequired int
	Password        PasswordPolicy
	// CaptchaDisabled turns the CAPTCHA off; for automated tests only.
	CaptchaDisabled bool
	// CaptchaLength is the number of digits of the CAPTCHA.
	CaptchaLength int
	// CaptchaMaxFailures is how many wrong answers a session may give; the
	// next one ends it.
	CaptchaMaxFailures int
	// CodeLength is the number of digits of a texted or emailed code.
	CodeLength      int
	CodeTTL         time.Duration
	CodeMaxAttempts int
	ResendCooldown  time.Duration
	// ApprovalTTL bounds how long a call or a push waits for its answer.
	ApprovalTTL time.Duration
	// MaxFailures is how many failed verifications (wrong numbers, codes,
	// answers) one session may make before it ends.
	MaxFailures int
	// MaxNumberMismatches is how many wrong phone numbers end the phone
	// methods for a session.
	MaxNumberMismatches int
	// ResetWindow is how long after the last verification the password can
	// still be set.
	ResetWindow time.Duration
	// UnlockDisabled stops offering a verified person whose account is
	// locked to unlock it without a new password.
	UnlockDisabled bool
	// EmailEnabled offers "Email my alternate email" to users with one.
	EmailEnabled bool
	// SecretKey keys the HMACs of codes and decoys; at least 32 bytes.
	SecretKey []byte
	// Limits are the throttles shared through the Store.
	Limits Limits
	// Privileged names the accounts that need two methods or may not use
	// self-service at all.
	Privileged Privileged
	// Notices are the messages sent after a reset.
	Notices Notices
	// PhoneRegion is the region (ISO 3166, e.g. US, DE) of phone numbers
	// written without a country code.
	PhoneRegion string
	// Decoy holds the kinds of account decoys are drawn from when the
	// directory does not tell its own (MethodProfiler).
	Decoy DecoySettings
	// EmailDomains are the organisation's email domains, shown in the
	// email hint of a decoy whose login is not an address.
	EmailDomains []string
	// Helpdesk is the policy of helpdesk codes.
	Helpdesk HelpdeskPolicy
	// SSHKey offers the SSH key a person connected with as a method.
	SSHKey SSHKeySettings
	// Registration is what people may change of their own security info
	// (info.go); zero takes DefaultRegistration.
	Registration RegistrationPolicy
}

// DefaultConfig returns the rules sspr ships with.
func DefaultConfig() Config {
	return Config{
		MethodsRequired:     1,
		Password:            PasswordPolicy{MinLength: 14, MaxLength: 256, Upper: true, Lower: true, Digit: true, MinScore: 3},
		CaptchaLength:       5,
		CaptchaMaxFailures:  3,
		CodeLength:          8,
		CodeTTL:             5 * time.Minute,
		CodeMaxAttempts:     5,
		ResendCooldown:      60 * time.Second,
		ApprovalTTL:         2 * time.Minute,
		MaxFailures:         10,
		MaxNumberMismatches: 3,
		ResetWindow:         10 * time.Minute,
		EmailEnabled:        true,
		Limits:              DefaultLimits(),
		Privileged:          Privileged{Mode: PrivilegedTwoMethods},
		PhoneRegion:         DefaultRegion,
		Decoy:               DefaultDecoy(),
		Helpdesk:            DefaultHelpdesk(),
		Registration:        DefaultRegistration(),
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MethodsRequired == 0 {
		c.MethodsRequired = d.MethodsRequired
	}
	if c.Password == (PasswordPolicy{}) {
		c.Password = d.Password
	}
	if c.Password.MaxLength == 0 {
		c.Password.MaxLength = d.Password.MaxLength
	}
	if c.CaptchaLength == 0 {
		c.CaptchaLength = d.CaptchaLength
	}
	if c.CaptchaMaxFailures == 0 {
		c.CaptchaMaxFailures = d.CaptchaMaxFailures
	}
	if c.CodeLength == 0 {
		c.CodeLength = d.CodeLength
	}
	if c.CodeTTL == 0 {
		c.CodeTTL = d.CodeTTL
	}
	if c.CodeMaxAttempts == 0 {
		c.CodeMaxAttempts = d.CodeMaxAttempts
	}
	if c.ApprovalTTL == 0 {
		c.ApprovalTTL = d.ApprovalTTL
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = d.MaxFailures
	}
	if c.MaxNumberMismatches == 0 {
		c.MaxNumberMismatches = d.MaxNumberMismatches
	}
	if c.ResetWindow == 0 {
		c.ResetWindow = d.ResetWindow
	}
	c.Limits = c.Limits.withDefaults()
	if c.Privileged.Mode == "" {
		c.Privileged.Mode = d.Privileged.Mode
	}
	if c.PhoneRegion == "" {
		c.PhoneRegion = d.PhoneRegion
	}
	if len(c.Decoy.MethodSets) == 0 {
		c.Decoy = d.Decoy
	}
	if c.Helpdesk.CountsAs == "" {
		c.Helpdesk.CountsAs = d.Helpdesk.CountsAs
	}
	if c.Helpdesk.TTL == 0 {
		c.Helpdesk.TTL = d.Helpdesk.TTL
	}
	if c.Helpdesk.MaxTTL == 0 {
		c.Helpdesk.MaxTTL = d.Helpdesk.MaxTTL
	}
	if c.Helpdesk.MaxUses == 0 {
		c.Helpdesk.MaxUses = d.Helpdesk.MaxUses
	}
	if c.Registration.FirstMethod == "" && c.Registration.Methods == nil {
		c.Registration = d.Registration
	}
	if c.Registration.ChangesPerAccount == (Rate{}) {
		c.Registration.ChangesPerAccount = d.Registration.ChangesPerAccount
	}
	if c.Registration.ChangesPerSource == (Rate{}) {
		c.Registration.ChangesPerSource = d.Registration.ChangesPerSource
	}
	return c
}

// Validate names the first field that is out of bounds.
func (c Config) Validate() error {
	switch {
	case c.MethodsRequired != 1 && c.MethodsRequired != 2:
		return fmt.Errorf("methods_required is %d: allowed are 1 and 2", c.MethodsRequired)
	case c.Password.MinLength < 14:
		return fmt.Errorf("password.min_length is %d: at least 14 is allowed", c.Password.MinLength)
	case c.Password.MaxLength < c.Password.MinLength || c.Password.MaxLength > 1024:
		return fmt.Errorf("password.max_length is %d: it must lie between min_length (%d) and 1024", c.Password.MaxLength, c.Password.MinLength)
	case c.Password.MinScore < 0 || c.Password.MinScore > 4:
		return fmt.Errorf("password.min_score is %d: allowed are 0 to 4", c.Password.MinScore)
	case c.CaptchaLength < 5 || c.CaptchaLength > 8:
		return fmt.Errorf("captcha.length is %d: allowed are 5 to 8", c.CaptchaLength)
	case c.CodeLength < 6 || c.CodeLength > 10:
		return fmt.Errorf("code length is %d: allowed are 6 to 10", c.CodeLength)
	case c.CodeTTL <= 0 || c.CodeTTL > 10*time.Minute:
		return fmt.Errorf("code lifetime is %s: allowed is up to 10m", c.CodeTTL)
	case c.CodeMaxAttempts < 1 || c.CodeMaxAttempts > 10:
		return fmt.Errorf("code attempts is %d: allowed are 1 to 10", c.CodeMaxAttempts)
	case c.ApprovalTTL <= 0 || c.ApprovalTTL > 10*time.Minute:
		return fmt.Errorf("approval lifetime is %s: allowed is up to 10m", c.ApprovalTTL)
	case c.CaptchaMaxFailures < 1 || c.CaptchaMaxFailures > 10:
		return fmt.Errorf("captcha.max_failures is %d: allowed are 1 to 10", c.CaptchaMaxFailures)
	case c.ResendCooldown < 0:
		return fmt.Errorf("resend_cooldown is %s: it cannot be negative", c.ResendCooldown)
	case c.MaxFailures < 1 || c.MaxFailures > 100:
		return fmt.Errorf("max_failures is %d: allowed are 1 to 100", c.MaxFailures)
	case c.MaxNumberMismatches < 1 || c.MaxNumberMismatches > 100:
		return fmt.Errorf("max_number_mismatches is %d: allowed are 1 to 100", c.MaxNumberMismatches)
	case c.ResetWindow <= 0 || c.ResetWindow > 15*time.Minute:
		return fmt.Errorf("reset_window is %s: allowed is up to 15m", c.ResetWindow)
	case !ValidRegion(c.PhoneRegion):
		return fmt.Errorf("phone region is %q: allowed is a region code such as US, DE or GB", c.PhoneRegion)
	case len(c.SecretKey) < 32:
		return fmt.Errorf("secret key has %d bytes: at least 32 are needed", len(c.SecretKey))
	}
	var es config.Errors
	es = append(es, config.Under("limits", c.Limits.Validate())...)
	es = append(es, config.Under("policy.privileged", c.Privileged.Validate())...)
	es = append(es, config.Under("notices", c.Notices.Validate())...)
	es = append(es, config.Under("policy.registration", c.Registration.Validate())...)
	decoy := c.Decoy
	es = append(es, config.Under("policy.decoy", config.Check(&decoy))...)
	es = append(es, config.Under("policy", validEmailDomains(c.EmailDomains).Err())...)
	helpdesk := c.Helpdesk
	es = append(es, config.Under("policy.helpdesk", config.Check(&helpdesk))...)
	return es.Err()
}
