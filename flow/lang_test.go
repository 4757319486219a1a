package flow_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

var anyCodeRE = regexp.MustCompile(`\b(\d{6,8})\b`)

// codeOf finds the code in a code text of any language.
func codeOf(t testing.TB, d flow.Delivery) string {
	t.Helper()
	m := anyCodeRE.FindStringSubmatch(d.Text)
	if m == nil {
		t.Fatalf("no code in %q", d.Text)
	}
	return m[1]
}

func flowMessage(t testing.TB, err error) string {
	t.Helper()
	var fe *flow.Error
	if err == nil || !asFlowError(err, &fe) {
		t.Fatalf("want a flow error, got %v", err)
	}
	return fe.Message
}

func asFlowError(err error, fe **flow.Error) bool {
	e, ok := err.(*flow.Error)
	*fe = e
	return ok
}

// verifiedIn walks alice to the password step in a session begun with
// lang, by email code and authenticator app, and returns it.
func verifiedIn(r *rig, lang string) *flow.Session {
	r.t.Helper()
	ctx := context.Background()
	r.clock.Advance(61 * time.Second)
	s := mustBegin(r.t, r.eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022", Lang: lang})
	mustOK(r.t, s.Identify(ctx, "alice", ""))
	mustOK(r.t, s.Choose(ctx, flow.EmailAltern))
	mustOK(r.t, s.SubmitCode(ctx, codeOf(r.t, r.email.Last(r.t))))
	mustOK(r.t, s.Choose(ctx, flow.TOTPApp))
	mustOK(r.t, s.SubmitCode(ctx, totpCode(r.t, r.clock.Now())))
	mustStep(r.t, s, flow.StepSetPassword)
	return s
}

// TestGermanSession: a session whose origin says de_DE.UTF-8 gets every
// refusal, label, rule, code text and notice in German, and its
// deliveries say so.
func TestGermanSession(t *testing.T) {
	r := newRig(t, func(c *flow.Config) { c.Notices.Helpdesk = "+49 30 1234567" })
	ctx := context.Background()
	s := mustBegin(t, r.eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022", Lang: "de_DE.UTF-8"})
	if s.Lang() != "de" {
		t.Fatalf("Lang() = %q, want de", s.Lang())
	}
	if got := flowMessage(t, s.Identify(ctx, "  ", "")); got != "Geben Sie Ihre E-Mail-Adresse oder Ihren Benutzernamen ein." {
		t.Fatalf("empty login: %q", got)
	}
	mustOK(t, s.Identify(ctx, "alice", ""))
	labels := map[flow.MethodID]string{}
	for _, m := range s.Methods() {
		labels[m.ID] = m.Label
	}
	if labels[flow.TextMobile] != "SMS an mein Mobiltelefon senden" || labels[flow.CallOffice] != "Mein Bürotelefon anrufen" {
		t.Fatalf("labels %v", labels)
	}
	if crumbs := strings.Join(s.Breadcrumb(), " > "); crumbs != "Überprüfungsschritt 1 > Überprüfungsschritt 2 > neues Kennwort wählen" {
		t.Fatalf("breadcrumb %q", crumbs)
	}
	mustOK(t, s.Choose(ctx, flow.TextMobile))
	if got := s.State().Method.Label; got != "SMS an mein Mobiltelefon senden" {
		t.Fatalf("State().Method.Label = %q", got)
	}
	if got := flowMessage(t, s.ConfirmNumber(ctx, "+15550100000")); !strings.HasPrefix(got, "Diese Nummer stimmt nicht mit der hinterlegten überein.") {
		t.Fatalf("mismatch: %q", got)
	}
	mustOK(t, s.ConfirmNumber(ctx, aliceMobile))
	d := r.sms.Last(t)
	if d.Lang != "de" || !strings.HasPrefix(d.Text, "Ihr Bestätigungscode zum Zurücksetzen des Kennworts lautet ") ||
		!strings.Contains(d.Text, "Er läuft in 5 Minuten ab.") {
		t.Fatalf("code text %+v", d)
	}
	if got := flowMessage(t, s.SubmitCode(ctx, otherCode(codeOf(t, d)))); got != "Dieser Code ist nicht richtig. Prüfen Sie ihn und versuchen Sie es erneut." {
		t.Fatalf("wrong code: %q", got)
	}
	if got := flowMessage(t, s.Resend(ctx)); !strings.HasPrefix(got, "Sie können in ") || !strings.HasSuffix(got, " Sekunden einen neuen Code anfordern.") {
		t.Fatalf("cooldown: %q", got)
	}

	s = verifiedIn(r, "de_DE.UTF-8")
	rules := s.Check("abc", "abd")
	if rules[0].Text != "Mindestens 14 Zeichen" {
		t.Fatalf("first rule %+v", rules[0])
	}
	if got := flowMessage(t, s.SetPassword(ctx, goodPass, goodPass+"x")); got != "Die Kennwörter stimmen nicht überein." {
		t.Fatalf("confirm: %q", got)
	}
	mustOK(t, s.SetPassword(ctx, goodPass, goodPass))
	got := notices(r.sms, r.email)
	if len(got) != 2 {
		t.Fatalf("notices %+v", got)
	}
	for _, n := range got {
		for _, want := range []string{"Ihr Kennwort wurde am 14. März 2026 um ", " UTC von 192.0.2.7 über SSH zurückgesetzt, bestätigt durch ",
			"einen an Ihre alternative E-Mail-Adresse gesendeten Code und einen Code aus Ihrer Authentifikator-App.",
			"Wenn Sie das nicht waren, rufen Sie sofort den Helpdesk unter +49 30 1234567 an."} {
			if !strings.Contains(n.Text, want) {
				t.Errorf("notice %q lacks %q", n.Text, want)
			}
		}
		if n.Lang != "de" {
			t.Errorf("notice Lang %q", n.Lang)
		}
	}
}

// TestFrenchSession: fr_FR.UTF-8 gives French refusals, code texts, calls
// and push prompts.
func TestFrenchSession(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	s := mustBegin(t, r.eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022", Lang: "fr_FR.UTF-8"})
	mustOK(t, s.Identify(ctx, "alice", ""))
	mustOK(t, s.Choose(ctx, flow.EmailAltern))
	d := r.email.Last(t)
	if d.Lang != "fr" || !strings.HasPrefix(d.Text, "Votre code de vérification pour réinitialiser votre mot de passe est ") ||
		!strings.Contains(d.Text, "Il expire dans 5 minutes.") {
		t.Fatalf("code text %+v", d)
	}
	if got := flowMessage(t, s.SubmitCode(ctx, "x")); got != "Entrez le code, uniquement des chiffres." {
		t.Fatalf("empty code: %q", got)
	}
	mustOK(t, s.Back())
	r.clock.Advance(61 * time.Second)
	mustOK(t, s.Choose(ctx, flow.CallMobile))
	mustOK(t, s.ConfirmNumber(ctx, aliceMobile))
	if d := r.voice.Last(t); d.Lang != "fr" || !strings.HasPrefix(d.Text, "Ceci est un appel de réinitialisation de mot de passe.") {
		t.Fatalf("call %+v", d)
	}
	mustOK(t, s.Back())
	mustOK(t, s.Choose(ctx, flow.PushApp))
	if d := r.push.Last(t); d.Lang != "fr" || !strings.HasPrefix(d.Text, "Essayez-vous de réinitialiser votre mot de passe\u00a0?") {
		t.Fatalf("push %+v", d)
	}
}

// TestUnknownLanguageIsEnglish: a language not offered, C and an empty one
// all give the English words.
func TestUnknownLanguageIsEnglish(t *testing.T) {
	for _, lang := range []string{"ja_JP.UTF-8", "C", "", "x-../../etc"} {
		r := newRig(t)
		s := mustBegin(t, r.eng, flow.Origin{Channel: flow.Local, Remote: "tty1", Lang: lang})
		if s.Lang() != "en" {
			t.Errorf("%q: Lang() = %q", lang, s.Lang())
		}
		if got := flowMessage(t, s.Identify(context.Background(), "", "")); got != "Enter your email or username." {
			t.Errorf("%q: %q", lang, got)
		}
		mustOK(t, s.Identify(context.Background(), "alice", ""))
		mustOK(t, s.Choose(context.Background(), flow.EmailAltern))
		if d := r.email.Last(t); d.Lang != "en" || !strings.HasPrefix(d.Text, "Your password reset verification code is ") {
			t.Errorf("%q: %+v", lang, d)
		}
	}
}

// TestDirectoryRefusalInSessionLanguage: the directory words its refusal
// in English; the person reads it in the session's language, the rule and
// reason kept, the detail dropped.
func TestDirectoryRefusalInSessionLanguage(t *testing.T) {
	r := newRig(t)
	r.dir.setErr = flow.DirectoryRefusal(flow.DirRuleHistory, "password in history")
	if got := r.dir.setErr.Error(); got != "Your directory refused this password because it was used recently. Choose one you have not used before." {
		t.Fatalf("English refusal %q", got)
	}
	s := verifiedIn(r, "fr")
	err := s.SetPassword(context.Background(), goodPass, goodPass)
	var fe *flow.Error
	if !asFlowError(err, &fe) || fe.Reason != flow.ReasonDirectoryRefused || fe.Rule != flow.DirRuleHistory || fe.Detail != "" || fe.Ref != s.Ref() {
		t.Fatalf("refusal %+v", err)
	}
	if !strings.HasPrefix(fe.Message, "Votre annuaire a refusé ce mot de passe, car il a été utilisé récemment.") {
		t.Fatalf("message %q", fe.Message)
	}
	if unknown := flow.DirectoryRefusal("nonsense", ""); unknown.Rule != flow.DirRuleOther || unknown.Message != "Your directory refused this password. Choose another one." {
		t.Fatalf("unknown rule %+v", unknown)
	}
}

// TestAdminNoticeLanguage: the administrators' notice follows
// Notices.Lang, whatever the session's language.
func TestAdminNoticeLanguage(t *testing.T) {
	r := newRig(t, func(c *flow.Config) {
		c.Notices.Admins = []string{"sec@example.com"}
		c.Notices.Lang = "de"
		c.Privileged.Groups = []string{"admins"}
	})
	u := r.dir.users["alice"]
	u.Groups = []string{"admins"}
	r.dir.users["alice"] = u
	s := verifiedIn(r, "fr_FR.UTF-8")
	mustOK(t, s.SetPassword(context.Background(), goodPass, goodPass))
	var admin, user []flow.Delivery
	for _, d := range notices(r.email) {
		if d.To == "sec@example.com" {
			admin = append(admin, d)
		} else {
			user = append(user, d)
		}
	}
	if len(admin) != 1 || !strings.HasPrefix(admin[0].Text, `Das Kennwort des privilegierten Kontos "alice" wurde am 14. März 2026`) || admin[0].Lang != "de" {
		t.Fatalf("admin notice %+v", admin)
	}
	if len(user) != 1 || !strings.HasPrefix(user[0].Text, "Votre mot de passe a été réinitialisé le 14 mars 2026 à ") {
		t.Fatalf("user notice %+v", user)
	}
}
