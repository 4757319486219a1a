package flow_test

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sspr-project/sspr/flow"
)

// knownLogin reports whether login reaches a real, usable account of the
// test directory, the way the engine looks it up.
func knownLogin(login string) bool {
	u, ok := testUsers()[flow.CanonicalLogin(flow.Sanitize(login, flow.MaxLoginLen))]
	return ok && !u.Disabled && u.Login != "frank"
}

func FuzzIdentifyLogin(f *testing.F) {
	for _, s := range []string{"alice", " ALICE ", "zed", "carol", "frank", "", "a\nb", "\x1b[2J", "*)(uid=*))(|(uid=*",
		"alİce", "x@y@z", strings.Repeat("é", 300), "\xff\xfe", "zed\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, login string) {
		r := newRig(t)
		s := r.begin()
		err := s.Identify(bg, login, "")
		st := s.State()
		if !utf8.ValidString(st.Login) || utf8.RuneCountInString(st.Login) > flow.MaxLoginLen || strings.ContainsFunc(st.Login, unicode.IsControl) {
			t.Fatalf("login kept as %q", st.Login)
		}
		if err != nil {
			if flow.ReasonOf(err) != flow.ReasonInvalidInput || st.Step != flow.StepIdentify {
				t.Fatalf("refused with %v at %s", err, st.Step)
			}
			return
		}
		if st.Step != flow.StepChooseMethod || len(s.Methods()) == 0 {
			t.Fatalf("step %s, methods %v", st.Step, s.Methods())
		}
		if knownLogin(login) {
			return
		}
		// A decoy: stable, silent, and nothing verifies.
		again := r.begin()
		mustOK(t, again.Identify(bg, login, ""))
		if a, b := methodIDs(s.Methods()), methodIDs(again.Methods()); strings.Join(idStrings(a), ",") != strings.Join(idStrings(b), ",") {
			t.Fatalf("decoy differs: %v %v", a, b)
		}
		for _, m := range s.Methods() {
			if m.ID == flow.EmailAltern || m.ID == flow.TOTPApp {
				x := r.begin()
				mustOK(t, x.Identify(bg, login, ""))
				mustOK(t, x.Choose(bg, m.ID))
				for _, code := range []string{totpCode(t, r.clock.Now()), "12345678", "000000"} {
					if err := x.SubmitCode(bg, code); err == nil {
						t.Fatalf("a decoy verified with %s", m.ID)
					}
				}
			}
		}
		if r.sends() != 0 {
			t.Fatal("sent for a decoy")
		}
	})
}

func idStrings(ids []flow.MethodID) []string {
	var out []string
	for _, id := range ids {
		out = append(out, string(id))
	}
	return out
}

func FuzzConfirmNumber(f *testing.F) {
	for _, s := range []string{aliceMobile, "+1 (555) 010-0042", "15550100042", "555-010-0042", "+15550100043", "",
		"+", "++1", "0", "tel:+1-555-010-0042", "+1 555 010 0042 ext. 99", "1-800-FLOWERS", "+999999999999999999999",
		"\x00", "555\u0660010", "+44 20 7946 0958"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		_ = flow.SamePhone(typed, typed, flow.DefaultRegion)
		_ = flow.SamePhone(aliceMobile, typed, flow.DefaultRegion)
		_ = flow.MaskPhone(typed)

		r := newRig(t)
		s := r.identified("alice")
		mustOK(t, s.Choose(bg, flow.TextMobile))
		err := s.ConfirmNumber(bg, typed)
		same := flow.SamePhone(flow.Sanitize(typed, flow.MaxPhoneLen), aliceMobile, flow.DefaultRegion)
		if (err == nil) != same {
			t.Fatalf("ConfirmNumber(%q) = %v, SamePhone says %v", typed, err, same)
		}
		if err == nil {
			if d := r.sms.Last(t); d.To != aliceMobile {
				t.Fatalf("sent to %q", d.To)
			}
		} else if r.sends() != 0 {
			t.Fatal("sent after a refusal")
		}

		z := r.identified("zed")
		mustOK(t, z.Choose(bg, flow.TextMobile))
		if z.ConfirmNumber(bg, typed) == nil {
			t.Fatal("a decoy accepted a number")
		}
	})
}

// digitsOf is what a code field keeps of the typed text: the digits, with
// spaces and dashes dropped; anything else makes it no code at all.
func digitsOf(typed string) string {
	var b strings.Builder
	for _, r := range flow.Sanitize(typed, flow.MaxCodeLen) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return ""
		}
	}
	return b.String()
}

