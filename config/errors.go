// Package config is how sspr reads its settings: each package that owns
// settings defines a struct with yaml tags, its defaults and a Validate;
// this package decodes one YAML file over those defaults, refuses unknown
// keys (with "did you mean"), checks the ranges written next to each field
// (`range:"1s..1h"`), reads secrets (Secret), and collects every error
// with the dotted key path of its field. It also writes the reference
// table of docs/CONFIG.md from the same tags (Markdown).
package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is one wrong setting.
type Error struct {
	// Path is the dotted key path, such as directory.ldap.connect_timeout
	// or limits.sends_per_account[1]; empty for the file as a whole.
	Path string
	// Line is the line of the key in the file, 0 when unknown.
	Line int
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every wrong setting found, in the order of the file.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Add records a wrong setting at path.
func (es *Errors) Add(path, format string, args ...any) {
	*es = append(*es, &Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Err is nil when es is empty, else es.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Under returns err's errors with prefix put before their paths: what a
// package's Validate reports relative to its own block becomes a full
// key path. A plain error becomes one Error at prefix.
func Under(prefix string, err error) Errors {
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		var one *Error
		if errors.As(err, &one) {
			es = Errors{one}
		} else {
			return Errors{{Path: prefix, Msg: err.Error()}}
		}
	}
	out := make(Errors, 0, len(es))
	for _, e := range es {
		c := *e
		c.Path = join(prefix, e.Path)
		out = append(out, &c)
	}
	return out
}

// join makes a dotted path; an index ("[2]") is appended without a dot.
func join(prefix, key string) string {
	switch {
	case prefix == "":
		return key
	case key == "":
		return prefix
	case strings.HasPrefix(key, "["):
		return prefix + key
	}
	return prefix + "." + key
}

// sortByLine orders errors by their line, those without one last, keeping
// the order among equals.
func sortByLine(es Errors) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Line, es[j].Line
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
}
