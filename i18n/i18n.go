// Package i18n holds the message catalogues of sspr and picks a person's
// language. Every text a person sees or receives (screens, refusals, codes,
// calls, notices) is a message in locales/<lang>.yaml, looked up by its ID
// with a Printer for the session's language. English is the source language
// and the fallback; the audit log stays in English and uses no catalogue.
//
// A language is named by a BCP 47 tag ("de", "fr-CA") or a POSIX locale
// ("de_DE.UTF-8", "fr_CH@euro"); "C" and "POSIX" mean English.
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

//go:embed locales/*.yaml
var locales embed.FS

// Default is the source language and the fallback of every lookup.
const Default = "en"

// catalogue is the bundle of every embedded catalogue, read once.
var catalogue = sync.OnceValues(func() (*catalogueSet, error) {
	b := goi18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	names, err := fs.Glob(locales, "locales/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("i18n: listing catalogues: %w", err)
	}
	sort.Strings(names)
	set := &catalogueSet{bundle: b}
	for _, n := range names {
		data, err := locales.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("i18n: reading %s: %w", n, err)
		}
		mf, err := b.ParseMessageFileBytes(data, n)
		if err != nil {
			return nil, fmt.Errorf("i18n: parsing %s: %w", n, err)
		}
		set.tags = append(set.tags, mf.Tag)
		set.names = append(set.names, strings.TrimSuffix(path.Base(n), ".yaml"))
	}
	// English first: the matcher falls back to its first tag.
	for i, n := range set.names {
		if n == Default && i != 0 {
			set.names[0], set.names[i] = set.names[i], set.names[0]
			set.tags[0], set.tags[i] = set.tags[i], set.tags[0]
		}
	}
	set.matcher = language.NewMatcher(set.tags)
	return set, nil
})

type catalogueSet struct {
	bundle  *goi18n.Bundle
	tags    []language.Tag
	names   []string
	matcher language.Matcher
}

func mustCatalogue() *catalogueSet {
	c, err := catalogue()
	if err != nil {
		// The catalogues are embedded and tested: this is a broken build.
		panic(err)
	}
	return c
}

// Languages returns the languages offered, as base tags, English first.
func Languages() []string {
	return append([]string(nil), mustCatalogue().names...)
}

// Match maps a locale or tag to a language offered. ok is false when the
// locale is empty, unreadable or names a language that is not offered.
// "C" and "POSIX" (with any codeset) are English.
func Match(locale string) (lang string, ok bool) {
	tag, ok := parse(locale)
	if !ok {
		return "", false
	}
	c := mustCatalogue()
	_, i, conf := c.matcher.Match(tag)
	if conf == language.No {
		return "", false
	}
	return c.names[i], true
}

// parse reads a BCP 47 tag or a POSIX locale (language[_territory]
// [.codeset][@modifier]).
func parse(locale string) (language.Tag, bool) {
	s := strings.TrimSpace(locale)
	if i := strings.IndexAny(s, ".@"); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "":
		return language.Tag{}, false
	case "C", "POSIX":
		return language.English, true
	}
	if len(s) > 35 {
		return language.Tag{}, false
	}
	tag, err := language.Parse(strings.ReplaceAll(s, "_", "-"))
	if err != nil {
		return language.Tag{}, false
	}
	return tag, true
}

// Choose returns the first candidate that names a language offered, as its
// base tag, or English when none does. Candidates go from the strongest
// wish to the weakest: see docs/LANGUAGES.md for the order sspr uses.
func Choose(candidates ...string) string {
	for _, c := range candidates {
		if l, ok := Match(c); ok {
			return l
		}
	}
	return Default
}

// EnvLocale is the locale of messages in an environment, by the POSIX
// order: LC_ALL, then LC_MESSAGES, then LANG; "" when none is set. getenv
// is os.Getenv when nil.
func EnvLocale(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// Printer words messages in one language. It is safe for concurrent use
// and cheap to share: For returns one per language. A nil Printer words
// them in English.
type Printer struct {
	lang string
	loc  *goi18n.Localizer
	// plain caches the messages without placeholders, looked up on every
	// frame: id -> string.
	plain sync.Map
}

var printers sync.Map // lang -> *Printer

// For returns the Printer of the language locale names, or of English
// when it names none offered.
func For(locale string) *Printer {
	lang, ok := Match(locale)
	if !ok {
		lang = Default
	}
	if p, ok := printers.Load(lang); ok {
		return p.(*Printer)
	}
	p := &Printer{lang: lang, loc: goi18n.NewLocalizer(mustCatalogue().bundle, lang, Default)}
	actual, _ := printers.LoadOrStore(lang, p)
	return actual.(*Printer)
}

// English is the Printer of the source language.
func English() *Printer { return For(Default) }

// Lang returns the printer's language as a base tag ("en", "de", "fr").
// A nil Printer is English.
func (p *Printer) Lang() string {
	if p == nil {
		return Default
	}
	return p.lang
}

// T returns message id with its placeholders filled from kv, pairs of a
// name and a value: T("flow.code_text", "Code", c, "TTL", ttl).
func (p *Printer) T(id string, kv ...any) string {
	return p.localize(id, nil, kv)
}

// N returns the plural message id for count, which fills {{.Count}}; kv
// fills the other placeholders as in T.
func (p *Printer) N(id string, count int, kv ...any) string {
	return p.localize(id, count, kv)
}

func (p *Printer) localize(id string, count any, kv []any) string {
	if p == nil {
		p = English()
	}
	cacheable := count == nil && len(kv) == 0
	if cacheable {
		if s, ok := p.plain.Load(id); ok {
			return s.(string)
		}
	}
	data := make(map[string]any, len(kv)/2+1)
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			data[k] = kv[i+1]
		}
	}
	if count != nil {
		data["Count"] = count
	}
	s, err := p.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if err != nil && s == "" {
		// A missing message is a bug the catalogue tests catch; say
		// something rather than nothing.
		return id
	}
	if cacheable && err == nil {
		p.plain.Store(id, s)
	}
	return s
}
