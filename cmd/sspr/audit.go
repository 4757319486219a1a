package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/sspr-project/sspr/flow"
)

// auditOptions are the flags of `sspr audit`.
type auditOptions struct {
	file    string // --file; audit.path when not set
	fileSet bool   // --file was given
	sid     string
	login   string
	result  string
	since   string
	json    bool
}

// auditView is `sspr audit`: a readable, filterable view of the audit
// trail. Whatever the file holds, nothing reaches the terminal unescaped:
// the file is written by sspr, but whoever can write to it could plant
// escape sequences in it.
func auditView(cfg *Config, o auditOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	file := o.file
	if !o.fileSet {
		file = cfg.Audit.Path
	}
	f := auditFilter{sid: o.sid, login: o.login, result: o.result}
	if o.since != "" {
		t, err := parseSince(o.since, time.Now())
		if err != nil {
			return usageError{fmt.Errorf("--since: %w", err)}
		}
		f.since = t
	}
	f.sid = strings.ToLower(strings.TrimSpace(f.sid))
	f.login = normLogin(f.login)
	f.result = strings.ToLower(strings.TrimSpace(f.result))

	var in io.Reader
	switch {
	case file == "-" && !o.fileSet:
		return errors.New(`audit: audit.path is "-" (standard error): name the file with --file`)
	case file == "-":
		in = stdin
	default:
		fh, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		defer fh.Close()
		in = fh
	}

	out := bufio.NewWriter(stdout)
	var p auditPrinter
	if o.json {
		p = jsonPrinter{}
	} else {
		p = &tablePrinter{}
	}
	st, err := scanAudit(in, f, p, out)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if st.malformed > 0 {
		fmt.Fprintf(stderr, "sspr audit: %d malformed %s skipped (%s)\n",
			st.malformed, plural(st.malformed, "line", "lines"), lineList(st.malformedAt, st.malformed))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// lineList names the first malformed lines: "line 3" or "lines 3, 9, ...".
func lineList(at []int, total int) string {
	s := make([]string, len(at))
	for i, n := range at {
		s[i] = strconv.Itoa(n)
	}
	list := strings.Join(s, ", ")
	if total > len(at) {
		list += ", ..."
	}
	return plural(total, "line ", "lines ") + list
}

// parseSince reads a duration back from now (90m, 2h, 7d) or a time
// (RFC 3339, or a date at 00:00 UTC).
func parseSince(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && n <= 36500 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: a duration back from now is positive", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (90m, 2h, 7d) nor a time (2026-01-02, 2026-01-02T15:04:05Z)", s)
}

// auditFilter keeps the events asked for; empty fields keep everything.
type auditFilter struct {
	sid    string // prefix, lower case
	login  string // normalised
	result string // lower case
	since  time.Time
}

// normLogin is flow's canonical login, so --login finds every spelling
// that reaches the same account.
func normLogin(s string) string { return flow.CanonicalLogin(s) }

func (f auditFilter) keep(ev *auditEvent) bool {
	switch {
	case f.sid != "" && !strings.HasPrefix(strings.ToLower(ev.str("sid")), f.sid) && !strings.HasPrefix(strings.ToLower(ev.str("ref")), f.sid):
		return false
	case f.login != "" && normLogin(ev.str("login")) != f.login:
		return false
	case f.result != "" && strings.ToLower(ev.result()) != f.result:
		return false
	case !f.since.IsZero() && ev.time.Before(f.since):
		return false
	}
	return true
}

// auditEvent is one line of the audit trail, parsed.
type auditEvent struct {
	time   time.Time
	fields map[string]any
	line   []byte // the line as read, valid JSON
}

func (ev *auditEvent) str(key string) string {
	switch v := ev.fields[key].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// result is the event's result, or the level of a record without one
// (an error the engine logged).
func (ev *auditEvent) result() string {
	if r := ev.str("result"); r != "" {
		return r
	}
	if l := ev.str("level"); l != "" && l != "INFO" {
		return strings.ToLower(l)
	}
	return ""
}

// maxAuditLine bounds one line; a longer one is counted as malformed.
const maxAuditLine = 1 << 20

type auditStats struct {
	malformed   int
	malformedAt []int // the first few line numbers
}

func (st *auditStats) bad(line int) {
	st.malformed++
	if len(st.malformedAt) < 10 {
		st.malformedAt = append(st.malformedAt, line)
	}
}

// scanAudit reads the trail line by line and prints the events f keeps.
func scanAudit(in io.Reader, f auditFilter, p auditPrinter, out io.Writer) (auditStats, error) {
	var st auditStats
	r := bufio.NewReaderSize(in, 64<<10)
	if err := p.start(out); err != nil {
		return st, err
	}
	for n := 1; ; n++ {
		line, tooLong, err := readLine(r)
		if len(bytes.TrimSpace(line)) > 0 || tooLong {
			ev, ok := parseAuditLine(line)
			switch {
			case tooLong || !ok:
				st.bad(n)
			case f.keep(ev):
				if perr := p.print(out, ev); perr != nil {
					return st, perr
				}
			}
		}
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return st, err
		}
	}
}

// readLine returns the next line without its end; a line longer than
// maxAuditLine is read through and reported as too long.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > maxAuditLine {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), tooLong, err
	}
}

// parseAuditLine reads one JSON object with a time; anything else is
// malformed.
func parseAuditLine(line []byte) (*auditEvent, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // more than one value on the line
	}
	ts, _ := fields["time"].(string)
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, false
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, line); err != nil {
		return nil, false
	}
	return &auditEvent{time: t.UTC(), fields: fields, line: compact.Bytes()}, true
}