func FuzzSubmitCode(f *testing.F) {
	for _, s := range []string{"#", " # ", "#-", "12345678", "", "1234 5678", "#0", "0#", "\x00#", "#\n", "٣٤٥", "１２３"} {
		f.Add(s)
	}
	// '#' in the input stands for the code that was sent.
	f.Fuzz(func(t *testing.T, pattern string) {
		r := newRig(t)
		s, code := r.atCode("alice", flow.EmailAltern)
		typed := strings.ReplaceAll(pattern, "#", code)
		err := s.SubmitCode(bg, typed)
		if want := digitsOf(typed) == code; (err == nil) != want {
			t.Fatalf("SubmitCode(%q) with code %s = %v", typed, code, err)
		}
		if err != nil {
			if fe, ok := err.(*flow.Error); !ok || strings.Contains(fe.Message, code) {
				t.Fatalf("error %v", err)
			}
		}

		z := r.identified("nobody")
		for _, m := range z.Methods() {
			if m.ID != flow.EmailAltern && m.ID != flow.TOTPApp {
				continue
			}
			x := r.identified("nobody")
			mustOK(t, x.Choose(bg, m.ID))
			for _, c := range []string{typed, strings.ReplaceAll(pattern, "#", totpCode(t, r.clock.Now()))} {
				if x.SubmitCode(bg, c) == nil {
					t.Fatal("a decoy verified")
				}
			}
		}

		a := r.identified("alice")
		mustOK(t, a.Choose(bg, flow.TOTPApp))
		now := r.clock.Now()
		tc := totpCode(t, now)
		typed = strings.ReplaceAll(pattern, "#", tc)
		err = a.SubmitCode(bg, typed)
		if want := digitsOf(typed) == tc; (err == nil) != want {
			// Another step's code may match by chance; only a wrong accept matters.
			if err == nil && digitsOf(typed) != totpCode(t, now.Add(-30*time.Second)) && digitsOf(typed) != totpCode(t, now.Add(30*time.Second)) {
				t.Fatalf("TOTP accepted %q", typed)
			}
			if err != nil && want {
				t.Fatalf("TOTP refused the right code %q: %v", typed, err)
			}
		}
	})
}

func FuzzCheckPassword(f *testing.F) {
	for _, s := range [][2]string{{goodPass, goodPass}, {"short", "short"}, {"", ""}, {goodPass, goodPass + "x"},
		{"xALICEx-Password-123", "xALICEx-Password-123"}, {"Correct\x1b[2J-Horse-9", "Correct\x1b[2J-Horse-9"},
		{"\xff\xfeAbcdefghijk1234", "\xff\xfeAbcdefghijk1234"}, {"ǅǈǋ-ǲ-titlecase-1234", "ǅǈǋ-ǲ-titlecase-1234"},
		{strings.Repeat("Aa1", 90), strings.Repeat("Aa1", 90)}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pw, confirm string) {
		rules := flow.CheckPassword(flow.DefaultConfig().Password, "alice", pw, confirm)
		if len(rules) < 7 {
			t.Fatalf("%d rules", len(rules))
		}
		r := newRig(t)
		s := r.verified()
		ok := true
		for _, rule := range s.Check(pw, confirm) {
			ok = ok && rule.Met
		}
		err := s.SetPassword(bg, pw, confirm)
		if ok != (err == nil) {
			t.Fatalf("Check says %v, SetPassword says %v", ok, err)
		}
		if err != nil {
			if len(pw) >= 8 && strings.Contains(err.Error(), pw) {
				t.Fatal("error carries the password")
			}
			if len(r.dir.Sets()) != 0 {
				t.Fatal("written after a refusal")
			}
			return
		}
		if sets := r.dir.Sets(); len(sets) != 1 || sets[0].Password != pw {
			t.Fatal("written wrong")
		}
		if !utf8.ValidString(pw) || strings.ContainsFunc(pw, unicode.IsControl) {
			t.Fatalf("accepted %q", pw)
		}
		if n := utf8.RuneCountInString(pw); n < 14 || n > 256 || strings.Contains(strings.ToLower(pw), "alice") {
			t.Fatalf("accepted %q", pw)
		}
	})
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"alice", "a\nb", "\x1b[31m", "\xff", "\u202e", "日本", "\u0085", "\U0010ffff", ""} {
		f.Add(s, 8)
	}
	f.Add(strings.Repeat("é", 100), 256)
	f.Fuzz(func(t *testing.T, in string, max int) {
		max %= 1024
		out := flow.Sanitize(in, max)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 %q", out)
		}
		n := utf8.RuneCountInString(out)
		if n > max && !(max <= 0 && n == 0) {
			t.Fatalf("%d runes for max %d", n, max)
		}
		for _, r := range out {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("kept %U", r)
			}
		}
		if again := flow.Sanitize(out, max); again != out {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
		if len(out) > len(in) {
			t.Fatal("grew")
		}
	})
}

// FuzzCanonicalLogin: the canonical form is a fixed point, so keying by it
// twice never splits one login in two.
func FuzzCanonicalLogin(f *testing.F) {
	for _, s := range []string{"sam", "ſam", "Straße", "STRAẞE", "ｓａｍ", " Sam ", "alİce", "ǅemal", "ﬃ", "x\u200by", "\u0345\u03b9", "ΐ", "ﷺ", "\u1e9b\u0323"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := flow.CanonicalLogin(s)
		if again := flow.CanonicalLogin(c); again != c {
			t.Fatalf("CanonicalLogin(%q) = %q, and again %q", s, c, again)
		}
		if c != strings.TrimSpace(c) {
			t.Fatalf("CanonicalLogin(%q) = %q is not trimmed", s, c)
		}
	})
}
