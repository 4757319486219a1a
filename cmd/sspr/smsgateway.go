package main

import (
	"fmt"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/providers/smsgateway"
)

// newSMSGateway builds the text sender of delivery.http and registers its
// check: a GET of probe_url when set, else a TLS connect to the url's
// host. Nothing is contacted here.
func newSMSGateway(cfg *Config, w *deliveryWiring) (*smsgateway.Sender, error) {
	g := cfg.Delivery.HTTP
	if g == nil {
		return nil, fmt.Errorf("delivery.http: missing: methods.text names http")
	}
	s, err := smsgateway.New(*g)
	if err != nil {
		return nil, config.Under("delivery.http", err)
	}
	w.checks = append(w.checks, providerCheck{"delivery.http (" + s.ProbeKind() + ")", s.Check})
	return s, nil
}

// newEmail2SMS builds the text sender of delivery.email2sms, which mails
// through delivery.smtp.
func newEmail2SMS(cfg *Config) (*smsgateway.Email2SMS, error) {
	e := cfg.Delivery.Email2SMS
	if e == nil {
		return nil, fmt.Errorf("delivery.email2sms: missing: methods.text names email2sms")
	}
	mailer, err := newSMTP(cfg)
	if err != nil {
		return nil, err
	}
	s, err := smsgateway.NewEmail2SMS(*e, mailer)
	if err != nil {
		return nil, config.Under("delivery.email2sms", err)
	}
	return s, nil
}
