package flow

import (
	"time"

	"github.com/sspr-project/sspr/config"
)

// Settings are the rules of the reset as sspr.yaml writes them: the
// captcha, policy, limits and notices blocks. Each key's range and meaning
// is its tags; the file is decoded over DefaultSettings, so a key left out
// keeps its default and an explicit zero is a zero.
type Settings struct {
	Captcha CaptchaSettings `yaml:"captcha"`
	Policy  PolicySettings  `yaml:"policy"`
	Limits  Limits          `yaml:"limits"`
	Notices Notices         `yaml:"notices"`
}

// CaptchaSettings is captcha.*.
type CaptchaSettings struct {
	Enabled bool `yaml:"enabled" doc:"the CAPTCHA of the first screen; false only for automated tests (sspr warns at start)"`
	Length  int  `yaml:"length" range:"5..8" doc:"digits of the CAPTCHA"`
}

// PolicySettings is policy.*.
type PolicySettings struct {
	MethodsRequired int                `yaml:"methods_required" range:"1..2" doc:"methods to verify (Microsoft's one- and two-gate policies); with 2, two different methods"`
	Email           bool               `yaml:"email" doc:"offer \"Email my alternate email\" to users with one"`
	Unlock          bool               `yaml:"unlock" doc:"offer a verified person whose account the directory has locked \"Unlock my account and keep my password\" (LDAP and AD)"`
	Password        PasswordSettings   `yaml:"password"`
	Code            CodeSettings       `yaml:"code"`
	Privileged      Privileged         `yaml:"privileged"`
	Phone           PhoneSettings      `yaml:"phone"`
	EmailDomains    []string           `yaml:"email_domains" range:"..32" doc:"the organisation's email domains (e.g. example.com): the email hint of a decoy for a login that is not an address shows one of them behind the login's first letter, as real accounts' hints do. Set it unless the directory is the embedded one, whose own domains are used; empty shows example.com"`
	Decoy           DecoySettings      `yaml:"decoy"`
	Helpdesk        HelpdeskPolicy     `yaml:"helpdesk"`
	SSHKey          SSHKeySettings     `yaml:"ssh_key"`
	Registration    RegistrationPolicy `yaml:"registration"`
}

// Validate checks the email domains; paths are relative to the policy
// block.
func (p PolicySettings) Validate() error { return validEmailDomains(p.EmailDomains).Err() }

// PasswordSettings is policy.password.*.
type PasswordSettings struct {
	MinLength    int    `yaml:"min_length" range:"14..1024" doc:"at least this many characters"`
	MaxLength    int    `yaml:"max_length" range:"14..1024" doc:"at most this many characters, and no fewer than min_length"`
	Upper        bool   `yaml:"upper" doc:"an upper case letter is required"`
	Lower        bool   `yaml:"lower" doc:"a lower case letter is required"`
	Digit        bool   `yaml:"digit" doc:"a digit is required"`
	MinScore     int    `yaml:"min_score" range:"0..4" doc:"the least zxcvbn strength score; 0 turns the rule off"`
	BreachedFile string `yaml:"breached_file" doc:"a local copy of Have I Been Pwned's SHA-1 list, \"ordered by hash\" (SHA1HEX:COUNT lines); a password on it is refused"`
}

// Validate checks that the lengths leave room for a password.
func (p PasswordSettings) Validate() error {
	if p.MaxLength < p.MinLength {
		return &config.Error{Path: "max_length", Msg: "is less than min_length"}
	}
	return nil
}

// Policy is the engine's password policy of these settings, with the
// breached password list when one is open.
func (p PasswordSettings) Policy(breached *BreachFile) PasswordPolicy {
	return PasswordPolicy{MinLength: p.MinLength, MaxLength: p.MaxLength, Upper: p.Upper, Lower: p.Lower, Digit: p.Digit, MinScore: p.MinScore, Breached: breached}
}

// CodeSettings is policy.code.*.
type CodeSettings struct {
	Length         int           `yaml:"length" range:"6..10" doc:"digits of a texted or emailed code"`
	TTL            time.Duration `yaml:"ttl" range:"30s..10m" doc:"how long a code is valid"`
	MaxAttempts    int           `yaml:"max_attempts" range:"1..10" doc:"wrong tries that end a code; a resend does not reset the count"`
	ResendCooldown time.Duration `yaml:"resend_cooldown" range:"0s..10m" doc:"wait before a new code can be sent; 0s: none"`
}

// PhoneSettings is policy.phone.*.
type PhoneSettings struct {
	DefaultRegion string `yaml:"default_region" doc:"the region (ISO 3166 code, e.g. US, DE, GB) of phone numbers typed or stored without a country code"`
}

// Validate checks that the region is one the phone library knows.
func (p PhoneSettings) Validate() error {
	if !ValidRegion(p.DefaultRegion) {
		return &config.Error{Path: "default_region", Msg: "\"" + Sanitize(p.DefaultRegion, 8) + "\" is not a region code (e.g. US, DE, GB)"}
	}
	return nil
}

// DefaultSettings are the rules sspr ships with, the same as
// DefaultConfig's.
func DefaultSettings() Settings {
	d := DefaultConfig()
	p := d.Password
	return Settings{
		Captcha: CaptchaSettings{Enabled: !d.CaptchaDisabled, Length: d.CaptchaLength},
		Policy: PolicySettings{
			MethodsRequired: d.MethodsRequired,
			Email:           d.EmailEnabled,
			Unlock:          !d.UnlockDisabled,
			Password:        PasswordSettings{MinLength: p.MinLength, MaxLength: p.MaxLength, Upper: p.Upper, Lower: p.Lower, Digit: p.Digit, MinScore: p.MinScore},
			Code:            CodeSettings{Length: d.CodeLength, TTL: d.CodeTTL, MaxAttempts: d.CodeMaxAttempts, ResendCooldown: d.ResendCooldown},
			Privileged:      d.Privileged,
			Phone:           PhoneSettings{DefaultRegion: d.PhoneRegion},
			Decoy:           d.Decoy,
			Helpdesk:        d.Helpdesk,
			SSHKey:          d.SSHKey,
			Registration:    d.Registration,
		},
		Limits:  d.Limits,
		Notices: d.Notices,
	}
}

// Config is the engine's view of the settings: the tunings the file does
// not set come from DefaultConfig; the secret key, the opened breached
// password list and the language of administrators' notices are given.
func (s Settings) Config(secretKey []byte, breached *BreachFile, lang string) Config {
	c := DefaultConfig()
	p := s.Policy
	c.MethodsRequired = p.MethodsRequired
	c.Password = p.Password.Policy(breached)
	c.CaptchaDisabled, c.CaptchaLength = !s.Captcha.Enabled, s.Captcha.Length
	c.CodeLength, c.CodeTTL, c.CodeMaxAttempts, c.ResendCooldown = p.Code.Length, p.Code.TTL, p.Code.MaxAttempts, p.Code.ResendCooldown
	c.EmailEnabled, c.UnlockDisabled = p.Email, !p.Unlock
	c.Privileged, c.PhoneRegion = p.Privileged, p.Phone.DefaultRegion
	c.Decoy, c.EmailDomains, c.Helpdesk, c.SSHKey = p.Decoy, p.EmailDomains, p.Helpdesk, p.SSHKey
	c.Registration = p.Registration
	c.Limits, c.Notices = s.Limits, s.Notices
	c.Notices.Lang = lang
	c.SecretKey = secretKey
	return c
}
