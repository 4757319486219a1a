package smsgateway

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/mailpit"
	"github.com/sspr-project/sspr/providers/smtp"
)

func TestEmail2SMSThroughMailpit(t *testing.T) {
	srv := mailpit.Start(t, mailpit.Options{Users: map[string]string{"relay": "Relay-Pa55word"}, TLS: mailpit.RequireStartTLS})
	mailer, err := smtp.New(smtp.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, From: "reset@example.com",
		Username: "relay", Password: config.InlineSecret("Relay-Pa55word"), CAFile: srv.CAFile, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ tmpl, want string }{
		{"{number}@sms.example.net", "4915112345678@sms.example.net"},
		{"{e164}@sms.example.net", "+4915112345678@sms.example.net"},
	} {
		if err := srv.DeleteAll(); err != nil {
			t.Fatal(err)
		}
		s, err := NewEmail2SMS(Email2SMSConfig{Address: tc.tmpl}, mailer)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Deliver(context.Background(), text()); err != nil {
			t.Fatal(err)
		}
		list := srv.WaitMessages(t, 1, 5*time.Second)
		m, err := srv.Message(list[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.To) != 1 || m.To[0].Address != tc.want || m.Subject != DefaultEmail2SMSSubject || m.HTML != "" {
			t.Fatalf("to %v, subject %q, html %q", m.To, m.Subject, m.HTML)
		}
		if strings.TrimRight(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n") != testText() {
			t.Fatalf("text %q, want %q", m.Text, testText())
		}
	}

	// A relay that refuses says so without the number or the text.
	bad, err := smtp.New(smtp.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, From: "reset@example.com",
		Username: "relay", Password: config.InlineSecret("wrong-password"), CAFile: srv.CAFile, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewEmail2SMS(Email2SMSConfig{Address: "{number}@sms.example.net"}, bad)
	err = s.Deliver(context.Background(), text())
	if err == nil {
		t.Fatal("a wrong password was accepted")
	}
	clean(t, err)
}

func TestEmail2SMSRefusesWhatIsNotAText(t *testing.T) {
	s, err := NewEmail2SMS(Email2SMSConfig{Address: "{number}@sms.example.net"}, mailerFunc(func(context.Context, string, string, string) error {
		t.Fatal("sent")
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []flow.Delivery{
		{Method: flow.EmailAltern, To: "a@example.com", Text: "x"},
		{Method: flow.TextMobile, To: "4915112345678@evil.example", Text: "x"},
	} {
		if err := s.Deliver(context.Background(), d); err == nil {
			t.Fatalf("%+v was sent", d)
		}
	}
}

type mailerFunc func(ctx context.Context, to, subject, text string) error

func (f mailerFunc) SendPlain(ctx context.Context, to, subject, text string) error {
	return f(ctx, to, subject, text)
}

func TestEmail2SMSValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Email2SMSConfig
		path string
	}{
		{Email2SMSConfig{Address: "{number}@sms.example.net"}, ""},
		{Email2SMSConfig{Address: "sms+{e164}@gw.example.net", Subject: "Reset"}, ""},
		{Email2SMSConfig{Address: ""}, "address"},
		{Email2SMSConfig{Address: "sms@example.net"}, "address"},
		{Email2SMSConfig{Address: "{number}{number}@example.net"}, "address"},
		{Email2SMSConfig{Address: "x@{number}.example.net"}, "address"},
		{Email2SMSConfig{Address: "{number}"}, "address"},
		{Email2SMSConfig{Address: "{to}{number}@example.net"}, "address"},
		{Email2SMSConfig{Address: "{number}@example.net", Subject: "a\nBcc: x@example.com"}, "subject"},
	} {
		err := tc.cfg.Validate()
		var es config.Errors
		switch {
		case tc.path == "" && err != nil:
			t.Errorf("%+v: %v", tc.cfg, err)
		case tc.path != "" && (!errors.As(err, &es) || es[0].Path != tc.path):
			t.Errorf("%+v: err %v, want at %s", tc.cfg, err, tc.path)
		}
	}
}
