package main

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	files   []string // --file, each a path, a glob or "-"; audit.path when none
	fileSet bool     // --file was given
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

	names := []string{cfg.Audit.Path}
	if o.fileSet {
		var err error
		if names, err = auditFiles(o.files); err != nil {
			return err
		}
	} else if cfg.Audit.Path == "-" {
		return errors.New(`audit: audit.path is "-" (standard error): name the file with --file`)
	}
	srcs, err := openAuditSources(names, stdin)
	defer func() {
		for _, s := range srcs {
			if s.close != nil {
				s.close()
			}
		}
	}()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}

	out := bufio.NewWriter(stdout)
	var p auditPrinter
	switch {
	case o.json:
		p = jsonPrinter{}
	case len(srcs) > 1:
		p = &tablePrinter{fileWidth: fileColumnWidth(srcs)}
	default:
		p = &tablePrinter{}
	}
	err = mergeAudit(srcs, f, p, out)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	for _, s := range srcs {
		if s.st.malformed == 0 {
			continue
		}
		from := ""
		if len(srcs) > 1 {
			from = escapeField(s.name) + ": "
		}
		fmt.Fprintf(stderr, "sspr audit: %s%d malformed %s skipped (%s)\n", from,
			s.st.malformed, plural(s.st.malformed, "line", "lines"), lineList(s.st.malformedAt, s.st.malformed))
	}
	return nil
}

// auditFiles expands the --file values: a name that exists is read as
// it is, one with glob characters is expanded (a glob that matches
// nothing is an error), "-" is standard input, once. A file named twice
// is read once.
func auditFiles(args []string) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if n != "-" {
			n = filepath.Clean(n)
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	stdin := false
	for _, a := range args {
		switch {
		case a == "-":
			if stdin {
				return nil, usageError{errors.New(`--file -: standard input can be read once only`)}
			}
			stdin = true
			add(a)
		case !hasGlobMeta(a):
			add(a)
		default:
			if _, err := os.Lstat(a); err == nil {
				add(a) // a file whose name holds * or [
				continue
			}
			matches, err := filepath.Glob(a)
			if err != nil {
				return nil, usageError{fmt.Errorf("--file %q: %w", a, err)}
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("audit: --file %q: no file matches", a)
			}
			for _, m := range matches {
				add(m)
			}
		}
	}
	return names, nil
}

func hasGlobMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// auditSource is one file of the trail: read line by line through its own
// buffer, never whole, with its own count of malformed lines.
type auditSource struct {
	name  string // as named (a glob expanded), "-" for standard input
	label string // name without the directory all the files share
	index int    // in the order named: the tie-break between equal times
	r     *bufio.Reader
	close func() error
	line  int         // number of the last line read
	next  *auditEvent // the next event the filter keeps; nil at the end
	done  bool
	st    auditStats
}

// openAuditSources opens every file before anything is printed, so a
// missing one stops the view with its name and nothing else.
func openAuditSources(names []string, stdin io.Reader) ([]*auditSource, error) {
	labels := fileLabels(names)
	var srcs []*auditSource
	for i, n := range names {
		s := &auditSource{name: n, label: labels[i], index: i}
		if n == "-" {
			s.r = bufio.NewReaderSize(stdin, 64<<10)
		} else {
			fh, err := os.Open(n)
			if err != nil {
				return srcs, err
			}
			s.r, s.close = bufio.NewReaderSize(fh, 64<<10), fh.Close
		}
		srcs = append(srcs, s)
	}
	return srcs, nil
}

// fileLabels are the names without the directory they all share:
// a/audit.log and b/audit.log from /var/log/hosts/a/audit.log and
// /var/log/hosts/b/audit.log.
func fileLabels(names []string) []string {
	sep := string(filepath.Separator)
	var common []string
	first := true
	for _, n := range names {
		if n == "-" {
			continue
		}
		d := strings.Split(filepath.Dir(n), sep)
		if first {
			common, first = d, false
			continue
		}
		i := 0
		for i < len(common) && i < len(d) && common[i] == d[i] {
			i++
		}
		common = common[:i]
	}
	labels := make([]string, len(names))
	for i, n := range names {
		labels[i] = n
		if len(common) > 0 && n != "-" {
			labels[i] = strings.TrimPrefix(n, strings.Join(common, sep)+sep)
		}
	}
	return labels
}

// advance reads on to the next event f keeps, counting malformed lines.
func (s *auditSource) advance(f auditFilter) error {
	s.next = nil
	for !s.done {
		s.line++
		line, tooLong, err := readLine(s.r)
		if len(bytes.TrimSpace(line)) > 0 || tooLong {
			ev, ok := parseAuditLine(line)
			switch {
			case tooLong || !ok:
				s.st.bad(s.line)
			case f.keep(ev):
				s.next = ev
			}
		}
		if err != nil {
			s.done = true
			if err != io.EOF {
				return err
			}
		}
		if s.next != nil {
			return nil
		}
	}
	return nil
}

