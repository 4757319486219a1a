package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Validator is a block of settings with rules beyond the ranges of its
// fields. Its errors name paths relative to the block (Errors, or an
// *Error); a plain error is reported at the block's own path.
type Validator interface {
	Validate() error
}

// Check walks the settings in v (a pointer to a struct), children before
// their parents: it reads every Secret, checks every field's `range` tag,
// and calls the Validate of every block, collecting every error with its
// full key path.
func Check(v any) error {
	es := check(reflect.ValueOf(v).Elem(), "", nil)
	return es.Err()
}

func check(v reflect.Value, path string, lines map[string]int) Errors {
	var es Errors
	for _, f := range fields(v.Type()) {
		fv := v.FieldByIndex(f.index)
		p := join(path, f.key)
		switch {
		case f.typ == secretType:
			if err := fv.Addr().Interface().(*Secret).Resolve(f.key); err != nil {
				es = append(es, &Error{Path: p, Msg: err.Error()})
			}
		case f.typ.Kind() == reflect.Pointer && isBlock(f.typ.Elem()):
			if !fv.IsNil() {
				es = append(es, check(fv.Elem(), p, lines)...)
			}
		case isBlock(f.typ):
			es = append(es, check(fv, p, lines)...)
		case f.typ.Kind() == reflect.Slice && isBlock(f.typ.Elem()):
			for i := range fv.Len() {
				es = append(es, check(fv.Index(i), fmt.Sprintf("%s[%d]", p, i), lines)...)
			}
		}
		if f.rng != "" {
			if msg := outOfRange(fv, f.rng); msg != "" {
				es = append(es, &Error{Path: p, Msg: msg})
			}
		}
	}
	if val, ok := v.Addr().Interface().(Validator); ok {
		es = append(es, Under(path, val.Validate())...)
	}
	for _, e := range es {
		if e.Line == 0 {
			e.Line = lineOf(lines, e.Path)
		}
	}
	return es
}

// lineOf finds the line of path, or of its closest parent that the file
// gave.
func lineOf(lines map[string]int, path string) int {
	for p := path; p != ""; {
		if l, ok := lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// outOfRange checks v against a range tag "lo..hi" (either side may be
// left out), or "0|lo..hi" where zero is allowed besides the range (zero
// then means a default), and says what is allowed when it is outside.
func outOfRange(v reflect.Value, rng string) string {
	if r, zeroOK := strings.CutPrefix(rng, "0|"); zeroOK {
		if v.IsZero() {
			return ""
		}
		if msg := outOfRange(v, r); msg != "" {
			return strings.Replace(msg, "("+RangeWords(r)+")", "("+RangeWords(rng)+")", 1)
		}
		return ""
	}
	lo, hi, ok := strings.Cut(rng, "..")
	if !ok {
		panic("config: range tag " + rng + " has no ..")
	}
	switch {
	case v.Type() == durationType:
		d := time.Duration(v.Int())
		if (lo != "" && d < mustDuration(lo)) || (hi != "" && d > mustDuration(hi)) {
			return fmt.Sprintf("%s is not allowed (%s)", FormatDuration(d), RangeWords(rng))
		}
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		n := v.Int()
		if (lo != "" && n < mustInt(lo)) || (hi != "" && n > mustInt(hi)) {
			return fmt.Sprintf("%d is not allowed (%s)", n, RangeWords(rng))
		}
	case v.Kind() == reflect.Slice:
		n := int64(v.Len())
		if (lo != "" && n < mustInt(lo)) || (hi != "" && n > mustInt(hi)) {
			return fmt.Sprintf("%d entries are not allowed (%s entries)", n, RangeWords(rng))
		}
	default:
		panic("config: range tag on a " + v.Type().String())
	}
	return ""
}

// RangeWords says a range tag in words: "1s to 1h", "at least 14",
// "0, or 1s to 30s".
func RangeWords(rng string) string {
	if r, zeroOK := strings.CutPrefix(rng, "0|"); zeroOK {
		return "0, or " + RangeWords(r)
	}
	lo, hi, _ := strings.Cut(rng, "..")
	switch {
	case lo != "" && hi != "":
		return lo + " to " + hi
	case lo != "":
		return "at least " + lo
	case hi != "":
		return "at most " + hi
	}
	return "any"
}

func mustDuration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic("config: range bound " + s + ": " + err.Error())
	}
	return d
}

func mustInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic("config: range bound " + s + ": " + err.Error())
	}
	return n
}

// FormatDuration writes d the way a person would type it: 1m, 24h, 1m30s,
// 250ms.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
