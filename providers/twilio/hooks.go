package twilio

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/sspr-project/sspr/flow"
)

// Approver takes the answer to a call; *flow.Engine is one.
type Approver interface {
	Approve(ctx context.Context, token, answer string) error
}

// Signature is Twilio's X-Twilio-Signature of a webhook: HMAC-SHA1, keyed
// with the auth token, of the full URL Twilio requested followed by every
// POST parameter, sorted by name, as name and value concatenated; base64.
func Signature(authToken, fullURL string, post url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	names := make([]string, 0, len(post))
	for k := range post {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := append([]string(nil), post[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// machineAnswers are the AnsweredBy values of synchronous machine
// detection that are not a person.
var machineAnswers = map[string]bool{
	"machine_start": true, "machine_end_beep": true, "machine_end_silence": true,
	"machine_end_other": true, "fax": true,
}

// callFailed are the final statuses of a call that nobody answered.
var callFailed = map[string]bool{"no-answer": true, "busy": true, "failed": true, "canceled": true}

// VoiceHandler serves POST VoicePath+"{token}": first the answered call
// (Twilio fetches what to say: a hang-up for a machine, else the prompt and
// a gather of the keys), then the keys gathered, which it hands to a.
// Every request must carry a valid X-Twilio-Signature (else 403); keys for
// an unknown or used token are refused with 404. Both are logged.
func (c *Client) VoiceHandler(a Approver) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, ok := c.verified(w, r, "voice")
		if !ok {
			return
		}
		token := strings.TrimPrefix(r.URL.Path, VoicePath)
		if !validToken(token) {
			c.refuse(w, http.StatusNotFound, "voice", "unknown_token", form)
			return
		}
		q := r.URL.Query()
		if _, answering := q["say"]; answering {
			if by := form.Get("AnsweredBy"); machineAnswers[by] {
				// Nothing is said to a machine; the phone counts as not
				// reached.
				c.observe("machine")
				c.log.Info("twilio_call_machine", "call_sid", sid(form), "answered_by", flow.Sanitize(by, 32))
				if err := a.Approve(r.Context(), token, flow.AnswerUnreachable); err != nil && !errors.Is(err, flow.ErrNoApproval) {
					c.log.Error("twilio_approve_failed", "call_sid", sid(form), "error", err.Error())
				}
				writeTwiML(w, hangup)
				return
			}
			c.observe("answered")
			writeTwiML(w, c.gather(token, q.Get("lang"), q.Get("say")))
			return
		}
		digits := onlyDigits(form.Get("Digits"))
		switch err := a.Approve(r.Context(), token, digits); {
		case errors.Is(err, flow.ErrNoApproval):
			c.refuse(w, http.StatusNotFound, "voice", "unknown_token", form)
			return
		case err != nil:
			c.log.Error("twilio_approve_failed", "call_sid", sid(form), "error", err.Error())
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		if digits == "" {
			c.observe("no_keys")
		} else {
			c.observe("keyed")
		}
		c.log.Info("twilio_call_keyed", "call_sid", sid(form), "keys", len(digits))
		writeTwiML(w, hangup)
	})
}

// StatusHandler serves POST StatusPath: the final status of a call (a call
// nobody answered ends its wait at once: the person is told the phone
// could not be reached, as a failed try) or of a text (a failed or
// undelivered one is logged and ends the code screen with the same words,
// through the watch flow keeps on it). The signature is checked as for VoiceHandler.
func (c *Client) StatusHandler(a Approver) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, ok := c.verified(w, r, "status")
		if !ok {
			return
		}
		if st := form.Get("CallStatus"); st != "" {
			token := r.URL.Query().Get("token")
			if !validToken(token) {
				c.refuse(w, http.StatusNotFound, "status", "unknown_token", form)
				return
			}
			switch {
			case callFailed[st]:
				c.observe(st)
				c.log.Info("twilio_call_unanswered", "call_sid", sid(form), "status", st)
				err := a.Approve(r.Context(), token, flow.AnswerUnreachable)
				if errors.Is(err, flow.ErrNoApproval) {
					c.refuse(w, http.StatusNotFound, "status", "unknown_token", form)
					return
				}
				if err != nil {
					c.log.Error("twilio_approve_failed", "call_sid", sid(form), "error", err.Error())
					http.Error(w, "unavailable", http.StatusServiceUnavailable)
					return
				}
			case st == "completed":
				// Keys, when there were any, arrived before the call ended;
				// a call hung up without keys ends its wait here.
				if err := a.Approve(r.Context(), token, ""); err == nil {
					c.observe("hung_up")
				} else if !errors.Is(err, flow.ErrNoApproval) {
					c.log.Error("twilio_approve_failed", "call_sid", sid(form), "error", err.Error())
				}
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if st := form.Get("MessageStatus"); st != "" {
			if st == "failed" || st == "undelivered" {
				c.observe("text_" + st)
				c.log.Warn("twilio_text_"+st, "message_sid", flow.Sanitize(form.Get("MessageSid"), 40),
					"error_code", flow.Sanitize(form.Get("ErrorCode"), 10))
				// The person is still on the code screen: tell them.
				if token := r.URL.Query().Get("token"); validToken(token) {
					if err := a.Approve(r.Context(), token, flow.AnswerUnreachable); err != nil && !errors.Is(err, flow.ErrNoApproval) {
						c.log.Error("twilio_approve_failed", "message_sid", flow.Sanitize(form.Get("MessageSid"), 40), "error", err.Error())
					}
				}
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Error(w, "no status", http.StatusBadRequest)
	})
}

// verified parses the form and checks the signature and the account,
// answering the request itself when they fail.
func (c *Client) verified(w http.ResponseWriter, r *http.Request, hook string) (url.Values, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "bad form", http.StatusBadRequest)
		return nil, false
	}
	form := r.PostForm
	want := Signature(c.token, c.public+requestURI(r), form)
	got := r.Header.Get("X-Twilio-Signature")
	if c.public == "" || got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		c.refuse(w, http.StatusForbidden, hook, "bad_signature", form)
		return nil, false
	}
	if form.Get("AccountSid") != c.cfg.AccountSID {
		c.refuse(w, http.StatusForbidden, hook, "wrong_account", form)
		return nil, false
	}
	return form, true
}

