package sshserver

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
	"github.com/sspr-project/sspr/providers/totp"
	"github.com/sspr-project/sspr/tui"
)

// anyCodeRE finds the code in a code text of any language.
var anyCodeRE = regexp.MustCompile(`\b(\d{6,10})\b`)

func (r *recordingSender) anyCode() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.all) - 1; i >= 0; i-- {
		if m := anyCodeRE.FindStringSubmatch(r.all[i].Text); m != nil {
			return m[1]
		}
	}
	return ""
}

func (r *recordingSender) langs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, d := range r.all {
		out = append(out, d.Lang)
	}
	return out
}

// flat is s with every run of white space, no-break spaces included, one
// space.
func flat(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\u00a0", " ")), " ")
}

// langServer serves the demo wizard the way sspr serve wires it: the
// session's language from SessionInfo.Language, defaultLang as
// Config.Lang. It returns the server, the text sender and a way to wait
// for words on the wizard's latest view.
func langServer(t *testing.T, defaultLang string) (*testServer, *recordingSender, func(want ...string) string, *[]SessionInfo) {
	t.Helper()
	eng, _, phone, sms := demoEngine(t, false)
	var mu sync.Mutex
	var view string
	var infos []SessionInfo
	ts := startServer(t, func(c *Config) {
		c.Lang = defaultLang
		c.NewModel = func(info SessionInfo) tea.Model {
			mu.Lock()
			infos = append(infos, info)
			mu.Unlock()
			w := tui.New(eng, tui.Options{
				Origin: flow.Origin{Channel: flow.SSH, Remote: info.Remote, Lang: info.Language},
				Demo:   phone, SignInURL: "https://myapps.example.com", Remote: true,
			})
			return viewTap{m: w, w: w, mu: &mu, view: &view}
		}
	})
	waitFor := func(want ...string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			v := view
			mu.Unlock()
			ok := true
			for _, s := range want {
				ok = ok && strings.Contains(flat(v), flat(s))
			}
			if ok {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %q; the wizard shows:\n%s", want, v)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return ts, sms, waitFor, &infos
}

// openTermEnv sends env (as ssh -o SendEnv does, before the PTY request),
// then asks for an 80x24 PTY and a shell.
func openTermEnv(t *testing.T, ts *testServer, env ...string) *term {
	t.Helper()
	tm := newTerm(t, dial(t, ts))
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if err := tm.sess.Setenv(name, value); err != nil {
			t.Fatalf("Setenv %s: %v", kv, err)
		}
	}
	if err := tm.sess.RequestPty("xterm-256color", 24, 80, nil); err != nil {
		t.Fatalf("pty request: %v", err)
	}
	if err := tm.sess.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	return tm
}

// TestGermanScreensOverSSH: a client that sends LANG=de_DE.UTF-8 gets the
// whole reset in German, on screen and in the texts it is sent.
func TestGermanScreensOverSSH(t *testing.T) {
	ts, sms, waitFor, _ := langServer(t, "")
	de := i18n.For("de")
	tm := openTermEnv(t, ts, "LANG=de_DE.UTF-8")
	tm.waitScreen(t, "Wer sind Sie?")
	waitFor("Zurück zu Ihrem Konto", "Wer sind Sie?", "E-Mail-Adresse oder Benutzername", "Eingabe weiter", "Strg+C auflegen")
	tm.typeKeys(t, "alice\r")
	v := waitFor("Wählen Sie die Kontaktmethode, die wir für die Überprüfung verwenden sollen:",
		"(*) SMS an mein Mobiltelefon senden", "Schritt 2 von 4 · Überprüfung wählen")
	if strings.Contains(v, "Text my mobile phone") || strings.Contains(v, "Who are you") {
		t.Fatalf("English on a German screen:\n%s", v)
	}
	tm.typeKeys(t, "\r")
	waitFor("Zum Schutz Ihres Kontos", "Geben Sie Ihre Telefonnummer ein", "[Andere Methode wählen]")
	tm.typeKeys(t, "+1 212 555 0999\r")
	waitFor("Diese Nummer stimmt nicht mit der hinterlegten überein.")
	tm.typeKeys(t, strings.Repeat("\x7f", 20)+"+1 212 555 0101\r")
	waitFor("Wir haben Ihnen eine SMS mit einem Bestätigungscode an Ihr Telefon gesendet.", "Geben Sie Ihren Bestätigungscode ein")
	code := sms.anyCode()
	if code == "" {
		t.Fatal("no code was texted")
	}
	if l := sms.langs(); len(l) == 0 || l[len(l)-1] != "de" {
		t.Fatalf("the text's language: %v", l)
	}
	waitFor("Ihr Bestätigungscode zum Zurücksetzen des Kennworts lautet " + code)
	tm.typeKeys(t, code+"\r")
	waitFor("Überprüfungsschritt 1 ist abgeschlossen. Wählen Sie eine zweite Methode.", "Überprüfungsschritt 2",
		"(*) "+flow.PushApp.LabelIn(de))
	tm.typeKeys(t, termDown)
	waitFor("(*) " + flow.TOTPApp.LabelIn(de))
	tm.typeKeys(t, "\r")
	waitFor("Geben Sie den Code ein, der in Ihrer Authentifikator-App angezeigt wird.")
	c, err := totp.Code(demoAccount(t, "alice").TOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tm.typeKeys(t, c+"\r")
	waitFor("Neues Kennwort eingeben", "Neues Kennwort bestätigen", "Anforderungen an Ihr neues Kennwort:", "Mindestens")
	tm.typeKeys(t, "Correct-Horse-42x\rCorrect-Horse-42x\r")
	waitFor("Ihr Kennwort wurde zurückgesetzt", "Um sich mit Ihrem neuen Kennwort anzumelden, gehen Sie zu https://myapps.example.com")
	tm.typeKeys(t, "\x03")
	tm.wait(t)
}

// TestClientLanguageOrder: LC_ALL wins over LC_MESSAGES and LANG; a
// client language not offered, or none, gives Config.Lang; C is English
// even then; an empty Config.Lang gives English.
func TestClientLanguageOrder(t *testing.T) {
	ts, _, waitFor, infos := langServer(t, "de")
	for i, tc := range []struct {
		env  []string
		lang string
		want string
	}{
		{[]string{"LANG=de_DE.UTF-8", "LC_MESSAGES=en_US.UTF-8", "LC_ALL=fr_FR.UTF-8"}, "fr", "Qui êtes-vous\u00a0?"},
		{[]string{"LANG=fr_FR.UTF-8", "LC_MESSAGES=en_GB.UTF-8"}, "en", "Who are you?"},
		{[]string{"LANG=ja_JP.UTF-8"}, "de", "Wer sind Sie?"},
		{nil, "de", "Wer sind Sie?"},
		{[]string{"LANG=C.UTF-8"}, "en", "Who are you?"},
	} {
		tm := openTermEnv(t, ts, tc.env...)
		tm.waitScreen(t, tc.want)
		waitFor(tc.want)
		if got := (*infos)[i].Language; got != tc.lang {
			t.Errorf("%v: Language %q, want %q", tc.env, got, tc.lang)
		}
		tm.typeKeys(t, "\x03")
		tm.wait(t)
	}

	ts, _, _, _ = langServer(t, "")
	tm := openTermEnv(t, ts, "LANG=pt_BR.UTF-8")
	tm.waitScreen(t, "Who are you?")
}

// TestRefusalsInClientLanguage: the words the server writes itself follow
// the client's environment: no terminal, and a restart notice.
func TestRefusalsInClientLanguage(t *testing.T) {
	ts := startServer(t, nil)
	tm := newTerm(t, dial(t, ts))
	if err := tm.sess.Setenv("LANG", "de_DE.UTF-8"); err != nil {
		t.Fatal(err)
	}
	if err := tm.sess.Shell(); err != nil {
		t.Fatal(err)
	}
	tm.wait(t)
	if got := tm.stderr.String(); got != "sspr braucht ein Terminal: Verbinden Sie sich mit ssh -t\n" {
		t.Errorf("stderr %q", got)
	}

	ts = startServer(t, func(c *Config) { c.Lang = "fr" })
	tm = newTerm(t, dial(t, ts))
	if err := tm.sess.Shell(); err != nil {
		t.Fatal(err)
	}
	tm.wait(t)
	if got := tm.stderr.String(); got != "sspr a besoin d'un terminal\u00a0: connectez-vous avec ssh -t\n" {
		t.Errorf("stderr with Config.Lang fr: %q", got)
	}

	if got := localNotice(RestartNotice, i18n.English()); got != RestartNotice {
		t.Errorf("the English catalogue words the restart notice %q, not as RestartNotice", got)
	}
	got := localNotice(RestartNotice, i18n.For("de"))
	if !strings.HasPrefix(got, "Der Dienst wird neu gestartet.") {
		t.Errorf("restart notice in German: %q", got)
	}
	if got := localNotice("Maintenance at noon.", i18n.For("de")); got != "Maintenance at noon." {
		t.Errorf("another notice: %q", got)
	}
}
