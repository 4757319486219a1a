package flow

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/frequency"
	"github.com/trustelem/zxcvbn/match"
)

// strengthCap is how many characters of a password the strength estimate
// looks at. zxcvbn's matching grows faster than the square of the length
// (in lower case, about 0.25 ms at 20 characters, 0.8 ms at 32, 5 ms at 64,
// and several times that for strings full of look-alike characters), and it
// runs on every key press. The start of a long password is what gets scored;
// since a longer password is never easier to guess than its start, this
// errs on the safe side.
const strengthCap = 32

// strength is zxcvbn's estimate for a password: a score from 0 (too
// guessable) to 4 (very unguessable) and, for a weak one, the pattern that
// makes it guessable, as the ID of its words in the catalogues.
type strength struct {
	score  int
	reason string
}

// estimate scores pw with the person's own data as extra dictionary words.
// zxcvbn is given the password in lower case: its dictionary matching then
// allocates nothing for case and takes about a third less time, and the
// score can only come out the same or lower (capitals add a few guesses per
// word at most), so the estimate stays on the safe side.
func estimate(pw string, who Person) strength {
	if pw == "" || !utf8.ValidString(pw) {
		return strength{}
	}
	r := zxcvbn.PasswordStrength(strings.ToLower(capped(pw)), who.words())
	st := strength{score: r.Score}
	if r.Score < 4 {
		st.reason = weakness(r.Sequence, who)
	}
	return st
}

// weakness names the longest guessable pattern of a match sequence, the
// way zxcvbn's own feedback picks what to say, as a message ID.
func weakness(seq []*match.Match, who Person) string {
	var worst *match.Match
	for _, m := range seq {
		if m.Pattern == "bruteforce" {
			continue
		}
		if worst == nil || utf8.RuneCountInString(m.Token) > utf8.RuneCountInString(worst.Token) {
			worst = m
		}
	}
	if worst == nil {
		return "flow.weak.more_words"
	}
	switch worst.Pattern {
	case "dictionary":
		// A name may be found in zxcvbn's lists before the person's data.
		token := fold(worst.Token)
		mine := slices.ContainsFunc(who.words(), func(w string) bool {
			f := fold(w)
			return len(f) == len(token) && sameAt(f, 0, token)
		})
		switch {
		case worst.DictionaryName == "user_inputs" || mine:
			return "flow.weak.name"
		case worst.Reversed:
			return "flow.weak.reversed"
		case worst.DictionaryName == "passwords":
			return "flow.weak.password"
		case strings.HasSuffix(worst.DictionaryName, "names"):
			return "flow.weak.names"
		}
		return "flow.weak.words"
	case "spatial":
		return "flow.weak.keyboard"
	case "repeat":
		return "flow.weak.repeat"
	case "sequence":
		return "flow.weak.sequence"
	case "regex", "date":
		return "flow.weak.date"
	}
	return "flow.weak.more_words"
}

// words is the person's data as zxcvbn's user inputs.
func (who Person) words() []string {
	var out []string
	for _, s := range []string{who.Login, who.Email, who.DisplayName} {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		out = append(out, s)
		if at := strings.LastIndexByte(s, '@'); at > 0 {
			out = append(out, s[:at])
		}
		out = append(out, nameParts(s)...)
	}
	return out
}