// requestURI is the path and query as the client sent them.
func requestURI(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// refuse answers status and logs why, with nothing of the request that
// could be secret (no token, no keys, no signature).
func (c *Client) refuse(w http.ResponseWriter, status int, hook, why string, form url.Values) {
	c.observe(why)
	c.log.Warn("twilio_webhook_refused", "hook", hook, "why", why, "status", status, "call_sid", sid(form))
	http.Error(w, http.StatusText(status), status)
}

func (c *Client) observe(event string) {
	if c.cfg.Observe != nil {
		c.cfg.Observe(event)
	}
}

func sid(form url.Values) string {
	if form == nil {
		return ""
	}
	return flow.Sanitize(form.Get("CallSid"), 40)
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if '0' <= r && r <= '9' && b.Len() < 8 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

const hangup = xml.Header + "<Response><Hangup/></Response>"

// gather is the TwiML of an answered call: the prompt, said twice, while
// the keys are gathered and posted back to the same path. Twilio posts the
// gather's result even when nothing was keyed (actionOnEmptyResult), so a
// silent call ends its wait at once.
func (c *Client) gather(token, lang, say string) string {
	if l, ok := sayLanguages[strings.ToLower(lang)]; ok {
		lang = l
	} else {
		lang = "en-US"
	}
	say = flow.Sanitize(say, 500)
	var b bytes.Buffer
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<Response><Gather input="dtmf" numDigits="%d" action="%s" method="POST" timeout="10" actionOnEmptyResult="true">`,
		callDigits, escape(c.public+VoicePath+token))
	fmt.Fprintf(&b, `<Say language="%s">%s</Say><Pause length="1"/><Say language="%s">%s</Say>`, lang, escape(say), lang, escape(say))
	b.WriteString(`</Gather><Hangup/></Response>`)
	return b.String()
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func writeTwiML(w http.ResponseWriter, twiml string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(twiml))
}
