package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/agnivade/levenshtein"
	"go.yaml.in/yaml/v3"
)

// Load decodes the YAML document data over dst, a pointer to a struct
// that already holds the defaults, then checks the result (Check). A key
// the file gives replaces the default, an explicit zero included; a key it
// leaves out keeps it. Every problem found is returned, as Errors ordered
// by line: unknown keys (with the closest known one), values of the wrong
// kind, values out of range, unreadable secrets and what each block's
// Validate refuses. An empty document is an empty config.
func Load(data []byte, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic("config.Load: dst must point to a struct")
	}
	d := &decoder{lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Errors{{Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(doc.Content) > 0 {
		top := doc.Content[0]
		if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
			// a file of comments only
		} else if top.Kind != yaml.MappingNode {
			d.errs = append(d.errs, &Error{Line: top.Line, Msg: "the file must be a block of keys (key: value), not a single value or a list"})
		} else {
			d.mapping(top, v.Elem(), "")
		}
	}
	es := append(d.errs, check(v.Elem(), "", d.lines)...)
	sortByLine(es)
	return es.Err()
}

type decoder struct {
	lines map[string]int
	errs  Errors
}

func (d *decoder) add(path string, line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// field is one key of a struct: where its value lives.
type field struct {
	key   string
	index []int
	typ   reflect.Type
	doc   string
	rng   string
	def   string
}

// fields lists the keys of struct type t in order, the fields of inline
// structs in place, and skipping `yaml:"-"` and unexported fields.
func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if opts == "inline" {
			for _, f := range fields(sf.Type) {
				f.index = append([]int{i}, f.index...)
				out = append(out, f)
			}
			continue
		}
		if name == "" {
			continue // a field the file does not set
		}
		out = append(out, field{key: name, index: []int{i}, typ: sf.Type, doc: sf.Tag.Get("doc"), rng: sf.Tag.Get("range"), def: sf.Tag.Get("default")})
	}
	return out
}

// isBlock reports whether t is decoded key by key (a struct of settings)
// rather than as one value.
func isBlock(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || t == secretType {
		return false
	}
	return !reflect.PointerTo(t).Implements(textType)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	fs := fields(v.Type())
	byKey := map[string]field{}
	for _, f := range fs {
		byKey[f.key] = f
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		key := kn.Value
		p := join(path, key)
		if seen[key] {
			d.add(p, kn.Line, "given twice")
			continue
		}
		seen[key] = true
		d.lines[p] = kn.Line
		f, ok := byKey[key]
		suffix := ""
		if !ok {
			for _, s := range []string{"_file", "_env"} {
				if base, cut := strings.CutSuffix(key, s); cut {
					if bf, found := byKey[base]; found && bf.typ == secretType {
						f, ok, suffix = bf, true, s
						d.lines[join(path, base)] = kn.Line
					}
				}
			}
		}
		if !ok {
			d.add(p, kn.Line, "unknown key%s", suggest(key, fs))
			continue
		}
		fv := v.FieldByIndex(f.index)
		if f.typ == secretType {
			d.secret(vn, fv.Addr().Interface().(*Secret), suffix, p)
			continue
		}
		d.value(vn, fv, p)
	}
}

func (d *decoder) secret(n *yaml.Node, s *Secret, suffix, path string) {
	if n.Kind != yaml.ScalarNode {
		d.add(path, n.Line, "must be a single value")
		return
	}
	if n.Tag == "!!null" {
		d.add(path, n.Line, "has no value")
		return
	}
	switch suffix {
	case "_file":
		s.File, s.given[1] = n.Value, true
	case "_env":
		s.Env, s.given[2] = n.Value, true
	default:
		s.Inline, s.given[0] = n.Value, true
	}
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	t := v.Type()
	null := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	switch {
	case t.Kind() == reflect.Pointer && isBlock(t.Elem()):
		if null {
			v.SetZero() // "ldap: ~" is no LDAP block
			return
		}
		if v.IsNil() {
			nv := reflect.New(t.Elem())
			if sd, ok := nv.Interface().(interface{ SetDefaults() }); ok {
				sd.SetDefaults()
			}
			v.Set(nv)
		}
		d.value(n, v.Elem(), path)
	case isBlock(t):
		if n.Kind != yaml.MappingNode {
			d.add(path, n.Line, "must be a block of keys (key: value)")
			return
		}
		d.mapping(n, v, path)
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		if null {
			v.Set(reflect.MakeSlice(t, 0, 0))
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.add(path, n.Line, "must be a list, e.g. [a, b]")
			return
		}
		out := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		ok := true
		for i, en := range n.Content {
			before := len(d.errs)
			d.value(en, out.Index(i), fmt.Sprintf("%s[%d]", path, i))
			ok = ok && len(d.errs) == before
		}
		if ok {
			v.Set(out)
		}
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && !isBlock(t.Elem()):
		// A map of names to plain values (HTTP headers, say).
		if null {
			v.SetZero()
			return
		}
		if n.Kind != yaml.MappingNode {
			d.add(path, n.Line, "must be a block of names and values (name: value)")
			return
		}
		out := reflect.MakeMapWithSize(t, len(n.Content)/2)
		ok := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			ev := reflect.New(t.Elem()).Elem()
			before := len(d.errs)
			d.value(vn, ev, join(path, kn.Value))
			if out.MapIndex(reflect.ValueOf(kn.Value).Convert(t.Key())).IsValid() {
				d.add(join(path, kn.Value), kn.Line, "is given twice")
			}
			ok = ok && len(d.errs) == before
			out.SetMapIndex(reflect.ValueOf(kn.Value).Convert(t.Key()), ev)
		}
		if ok {
			v.Set(out)
		}
	default:
		d.scalar(n, v, path, null)
	}
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string, null bool) {
	t := v.Type()
	switch {
	case null:
		d.add(path, n.Line, "has no value")
		return
	case n.Kind != yaml.ScalarNode:
		d.add(path, n.Line, "must be a single value")
		return
	case t == durationType && strings.TrimSpace(n.Value) == "0":
		v.SetInt(0)
		return
	}
	tmp := reflect.New(t)
	err := n.Decode(tmp.Interface())
	if err == nil {
		v.Set(tmp.Elem())
		return
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) && reflect.PointerTo(t).Implements(textType) {
		d.add(path, n.Line, "%q %v", n.Value, err)
		return
	}
	switch {
	case t == durationType:
		d.add(path, n.Line, "%q is not a duration (use e.g. 500ms, 90s, 5m, 1h)", n.Value)
	case t.Kind() == reflect.Bool:
		d.add(path, n.Line, "%q is not true or false", n.Value)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		d.add(path, n.Line, "%q is not a whole number", n.Value)
	default:
		d.add(path, n.Line, "%q is not allowed here", n.Value)
	}
}

// suggest names the known key closest to an unknown one, when one is
// close enough to be a typo.
func suggest(key string, fs []field) string {
	best, bestD := "", 1<<30
	for _, f := range fs {
		cands := []string{f.key}
		if f.typ == secretType {
			cands = append(cands, f.key+"_file", f.key+"_env")
		}
		for _, c := range cands {
			if dist := levenshtein.ComputeDistance(key, c); dist < bestD {
				best, bestD = c, dist
			}
		}
	}
	if best == "" || bestD > max(2, len(key)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}
