package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
)

// check localizes id with count (nil for none) in the printer's language
// and reports any error.
func (p *Printer) check(id string, count any, data map[string]any) (string, error) {
	return p.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
}

// sourceDirs hold every Go file that looks a message up.
var sourceDirs = []string{"../flow", "../tui", "../cmd/sspr", "."}

// idPattern is the shape of a message ID in the code.
var idPattern = regexp.MustCompile(`^(flow|tui|sshserver)\.[a-z0-9_]+(\.[a-z0-9_]+)*$`)

// catalogues reads every embedded catalogue as raw YAML: language -> ID ->
// a string or a map of plural forms.
func catalogues(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	names, err := fs.Glob(locales, "locales/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no catalogues: %v", err)
	}
	for _, n := range names {
		data, err := locales.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out[strings.TrimSuffix(filepath.Base(n), ".yaml")] = m
	}
	return out
}

// usedIDs returns every string literal of the non-test Go files under
// sourceDirs that has the shape of a message ID, with where it is.
func usedIDs(t *testing.T) map[string]string {
	t.Helper()
	used := map[string]string{}
	for _, dir := range sourceDirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil && idPattern.MatchString(s) {
					used[s] = fset.Position(lit.Pos()).String()
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatalf("scanning %s: %v", dir, err)
		}
	}
	return used
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestEveryCatalogueHasEveryKey: each catalogue has exactly the IDs of the
// English one, and each plural message the forms its language needs.
func TestEveryCatalogueHasEveryKey(t *testing.T) {
	cats := catalogues(t)
	en, ok := cats[Default]
	if !ok {
		t.Fatal("no English catalogue")
	}
	if len(cats) < 3 {
		t.Fatalf("only %d catalogues: %v", len(cats), keys(cats))
	}
	for lang, cat := range cats {
		for _, id := range keys(en) {
			if _, ok := cat[id]; !ok {
				t.Errorf("%s.yaml lacks %s", lang, id)
			}
		}
		for _, id := range keys(cat) {
			if _, ok := en[id]; !ok {
				t.Errorf("%s.yaml has %s, which en.yaml does not", lang, id)
			}
		}
		p := For(lang)
		if p.Lang() != lang {
			t.Fatalf("For(%q) gives %q", lang, p.Lang())
		}
		for _, id := range keys(cat) {
			_, plural := cat[id].(map[string]any)
			counts := []any{nil}
			if plural {
				counts = []any{0, 1, 2, 5, 21, 1000000}
			}
			for _, n := range counts {
				if _, err := p.check(id, n, map[string]any{"Count": n}); err != nil {
					t.Errorf("%s %s (count %v): %v", lang, id, n, err)
				}
			}
		}
	}
}