// nameParts splits a name, a login or an address into its words of three
// letters or more: "Mary-Jane O'Neil" gives mary, jane, neil.
func nameParts(s string) []string {
	if at := strings.LastIndexByte(s, '@'); at > 0 {
		s = s[:at]
	}
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if utf8.RuneCountInString(f) >= 3 && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// lookAlike is the letter a look-alike character stands for, so that
// "@l1c3" reads as "alice". 1 and | stand for i or l; fold leaves them as
// they are and sameRune lets them match either.
var lookAlike = map[rune]rune{
	'0': 'o', '3': 'e', '4': 'a', '@': 'a', '5': 's', '$': 's', '7': 't', '+': 't', '!': 'i',
}

// fold lower-cases s and reads its look-alike characters, rune for rune.
func fold(s string) []rune {
	out := []rune(s)
	for i, r := range out {
		r = unicode.ToLower(r)
		if l, ok := lookAlike[r]; ok {
			r = l
		}
		out[i] = r
	}
	return out
}

// sameRune compares two folded runes, 1 and | matching i and l.
func sameRune(a, b rune) bool {
	one := func(r rune) bool { return r == '1' || r == '|' }
	il := func(r rune) bool { return r == 'i' || r == 'l' || one(r) }
	return a == b || one(a) && il(b) || one(b) && il(a)
}

// sameAt reports whether pattern p occurs in f at i.
func sameAt(f []rune, i int, p []rune) bool {
	if i+len(p) > len(f) {
		return false
	}
	for j, r := range p {
		if !sameRune(f[i+j], r) {
			return false
		}
	}
	return true
}

// personal reports whether pw is made of the person's own data: it holds
// the login or the local part of an email address anywhere, or name parts
// (of three letters or more) make up half or more of its letters, a
// look-alike character that is part of a name counting as a letter.
// Case and look-alike characters do not matter.
func personal(pw string, who Person) bool {
	f := fold(pw)
	for _, s := range []string{who.Login, who.Email} {
		s = strings.TrimSpace(s)
		if at := strings.LastIndexByte(s, '@'); at > 0 {
			s = s[:at]
		}
		if utf8.RuneCountInString(s) < 3 {
			continue
		}
		w := fold(s)
		for i := range f {
			if sameAt(f, i, w) {
				return true
			}
		}
	}
	covered := make([]bool, len(f))
	for _, s := range []string{who.Login, who.Email, who.DisplayName} {
		for _, part := range nameParts(s) {
			p := fold(part)
			for i := range f {
				if sameAt(f, i, p) {
					for j := range p {
						covered[i+j] = true
					}
				}
			}
		}
	}
	var letters, mine int
	for i, r := range []rune(pw) {
		if covered[i] {
			mine++
		}
		if covered[i] || unicode.IsLetter(r) {
			letters++
		}
	}
	return letters > 0 && 2*mine >= letters
}

// commonWords is zxcvbn's frequency lists (common passwords, English words,
// names, words from films and TV), lower case and sorted, built on first use.
var commonWords = sync.OnceValue(func() []string {
	var all []string
	for _, l := range frequency.FrequencyLists {
		all = append(all, l...)
	}
	for i, w := range all {
		all[i] = strings.ToLower(w)
	}
	slices.Sort(all)
	return slices.Compact(all)
})

// unLeet reads look-alike characters as the letters they stand for; "1" is
// read as i or as l, hence two readings.
var (
	unLeetI = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s")
	unLeetL = strings.NewReplacer("0", "o", "1", "l", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s")
)

// common reports whether pw is one of zxcvbn's common passwords or a single
// common word or name, ignoring case, look-alike characters and a leading
// or trailing run of digits and symbols ("Password123!", "!!Dr4gon2026").
func common(pw string) bool {
	words := commonWords()
	notLetter := func(r rune) bool { return !unicode.IsLetter(r) }
	notAlnum := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
	lower := strings.ToLower(pw)
	for _, s := range []string{lower, unLeetI.Replace(lower), unLeetL.Replace(lower)} {
		for _, c := range []string{
			s,
			strings.TrimFunc(s, notAlnum),
			strings.TrimFunc(s, notLetter),
			strings.TrimRightFunc(s, notLetter),
			strings.TrimLeftFunc(s, notLetter),
		} {
			for _, w := range []string{c, unLeetI.Replace(c), unLeetL.Replace(c)} {
				if _, found := slices.BinarySearch(words, w); found && w != "" {
					return true
				}
			}
		}
	}
	return false
}