// auditHeap orders the sources by the time of their next event, then by
// the order they were named.
type auditHeap []*auditSource

func (h auditHeap) Len() int { return len(h) }
func (h auditHeap) Less(i, j int) bool {
	a, b := h[i].next, h[j].next
	if !a.time.Equal(b.time) {
		return a.time.Before(b.time)
	}
	return h[i].index < h[j].index
}
func (h auditHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *auditHeap) Push(x any)   { *h = append(*h, x.(*auditSource)) }
func (h *auditHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}

// mergeAudit prints the events f keeps from every source, oldest first:
// a k-way merge that holds one event per file. Each file is taken to be
// in time order already; a line earlier than the one before it in its
// file is printed where it is reached, not moved back.
func mergeAudit(srcs []*auditSource, f auditFilter, p auditPrinter, out io.Writer) error {
	if err := p.start(out); err != nil {
		return err
	}
	h := make(auditHeap, 0, len(srcs))
	for _, s := range srcs {
		if err := s.advance(f); err != nil {
			return err
		}
		if s.next != nil {
			h = append(h, s)
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		s := h[0]
		ev := s.next
		if len(srcs) > 1 {
			ev.file, ev.fileLabel = s.name, s.label
		}
		if err := p.print(out, ev); err != nil {
			return err
		}
		if err := s.advance(f); err != nil {
			return err
		}
		if s.next == nil {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
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

	// Set when several files are merged: the file the line came from.
	file      string // as named
	fileLabel string // without the directory all the files share
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
type tablePrinter struct {
	fileWidth int // the FILE column's, after the time; none when 0
}

// maxFileWidth bounds the FILE column; a longer name pushes its line.
const maxFileWidth = 24

// fileColumnWidth fits the FILE column to the labels, within bounds.
func fileColumnWidth(srcs []*auditSource) int {
	w := len("FILE")
	for _, s := range srcs {
		w = max(w, ansi.StringWidth(escapeField(s.label)))
	}
	return min(w, maxFileWidth)
}

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

// widths are the columns' widths, with FILE when there is one.
func (p tablePrinter) widths() []int {
	ws := make([]int, 0, len(auditColumns)+1)
	for i, c := range auditColumns {
		ws = append(ws, c.width)
		if i == 0 && p.fileWidth > 0 {
			ws = append(ws, p.fileWidth)
		}
	}
	return ws
}

func (p tablePrinter) withFile(cells []string, file string) []string {
	if p.fileWidth == 0 {
		return cells
	}
	return slices.Insert(cells, 1, file)
}

func (p tablePrinter) start(w io.Writer) error {
	titles := make([]string, len(auditColumns))
	for i, c := range auditColumns {
		titles[i] = c.title
	}
	return writeRow(w, p.withFile(titles, "FILE"), p.widths())
}

func (p tablePrinter) print(w io.Writer, ev *auditEvent) error {
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
	return writeRow(w, p.withFile([]string{
		ev.time.Format("2006-01-02 15:04:05"),
		escapeField(ref),
		escapeField(ev.str("remote")),
		escapeField(ev.str("login")),
		escapeField(step),
		escapeField(ev.str("method")),
		escapeField(ev.result()),
		strings.TrimSpace(strings.Join(reason, " ")),
	}, escapeField(ev.fileLabel)), p.widths())
}

// writeRow writes cells, already escaped, padded to their widths (0: the
// last column, not padded); an empty cell shows as "-".
func writeRow(w io.Writer, cells []string, widths []int) error {
	var b strings.Builder
	for i, c := range cells {
		if c == "" {
			c = "-"
		}
		b.WriteString(c)
		if width := widths[i]; width > 0 {
			b.WriteString(strings.Repeat(" ", max(width-ansi.StringWidth(c), 0)+2))
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, strings.TrimRight(b.String(), " \n")+"\n")
	return err
}

// jsonPrinter prints each event's line as read, compacted, with every
// character a terminal could act on escaped. When several files are
// merged, "audit_file" names the line's file; it is added last, so it
// wins over a key of the same name planted in the line (decoders keep the
// last of duplicate keys).
type jsonPrinter struct{}

func (jsonPrinter) start(io.Writer) error { return nil }

func (jsonPrinter) print(w io.Writer, ev *auditEvent) error {
	line := ev.line
	if ev.file != "" {
		name, err := json.Marshal(ev.file)
		if err != nil {
			return err
		}
		// A compact JSON object with at least a time: it ends in "}".
		line = slices.Concat(line[:len(line)-1], []byte(`,"audit_file":`), name, []byte("}"))
	}
	_, err := io.WriteString(w, escapeJSON(line)+"\n")
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
