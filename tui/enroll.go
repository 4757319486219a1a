package tui

import (
	"context"
	"net/url"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/boombuler/barcode/qr"

	"github.com/sspr-project/sspr/flow"
)

// enroll shows a new authenticator secret as a QR code and as text, and
// takes a code from the app: a matching code saves it.
type enroll struct {
	e      *env
	secret string
	qr     string // "" when the code does not fit (a long login) or in plain mode
	code   *field
	form   *form
}

// qrRows is the most rows the QR code may take: what 80x24 leaves the
// screen.
const qrRows = 18

func newEnroll(e *env, secret string) *enroll {
	s := &enroll{e: e, secret: secret, code: newField(e.t("tui.code.field"), limitCode, 16, false)}
	s.form = newForm([]*field{s.code}, e.t("tui.info.back"))
	// The shortest URI apps read (SHA-1, 6 digits and 30 s are their
	// defaults), so the code stays at version 4: 35 columns, 18 rows.
	uri := "otpauth://totp/sspr:" + url.PathEscape(e.st.Login) + "?secret=" + secret + "&issuer=sspr"
	if q, err := drawQR(uri, qr.L, 1); err == nil && strings.Count(q, "\n") <= qrRows {
		s.qr = strings.TrimSuffix(q, "\n")
	}
	return s
}

func (s *enroll) Update(msg tea.Msg) (screen, tea.Cmd) {
	if r, ok := msg.(result); ok {
		if r.op == "submit" {
			s.code.clear()
		}
		s.form.move(0)
		return s, nil
	}
	switch s.form.update(msg) {
	case actSubmit:
		typed := s.code.value()
		return s, s.e.call("submit", func(ctx context.Context, sess *flow.Session) error {
			return sess.SubmitCode(ctx, typed)
		})
	case actLink:
		return s, back(s.e)
	}
	return s, nil
}

// grouped writes the secret in groups of four, as apps show it.
func grouped(secret string) string {
	var parts []string
	for len(secret) > 4 {
		parts, secret = append(parts, secret[:4]), secret[4:]
	}
	return strings.Join(append(parts, secret), " ")
}

func (s *enroll) View(width, _ int) *body {
	t := s.e.theme
	qrText := s.qr
	if t.plain || t.ascii {
		qrText = "" // a screen reader or the Linux console cannot show it
	}
	qrW := 0
	if qrText != "" {
		qrW = len([]rune(strings.SplitN(qrText, "\n", 2)[0])) + 3
	}
	b := newBody(width - qrW)
	b.add(t.heading.Render(s.e.t("flow.contact.label.app")))
	if qrText != "" {
		b.add(s.e.t("tui.info.scan"))
	} else {
		b.add(s.e.t("tui.info.type_key"))
	}
	b.blank()
	b.add(t.heading.Render(grouped(s.secret)))
	b.blank()
	b.field(s.e, s.code, s.form.at == 0)
	b.blank()
	b.links(s.e, s.form)
	if qrText == "" {
		return b
	}
	// The QR code on the left, the text beside it.
	rows := strings.Split(qrText, "\n")
	out := newBody(width)
	for i := 0; i < max(len(rows), len(b.lines)); i++ {
		left := strings.Repeat(" ", qrW-2)
		if i < len(rows) {
			left = rows[i] + " "
		}
		right := ""
		if i < len(b.lines) {
			right = b.lines[i]
		}
		out.lines = append(out.lines, left+right)
	}
	if b.cursor != nil {
		out.cursor = &tea.Position{X: b.cursor.X + qrW - 2, Y: b.cursor.Y}
	}
	return out
}

func (s *enroll) Keys() []key.Binding { return []key.Binding{s.e.keys.Verify, s.e.keys.Links} }

// clear empties the code and forgets the secret and its QR code: neither
// outlives the screen.
func (s *enroll) clear() {
	s.form.clear()
	s.secret, s.qr = "", ""
}

// inline puts a refusal of the app's code under its field.
func (s *enroll) inline(op string, _ *flow.Error, text string) bool {
	if op != "submit" {
		return false
	}
	s.code.err = text
	return true
}

func (s *enroll) typing() bool { return s.form.focused() != nil }
