package main

import (
	"context"
	"fmt"
	"github.com/sspr-project/sspr/config"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/smtp"
)

// SMTPConfig is delivery.smtp.*: the relay that emails codes and notices
// when methods.email is smtp.
type SMTPConfig struct {
	Host     string        `yaml:"host" doc:"the relay's host name or IP address"`
	Port     int           `yaml:"port" default:"587 (starttls), 465 (implicit), 25 (none)" range:"0..65535" doc:"the relay's port; 0: the default of the tls mode"`
	From     string        `yaml:"from" doc:"the sender: reset@example.com or \"Password reset <reset@example.com>\""`
	Username string        `yaml:"username" doc:"the user name to authenticate with"`
	Password config.Secret `yaml:"password" doc:"its password, inline, in a file or in an environment variable (one of the three)"`
	TLS      string        `yaml:"tls" default:"starttls" doc:"starttls, implicit, or none (a relay on the loopback interface only)"`
	HELO     string        `yaml:"helo" doc:"the name sspr gives in HELO/EHLO"`
	Timeout  time.Duration `yaml:"timeout" default:"the provider's" range:"0s..1m" doc:"one delivery; 0s: the provider's default"`
	CAFile   string        `yaml:"ca_file" default:"system roots" doc:"replaces the system's trusted authorities for the relay"`
	// SignInURL, when set, is added to every email as the place to sign in.
	SignInURL string `yaml:"signin_url" doc:"added to every email as the place to sign in (https)"`
}

// Validate checks delivery.smtp; the provider's own rules (a remote host
// with tls: none, the helo name, the sign-in URL) are checked by building
// it, without contacting anything.
func (s *SMTPConfig) Validate() error {
	var es config.Errors
	q := func(v string) string { return fmt.Sprintf("%q", flow.Sanitize(v, 80)) }
	switch {
	case s.Host == "":
		es.Add("host", "is empty (the relay's host name or IP address)")
	case s.TLS != "" && s.TLS != string(smtp.StartTLS) && s.TLS != string(smtp.ImplicitTLS) && s.TLS != string(smtp.NoTLS):
		es.Add("tls", "%s is not allowed (starttls, implicit or none)", q(s.TLS))
	case s.TLS == string(smtp.NoTLS) && !loopbackHost(s.Host):
		es.Add("tls", "none is not allowed for a relay that is not on the loopback interface (%s): use starttls or implicit", q(s.Host))
	case s.TLS == string(smtp.NoTLS) && s.CAFile != "":
		es.Add("ca_file", "%s is given with tls: none", q(s.CAFile))
	}
	if s.Password.IsSet() && s.Username == "" {
		es.Add("username", "is empty, yet a password is set")
	}
	if s.Timeout != 0 && s.Timeout < time.Second {
		es.Add("timeout", "%s is not allowed (1s to 1m, or 0s for the default)", config.FormatDuration(s.Timeout))
	}
	name, addr, err := splitFrom(s.From)
	if err != nil {
		es.Add("from", "%s is not allowed (an address, e.g. reset@example.com or \"Password reset <reset@example.com>\")", q(s.From))
		return es.Err()
	}
	if len(es) == 0 {
		cfg := s.senderConfig(name, addr)
		cfg.CAFile = ""
		if _, err := smtp.New(cfg); err != nil {
			es.Add("", "%s (see docs/DELIVERY.md)", strings.TrimPrefix(err.Error(), "smtp: "))
		}
	}
	return es.Err()
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
func (s *SMTPConfig) senderConfig(name, addr string) smtp.Config {
	return smtp.Config{
		Host: s.Host, Port: s.Port, From: addr, FromName: name, Username: s.Username, Password: s.Password.Value(),
		TLS: smtp.TLSMode(s.TLS), HELO: s.HELO, Timeout: s.Timeout, CAFile: s.CAFile, SignInURL: s.SignInURL,
	}
}

// newSMTP builds the email sender of delivery.smtp. Nothing is contacted.
func newSMTP(cfg *Config) (*smtp.Sender, error) {
	s := cfg.Delivery.SMTP
	if s == nil {
		return nil, fmt.Errorf("delivery.smtp: missing: methods.email names smtp")
	}
	name, addr, err := splitFrom(s.From)
	if err != nil {
		return nil, fmt.Errorf("delivery.smtp.from: %w", err)
	}
	snd, err := smtp.New(s.senderConfig(name, addr))
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
