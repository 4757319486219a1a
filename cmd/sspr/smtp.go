package main

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/smtp"
)

// SMTPConfig is delivery.smtp.*: the relay that emails codes and notices
// when methods.email is smtp.
type SMTPConfig struct {
	Host string `yaml:"host"`
	// Port defaults to 587 (starttls), 465 (implicit) or 25 (none).
	Port int `yaml:"port"`
	// From is the sender: "reset@example.com" or
	// "Password reset <reset@example.com>".
	From     string `yaml:"from"`
	Username string `yaml:"username"`
	// The password: one of password, password_file (its first line) and
	// password_env (the name of an environment variable).
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
	// TLS is starttls (the default), implicit, or none (loopback only).
	TLS     string   `yaml:"tls"`
	HELO    string   `yaml:"helo"`
	Timeout Duration `yaml:"timeout"`
	// CAFile replaces the system's trusted authorities for the relay.
	CAFile string `yaml:"ca_file"`
	// SignInURL, when set, is added to every email as the place to sign in.
	SignInURL string `yaml:"signin_url"`
}

// validateSMTP checks delivery.smtp.* when it is set, and that it is set
// when methods.email names smtp. Files and variables are read later, when
// the sender is built.
func (c *Config) validateSMTP(bad func(field string, v any, allowed string) error) error {
	s := c.Delivery.SMTP
	if s == nil {
		if c.Methods.Email == "smtp" {
			return bad("delivery.smtp", "missing", "host and from: methods.email names smtp")
		}
		return nil
	}
	q := func(v string) string { return fmt.Sprintf("%q", flow.Sanitize(v, 80)) }
	switch {
	case s.Host == "":
		return bad("delivery.smtp.host", `""`, "the relay's host name or IP address")
	case s.Port < 0 || s.Port > 65535:
		return bad("delivery.smtp.port", s.Port, "1 to 65535, or 0 for the default of the tls mode")
	case s.TLS != "" && s.TLS != string(smtp.StartTLS) && s.TLS != string(smtp.ImplicitTLS) && s.TLS != string(smtp.NoTLS):
		return bad("delivery.smtp.tls", q(s.TLS), "starttls (the default), implicit or none")
	case s.TLS == string(smtp.NoTLS) && !loopbackHost(s.Host):
		return bad("delivery.smtp.tls", `"none"`, "starttls or implicit: a relay that is not on the loopback interface ("+q(s.Host)+") needs TLS")
	case s.TLS == string(smtp.NoTLS) && s.CAFile != "":
		return bad("delivery.smtp.ca_file", q(s.CAFile), "only with tls: starttls or implicit")
	case countSet(s.Password, s.PasswordFile, s.PasswordEnv) > 1:
		return bad("delivery.smtp.password", "given more than once", "one of password, password_file, password_env")
	case countSet(s.Password, s.PasswordFile, s.PasswordEnv) == 1 && s.Username == "":
		return bad("delivery.smtp.username", `""`, "a user name: a password is set")
	case s.Timeout.Duration != 0 && (s.Timeout.Duration < time.Second || s.Timeout.Duration > time.Minute):
		return bad("delivery.smtp.timeout", s.Timeout.Duration, "1s to 1m")
	}
	name, addr, err := splitFrom(s.From)
	if err != nil {
		return bad("delivery.smtp.from", q(s.From), "an address, e.g. reset@example.com or \"Password reset <reset@example.com>\"")
	}
	// The rest (a remote host with tls: none, the helo name, the sign-in
	// URL) is checked by the provider itself, without contacting anything.
	cfg := s.senderConfig(name, addr, "")
	cfg.CAFile = ""
	if _, err := smtp.New(cfg); err != nil {
		return bad("delivery.smtp", strings.TrimPrefix(err.Error(), "smtp: "), "see docs/DELIVERY.md")
	}
	return nil
}

// loopbackHost reports whether host is this machine's loopback interface.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// splitFrom reads delivery.smtp.from into a display name and an address.
func splitFrom(from string) (name, addr string, err error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "", "", err
	}
	return a.Name, a.Address, nil
}

// senderConfig is the provider's Config for these keys.
func (s *SMTPConfig) senderConfig(name, addr, password string) smtp.Config {
	return smtp.Config{
		Host: s.Host, Port: s.Port, From: addr, FromName: name, Username: s.Username, Password: password,
		TLS: smtp.TLSMode(s.TLS), HELO: s.HELO, Timeout: s.Timeout.Duration, CAFile: s.CAFile, SignInURL: s.SignInURL,
	}
}

// password reads the relay password from where the config says.
func (s *SMTPConfig) password() (string, error) {
	switch {
	case s.PasswordFile != "":
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("delivery.smtp.password_file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if line = strings.TrimRight(line, "\r"); line == "" {
			return "", fmt.Errorf("delivery.smtp.password_file: %s is empty", s.PasswordFile)
		}
		return line, nil
	case s.PasswordEnv != "":
		v, ok := os.LookupEnv(s.PasswordEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("delivery.smtp.password_env: %s is not set", s.PasswordEnv)
		}
		return v, nil
	}
	return s.Password, nil
}

// newSMTP builds the email sender of delivery.smtp. Nothing is contacted.
func newSMTP(cfg *Config) (*smtp.Sender, error) {
	s := cfg.Delivery.SMTP
	if s == nil {
		return nil, fmt.Errorf("delivery.smtp: missing: methods.email names smtp")
	}
	pw, err := s.password()
	if err != nil {
		return nil, err
	}
	name, addr, err := splitFrom(s.From)
	if err != nil {
		return nil, fmt.Errorf("delivery.smtp.from: %w", err)
	}
	snd, err := smtp.New(s.senderConfig(name, addr, pw))
	if err != nil {
		return nil, fmt.Errorf("delivery.smtp: %w", err)
	}
	return snd, nil
}

// smtpCheckTimeout bounds the relay check of `sspr check`.
const smtpCheckTimeout = 30 * time.Second

// checkSMTP is the SMTP part of `sspr check`: with delivery.smtp set, it
// connects to the relay as a delivery would (EHLO, TLS, AUTH) and quits
// without sending anything.
func checkSMTP(cfg *Config, step func(what string, err error) error) error {
	s := cfg.Delivery.SMTP
	if s == nil {
		return nil
	}
	snd, err := newSMTP(cfg)
	what := "delivery.smtp " + s.Host
	if err == nil {
		mode := s.TLS
		if mode == "" {
			mode = string(smtp.StartTLS)
		}
		what = fmt.Sprintf("delivery.smtp %s (tls %s", snd.Addr(), mode)
		if s.Username != "" {
			what += ", as " + s.Username
		}
		what += ")"
		if cfg.Methods.Email != "smtp" {
			what += " (not used: methods.email is " + cfg.Methods.Email + ")"
		}
		ctx, cancel := context.WithTimeout(context.Background(), smtpCheckTimeout)
		err = snd.Check(ctx)
		cancel()
	}
	return step(what, err)
}
