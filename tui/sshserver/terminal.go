package sshserver

import (
	"encoding/binary"
	"strings"
)

// validTerm reports whether s is a plain terminal name: 1 to 64 of
// [A-Za-z0-9._+-], with no "..". TERM names a terminfo file, so anything
// else could point a lookup outside the terminfo directories.
func validTerm(s string) bool {
	if len(s) == 0 || len(s) > 64 || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '+', c == '-':
		default:
			return false
		}
	}
	return true
}

// validLocale reports whether s is a plain locale name such as C,
// en_US.UTF-8 or sr_RS@latin: 1 to 48 of [A-Za-z0-9._@-], starting with a
// letter. A locale may also be a path, which is never accepted here.
func validLocale(s string) bool {
	if len(s) == 0 || len(s) > 48 || !isLetter(s[0]) || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isLetter(c), c >= '0' && c <= '9':
		case c == '.', c == '_', c == '@', c == '-':
		default:
			return false
		}
	}
	return true
}

// isLCName reports whether s is a locale category variable: LC_ and 1 to
// 16 capital letters or underscores, as LC_ALL, LC_MESSAGES, LC_CTYPE.
func isLCName(s string) bool {
	rest, ok := strings.CutPrefix(s, "LC_")
	if !ok || len(rest) == 0 || len(rest) > 16 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; (c < 'A' || c > 'Z') && c != '_' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// maxClientWindow bounds the columns and rows a client's window is taken
// to have; the program's own window is much smaller (Config.MaxWidth).
const maxClientWindow = 10000

// clampWindow turns a client's window into one the program may draw: zero
// means unknown (80x24), and anything larger than the maximum is cut.
func clampWindow(w, h uint32, maxW, maxH int) (int, int) {
	cw, ch := int(min(w, uint32(maxW))), int(min(h, uint32(maxH)))
	if cw == 0 {
		cw = defaultWidth
	}
	if ch == 0 {
		ch = defaultHeight
	}
	return cw, ch
}

// The payloads below follow RFC 4254 sections 6.2, 6.4 and 6.7.

// ptyRequest is the payload of a "pty-req" request.
type ptyRequest struct {
	Term                 string
	Cols, Rows, PxW, PxH uint32
	Modes                []byte // the encoded terminal modes, kept as sent
}

func parsePtyRequest(p []byte) (ptyRequest, bool) {
	var r ptyRequest
	var ok bool
	if r.Term, p, ok = parseString(p); !ok {
		return r, false
	}
	if len(p) < 16 {
		return r, false
	}
	r.Cols, r.Rows = binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:])
	r.PxW, r.PxH = binary.BigEndian.Uint32(p[8:]), binary.BigEndian.Uint32(p[12:])
	r.Modes = p[16:]
	return r, true
}

func (r ptyRequest) marshal() []byte {
	b := appendString(nil, r.Term)
	b = binary.BigEndian.AppendUint32(b, r.Cols)
	b = binary.BigEndian.AppendUint32(b, r.Rows)
	b = binary.BigEndian.AppendUint32(b, r.PxW)
	b = binary.BigEndian.AppendUint32(b, r.PxH)
	return append(b, r.Modes...)
}

// parseWindowChange reads the columns and rows of a "window-change".
func parseWindowChange(p []byte) (cols, rows uint32, ok bool) {
	if len(p) != 16 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:]), true
}

func marshalWindowChange(cols, rows int) []byte {
	b := make([]byte, 0, 16)
	b = binary.BigEndian.AppendUint32(b, uint32(cols))
	b = binary.BigEndian.AppendUint32(b, uint32(rows))
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0) // pixel sizes: unknown
}

// parseEnv reads the name and value of an "env" request.
func parseEnv(p []byte) (name, value string, ok bool) {
	if name, p, ok = parseString(p); !ok {
		return "", "", false
	}
	if value, p, ok = parseString(p); !ok || len(p) != 0 {
		return "", "", false
	}
	return name, value, true
}

func marshalEnv(name, value string) []byte {
	return appendString(appendString(nil, name), value)
}

// parseString reads one SSH string; it also serves "exec" and "subsystem".
func parseString(p []byte) (string, []byte, bool) {
	if len(p) < 4 {
		return "", nil, false
	}
	n := binary.BigEndian.Uint32(p)
	if uint64(n) > uint64(len(p)-4) {
		return "", nil, false
	}
	return string(p[4 : 4+n]), p[4+n:], true
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
