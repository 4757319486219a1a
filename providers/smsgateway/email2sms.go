package smsgateway

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// DefaultEmail2SMSSubject is the subject of a text sent as an email; most
// mail-to-SMS gateways drop it or put it before the body.
const DefaultEmail2SMSSubject = "Code"

// Email2SMSConfig is a mail-to-SMS gateway: the delivery.email2sms block.
// The email goes out through delivery.smtp.
type Email2SMSConfig struct {
	// Address makes the recipient from the number: {number} is the E.164
	// number without its +, {e164} with it.
	Address string `yaml:"address" doc:"the gateway's address for a number: {number} is the E.164 number without +, {e164} with it, e.g. {number}@sms.example.net"`
	Subject string `yaml:"subject" default:"Code" doc:"the email's subject (short: many gateways prepend it to the text)"`
}

// DefaultEmail2SMS is the delivery.email2sms block before the file's keys.
func DefaultEmail2SMS() Email2SMSConfig {
	return Email2SMSConfig{Subject: DefaultEmail2SMSSubject}
}

// SetDefaults gives a delivery.email2sms block its defaults.
func (c *Email2SMSConfig) SetDefaults() { *c = DefaultEmail2SMS() }

// Validate checks address and subject, with paths relative to the block.
func (c Email2SMSConfig) Validate() error {
	var es config.Errors
	if err := c.checkAddress(); err != nil {
		es.Add("address", "%v", err)
	}
	if strings.ContainsAny(c.Subject, "\r\n") || c.Subject != flow.Sanitize(c.Subject, 78) {
		es.Add("subject", "has control characters or more than 78 characters")
	}
	return es.Err()
}

func (c Email2SMSConfig) checkAddress() error {
	n := strings.Count(c.Address, "{number}") + strings.Count(c.Address, "{e164}")
	local, domain, ok := strings.Cut(c.Address, "@")
	switch {
	case c.Address == "":
		return errors.New("is empty (e.g. {number}@sms.example.net)")
	case n != 1:
		return fmt.Errorf("%q must hold {number} or {e164} once", flow.Sanitize(c.Address, 80))
	case !ok || strings.Contains(domain, "{"):
		return fmt.Errorf("%q: the number goes before the @", flow.Sanitize(c.Address, 80))
	case placeholderRE.MatchString(strings.NewReplacer("{number}", "", "{e164}", "").Replace(local)):
		return fmt.Errorf("%q has a placeholder other than {number} or {e164}", flow.Sanitize(c.Address, 80))
	}
	sample := addressFor(c.Address, "+12125550100")
	if a, err := mail.ParseAddress(sample); err != nil || a.Address != sample {
		return fmt.Errorf("%q does not make an email address (%s for +12125550100)", flow.Sanitize(c.Address, 80), flow.Sanitize(sample, 80))
	}
	return nil
}

func addressFor(tmpl, e164 string) string {
	return strings.NewReplacer("{number}", strings.TrimPrefix(e164, "+"), "{e164}", e164).Replace(tmpl)
}

// Mailer sends one plain text email (providers/smtp's Sender).
type Mailer interface {
	SendPlain(ctx context.Context, to, subject, text string) error
}

// Email2SMS texts through a mail-to-SMS gateway: the message is the body
// of a plain text email to the number's address.
type Email2SMS struct {
	cfg  Email2SMSConfig
	mail Mailer
}

var _ flow.Sender = (*Email2SMS)(nil)

// NewEmail2SMS checks cfg and returns a sender that mails through m.
func NewEmail2SMS(cfg Email2SMSConfig, m Mailer) (*Email2SMS, error) {
	if cfg.Subject == "" {
		cfg.Subject = DefaultEmail2SMSSubject
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("email2sms: no mailer (delivery.smtp)")
	}
	return &Email2SMS{cfg: cfg, mail: m}, nil
}

// Deliver mails d.Text to the address of d.To.
func (e *Email2SMS) Deliver(ctx context.Context, d flow.Delivery) error {
	if d.Method != flow.TextMobile {
		return fmt.Errorf("email2sms: method %q is not a text", flow.Sanitize(string(d.Method), 32))
	}
	if !e164RE.MatchString(d.To) {
		return errors.New("email2sms: the stored number is not in E.164 form")
	}
	if err := e.mail.SendPlain(ctx, addressFor(e.cfg.Address, d.To), e.cfg.Subject, d.Text); err != nil {
		return fmt.Errorf("email2sms: %w", err)
	}
	return nil
}
