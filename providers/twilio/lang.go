package twilio

import "strings"

// sayLanguages are the languages Twilio's <Say> speaks, as Twilio names
// them, keyed by the lower-case BCP 47 tag.
var sayLanguages = map[string]string{}

// defaultRegion is the region said for a bare language ("de" is de-DE).
var defaultRegion = map[string]string{
	"ar": "arb", "ca": "ca-ES", "cy": "cy-GB", "da": "da-DK", "de": "de-DE", "en": "en-US",
	"es": "es-ES", "fi": "fi-FI", "fr": "fr-FR", "hi": "hi-IN", "is": "is-IS", "it": "it-IT",
	"ja": "ja-JP", "ko": "ko-KR", "nb": "nb-NO", "no": "nb-NO", "nl": "nl-NL", "pl": "pl-PL",
	"pt": "pt-BR", "ro": "ro-RO", "ru": "ru-RU", "sv": "sv-SE", "tr": "tr-TR", "zh": "cmn-CN",
}

func init() {
	for _, l := range []string{
		"arb", "ca-ES", "cmn-CN", "cy-GB", "da-DK", "de-AT", "de-DE", "en-AU", "en-CA", "en-GB",
		"en-IE", "en-IN", "en-NZ", "en-US", "en-ZA", "es-ES", "es-MX", "es-US", "fi-FI", "fr-CA",
		"fr-FR", "hi-IN", "is-IS", "it-IT", "ja-JP", "ko-KR", "nb-NO", "nl-BE", "nl-NL", "pl-PL",
		"pt-BR", "pt-PT", "ro-RO", "ru-RU", "sv-SE", "tr-TR", "yue-CN",
	} {
		sayLanguages[strings.ToLower(l)] = l
	}
	// Chinese as commonly tagged.
	sayLanguages["zh-cn"] = "cmn-CN"
	sayLanguages["zh-hk"] = "yue-CN"
}

// Language maps a session's language, a POSIX locale ("de_DE.UTF-8") or a
// BCP 47 tag ("de", "pt-PT"), to the language code Twilio's <Say> takes.
// A language it does not speak falls back to US English.
func Language(lang string) string {
	l := strings.ToLower(strings.TrimSpace(lang))
	// POSIX: language[_territory][.codeset][@modifier]
	if i := strings.IndexAny(l, ".@"); i >= 0 {
		l = l[:i]
	}
	l = strings.ReplaceAll(l, "_", "-")
	if t, ok := sayLanguages[l]; ok {
		return t
	}
	base, _, _ := strings.Cut(l, "-")
	if t, ok := defaultRegion[base]; ok {
		return t
	}
	return "en-US"
}
