package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sspr-project/sspr/config"

	"github.com/sspr-project/sspr/providers/smtp"
)

// newSMTP builds the email sender of delivery.smtp. Nothing is contacted.
func newSMTP(cfg *Config) (*smtp.Sender, error) {
	s := cfg.Delivery.SMTP
	if s == nil {
		return nil, fmt.Errorf("delivery.smtp: missing: methods.email names smtp")
	}
	snd, err := smtp.New(*s)
	if err != nil {
		return nil, config.Under("delivery.smtp", err)
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
			mode = smtp.StartTLS
		}
		what = fmt.Sprintf("delivery.smtp %s (tls %s", snd.Addr(), mode)
		if s.Username != "" {
			what += ", as " + s.Username
		}
		what += ")"
		if cfg.Methods.Email != providerSMTP && cfg.Methods.Text != providerE2SMS {
			what += " (not used: methods.email is " + cfg.Methods.Email + ")"
		}
		ctx, cancel := context.WithTimeout(context.Background(), smtpCheckTimeout)
		err = snd.Check(ctx)
		cancel()
	}
	return step(what, err)
}
