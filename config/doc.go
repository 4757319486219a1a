package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Row is one key of the reference: its path, its default and what it
// means, with its range.
type Row struct {
	Key, Default, Meaning string
}

// Reference lists every key of the settings in v (a pointer to a struct
// holding the defaults), in the order of the structs: the doc tag says
// what a key means, the range tag what it allows, the default tag
// overrides the shown default (for defaults derived at load, such as
// paths under data_dir). Blocks that are off by default (nil pointers)
// are listed with their own defaults (SetDefaults).
func Reference(v any) []Row {
	return reference(reflect.ValueOf(v).Elem(), "")
}

func reference(v reflect.Value, path string) []Row {
	var rows []Row
	for _, f := range fields(v.Type()) {
		fv := v.FieldByIndex(f.index)
		p := join(path, f.key)
		switch {
		case f.typ.Kind() == reflect.Pointer && isBlock(f.typ.Elem()):
			if fv.IsNil() {
				fv = reflect.New(f.typ.Elem())
				if sd, ok := fv.Interface().(interface{ SetDefaults() }); ok {
					sd.SetDefaults()
				}
			}
			rows = append(rows, reference(fv.Elem(), p)...)
			continue
		case isBlock(f.typ):
			rows = append(rows, reference(fv, p)...)
			continue
		}
		key := "`" + p + "`"
		if f.typ == secretType {
			key = fmt.Sprintf("`%s`, `%s_file`, `%s_env`", p, f.key, f.key)
		}
		def := f.def
		if def != "" && !strings.ContainsAny(def, " ") {
			def = "`" + def + "`"
		}
		if def == "" {
			def = showDefault(fv)
		}
		meaning := f.doc
		if f.rng != "" {
			meaning += " (" + RangeWords(f.rng) + ")"
		}
		rows = append(rows, Row{Key: key, Default: def, Meaning: meaning})
	}
	return rows
}

// showDefault writes a default value for the reference.
func showDefault(v reflect.Value) string {
	if v.Type() == secretType || v.IsZero() && v.Kind() != reflect.Bool && v.Kind() != reflect.Int && v.Type() != durationType {
		return "none"
	}
	return "`" + showValue(v) + "`"
}

func showValue(v reflect.Value) string {
	if v.Type() == durationType {
		return FormatDuration(time.Duration(v.Int()))
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		if err == nil {
			return string(b)
		}
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	if v.Kind() == reflect.Slice {
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = showValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// Markdown is the reference as a Markdown table.
func Markdown(rows []Row) string {
	var b strings.Builder
	b.WriteString("| key | default | meaning |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.Key, r.Default, strings.ReplaceAll(r.Meaning, "|", `\|`))
	}
	return b.String()
}