// auditPrinter prints the events kept.
type auditPrinter interface {
	start(w io.Writer) error
	print(w io.Writer, ev *auditEvent) error
}

// tablePrinter prints one line per event in aligned columns. A value
// wider than its column pushes the rest of its line only.
type tablePrinter struct{}

var auditColumns = []struct {
	title string
	width int
}{
	{"TIME (UTC)", 19}, {"REF", 8}, {"REMOTE", 21}, {"LOGIN", 16}, {"STEP", 14},
	{"METHOD", 12}, {"RESULT", 8}, {"REASON", 0},
}

// Fields shown in their own columns, or not at all (level, msg, channel:
// the step, the result and the remote say it).
var auditKnown = []string{"time", "level", "msg", "sid", "ref", "remote", "channel", "login", "step", "method", "result", "reason"}

func (tablePrinter) start(w io.Writer) error {
	titles := make([]string, len(auditColumns))
	for i, c := range auditColumns {
		titles[i] = c.title
	}
	return writeRow(w, titles)
}

func (tablePrinter) print(w io.Writer, ev *auditEvent) error {
	ref := ev.str("ref")
	if ref == "" {
		ref = ev.str("sid")
		if len(ref) > 8 {
			ref = ref[:8]
		}
	}
	step := ev.str("step")
	if step == "" {
		step = ev.str("msg")
	}
	// The reason, then every other field as key=value, so nothing the
	// line holds is hidden.
	reason := []string{escapeField(ev.str("reason"))}
	var extra []string
	for k := range ev.fields {
		if !slices.Contains(auditKnown, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		v := escapeField(ev.str(k))
		if v == "" || strings.ContainsAny(v, " \"=") {
			v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
		}
		reason = append(reason, escapeField(k)+"="+v)
	}
	return writeRow(w, []string{
		ev.time.Format("2006-01-02 15:04:05"),
		escapeField(ref),
		escapeField(ev.str("remote")),
		escapeField(ev.str("login")),
		escapeField(step),
		escapeField(ev.str("method")),
		escapeField(ev.result()),
		strings.TrimSpace(strings.Join(reason, " ")),
	})
}

// writeRow writes cells, already escaped, padded to their columns; an
// empty cell shows as "-".
func writeRow(w io.Writer, cells []string) error {
	var b strings.Builder
	for i, c := range cells {
		if c == "" {
			c = "-"
		}
		b.WriteString(c)
		if width := auditColumns[i].width; width > 0 {
			b.WriteString(strings.Repeat(" ", max(width-ansi.StringWidth(c), 0)+2))
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, strings.TrimRight(b.String(), " \n")+"\n")
	return err
}

// jsonPrinter prints each event's line as read, compacted, with every
// character a terminal could act on escaped.
type jsonPrinter struct{}

func (jsonPrinter) start(io.Writer) error { return nil }

func (jsonPrinter) print(w io.Writer, ev *auditEvent) error {
	_, err := io.WriteString(w, escapeJSON(ev.line)+"\n")
	return err
}

// unsafeRune reports whether r may not be shown as itself. It is decided
// by Unicode properties, not by a list: whatever is not printable
// (controls, format characters, line and paragraph separators, private-use,
// surrogate and unassigned code points), bidirectional controls, white
// space other than the plain space, and every default-ignorable code point
// (Other_Default_Ignorable_Code_Point, Variation_Selector and Cf: zero-width
// characters, the soft hyphen, tag characters, the Hangul fillers, the
// Khmer inherent vowels, variation selectors). The blank braille pattern
// U+2800 is the one printable symbol that draws nothing and has no property
// of its own.
func unsafeRune(r rune) bool {
	if r == ' ' {
		return false
	}
	return r < 0x20 || r == 0x7f || !unicode.IsPrint(r) || r == '\u2800' ||
		unicode.In(r, unicode.Bidi_Control, unicode.White_Space, unicode.Zs, unicode.Cf,
			unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// bareMark reports whether r is a combining mark with nothing of its own
// to sit on: at the start of a field, after a space, punctuation or an
// escape (prev < 0). Shown raw it would draw over the column padding or
// the character before, or nothing at all.
func bareMark(prev, r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me) && (prev < 0 || !unicode.In(prev, unicode.L, unicode.N, unicode.M, unicode.S))
}

// escapeField shows s with every unsafe character, every bare combining
// mark and every invalid byte escaped (\x1b, \u202e, \xff); a backslash
// shows as \\, so the escapes cannot be faked.
func escapeField(s string) string {
	var b strings.Builder
	prev := rune(-1) // the last rune shown as itself; -1 after an escape
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		raw := false
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case (unsafeRune(r) || bareMark(prev, r)) && r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		case unsafeRune(r) || bareMark(prev, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
			raw = true
		}
		prev = -1
		if raw {
			prev = r
		}
		i += size
	}
	return b.String()
}

// escapeJSON rewrites compact JSON so that it holds printable ASCII and
// printable Unicode only: unsafe characters inside strings become \u
// escapes (the same JSON value), invalid bytes become \ufffd. Compact
// JSON has no raw control characters outside strings.
func escapeJSON(js []byte) string {
	var b strings.Builder
	prev := rune(-1)
	for i := 0; i < len(js); {
		r, size := utf8.DecodeRune(js[i:])
		unsafe := unsafeRune(r) || bareMark(prev, r)
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\ufffd`)
		case unsafe && r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		case unsafe:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		prev = -1
		if !unsafe && !(r == utf8.RuneError && size <= 1) {
			prev = r
		}
		i += size
	}
	return b.String()
}