var placeholder = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// forms returns the texts of a message: one, or one per plural form.
func forms(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case map[string]any:
		var out []string
		for _, k := range keys(v) {
			if s, ok := v[k].(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func placeholders(texts []string) []string {
	set := map[string]bool{}
	for _, s := range texts {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			set[m[1]] = true
		}
	}
	return keys(set)
}

// TestTranslationsKeepPlaceholdersAndAreTranslated: a translation fills
// the same placeholders as English (Count may be left out of a form that
// spells its number, as French "1er"), and no sentence is left in English.
func TestTranslationsKeepPlaceholdersAndAreTranslated(t *testing.T) {
	cats := catalogues(t)
	en := cats[Default]
	for lang, cat := range cats {
		if lang == Default {
			continue
		}
		for _, id := range keys(en) {
			want := slices.DeleteFunc(placeholders(forms(en[id])), func(s string) bool { return s == "Count" })
			got := slices.DeleteFunc(placeholders(forms(cat[id])), func(s string) bool { return s == "Count" })
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: placeholders %v, English has %v", lang, id, got, want)
			}
			enText, text := forms(en[id]), forms(cat[id])
			if len(enText) > 0 && len(text) > 0 && len(strings.Fields(enText[0])) >= 4 && slices.Contains(text, enText[0]) {
				t.Errorf("%s %s is still English: %q", lang, id, enText[0])
			}
		}
	}
}

// TestEveryKeyIsUsedAndEveryUseIsAKey: each ID of the catalogues appears
// in the code, and each ID in the code is in the catalogues.
func TestEveryKeyIsUsedAndEveryUseIsAKey(t *testing.T) {
	en := catalogues(t)[Default]
	used := usedIDs(t)
	if len(used) < 50 {
		t.Fatalf("found only %d IDs in the code: is sourceDirs right?", len(used))
	}
	for _, id := range keys(en) {
		if _, ok := used[id]; !ok {
			t.Errorf("%s is in the catalogues but no code uses it", id)
		}
	}
	for _, id := range keys(used) {
		if _, ok := en[id]; !ok {
			t.Errorf("%s (%s) is used but in no catalogue", id, used[id])
		}
	}
}

// TestMatch: locales and tags map to the languages offered; C and POSIX
// are English; anything else is not matched.
func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"de_DE.UTF-8", "de", true},
		{"de_CH.UTF-8@euro", "de", true},
		{"de-AT", "de", true},
		{"fr_FR.UTF-8", "fr", true},
		{"fr_CA", "fr", true},
		{"fr", "fr", true},
		{"en_GB.UTF-8", "en", true},
		{"en_US", "en", true},
		{"C", "en", true},
		{"C.UTF-8", "en", true},
		{"POSIX", "en", true},
		{"ja_JP.UTF-8", "", false},
		{"pt_BR", "", false},
		{"", "", false},
		{"../../etc/passwd", "", false},
		{strings.Repeat("x", 200), "", false},
	} {
		got, ok := Match(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Match(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if got := Languages(); !slices.Equal(got, []string{"en", "de", "fr"}) {
		t.Errorf("Languages() = %v", got)
	}
}

// TestChoose: the first candidate that names a language offered wins;
// English when none does.
func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"de_DE.UTF-8", "fr"}, "de"},
		{[]string{"ja_JP.UTF-8", "fr"}, "fr"},
		{[]string{"", "de"}, "de"},
		{[]string{"C.UTF-8", "de"}, "en"},
		{[]string{"ja", "pt"}, "en"},
		{nil, "en"},
	} {
		if got := Choose(tc.in...); got != tc.want {
			t.Errorf("Choose(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestEnvLocale: LC_ALL, then LC_MESSAGES, then LANG.
func TestEnvLocale(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"LANG": "de_DE.UTF-8"}, "de_DE.UTF-8"},
		{map[string]string{"LANG": "de_DE.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8"}, "fr_FR.UTF-8"},
		{map[string]string{"LANG": "de_DE.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8", "LC_ALL": "C"}, "C"},
		{map[string]string{}, ""},
	} {
		if got := EnvLocale(env(tc.env)); got != tc.want {
			t.Errorf("EnvLocale(%v) = %q, want %q", tc.env, got, tc.want)
		}
	}
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "fr_BE.UTF-8")
	if got := EnvLocale(nil); got != "fr_BE.UTF-8" {
		t.Errorf("EnvLocale(nil) = %q", got)
	}
}

// TestPrinter: placeholders, plurals and the fallback for an unknown ID.
func TestPrinter(t *testing.T) {
	de, fr, en := For("de"), For("fr_FR"), English()
	if got := de.N("flow.span.minutes", 1); got != "1 Minute" {
		t.Errorf("de 1 minute: %q", got)
	}
	if got := de.N("flow.span.minutes", 5); got != "5 Minuten" {
		t.Errorf("de 5 minutes: %q", got)
	}
	if got := fr.N("flow.date.day", 1); got != "1er" {
		t.Errorf("fr day 1: %q", got)
	}
	if got := en.T("tui.support_code", "Ref", "abcd1234"); got != "Support code: abcd1234" {
		t.Errorf("en support code: %q", got)
	}
	if got := en.T("no.such.id"); got != "no.such.id" {
		t.Errorf("unknown id: %q", got)
	}
	if For("ja") != en {
		t.Error("For(ja) is not the English printer")
	}
}
