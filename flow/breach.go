package flow

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// BreachFile is a local copy of a list of breached passwords in the form
// Have I Been Pwned publishes its "ordered by hash" download: one line per
// password, the upper-case hex SHA-1 of the password, a colon and how often
// it was seen ("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:10437277"), sorted
// by hash, with LF or CRLF line ends. It is searched in place by bisecting
// byte offsets, a few small reads per lookup, so a file of a billion lines
// is never loaded. Lines that are not a hash and a count are skipped.
// A BreachFile is safe for concurrent use.
type BreachFile struct {
	r     io.ReaderAt
	c     io.Closer
	size  int64
	lower bool // the file writes its hex digits in lower case
}

const (
	// breachMaxLine is the longest line read; a hash, a colon and a count
	// take about 50 bytes.
	breachMaxLine = 256
	// breachWindow is what one read takes in; a range of the file that fits
	// in it is scanned line by line rather than bisected further.
	breachWindow = 8192
	// breachSamples is how many lines are compared when the file is opened
	// to tell a file ordered by hash from one ordered by count.
	breachSamples = 32
)

// OpenBreachFile opens the list at path and checks that it is one: a first
// line that is a SHA-1 hash and a count, and hashes in order at a sample of
// places through the file.
func OpenBreachFile(path string) (*BreachFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	b, err := newBreachFile(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b.c = f
	return b, nil
}

// newBreachFile reads a list of size bytes from r.
func newBreachFile(r io.ReaderAt, size int64) (*BreachFile, error) {
	b := &BreachFile{r: r, size: size}
	if size == 0 {
		return nil, errors.New("the file is empty")
	}
	rd := b.reader()
	first, _, err := rd.line(0)
	if err != nil {
		return nil, err
	}
	first = bytes.TrimSuffix(first, []byte("\r"))
	hash, _, _ := bytes.Cut(first, []byte(":"))
	if len(hash) == 32 && isHex(hash) {
		return nil, errors.New("line 1 holds a 32-digit hash: this is the NTLM list; the SHA-1 list is needed")
	}
	b.lower = bytes.ContainsAny(hash, "abcdef")
	if _, ok := b.parse(first); !ok {
		return nil, errors.New("line 1 is not a SHA-1 hash and a count (SHA1HEX:COUNT)")
	}
	// A list ordered by count, or not sorted at all, would make lookups miss.
	var last []byte
	for i := int64(0); i <= breachSamples; i++ {
		at := int64(0)
		if off := size * i / breachSamples; off > 0 {
			if _, at, err = rd.line(off - 1); err != nil {
				return nil, err
			}
		}
		for at < size {
			l, next, err := rd.line(at)
			if err != nil {
				return nil, err
			}
			if k, ok := b.parse(l); ok {
				if bytes.Compare(k, last) < 0 {
					return nil, fmt.Errorf("the hashes are not in order near byte %d: the list ordered by hash is needed", at)
				}
				last = append(last[:0], k...)
				break
			}
			at = next
		}
	}
	return b, nil
}

// Close closes the file; a nil BreachFile has nothing to close.
func (b *BreachFile) Close() error {
	if b == nil || b.c == nil {
		return nil
	}
	return b.c.Close()
}

// Contains reports whether password is on the list.
func (b *BreachFile) Contains(password string) (bool, error) {
	return b.ContainsHash(sha1.Sum([]byte(password)))
}

// ContainsHash reports whether the SHA-1 hash sum is on the list.
func (b *BreachFile) ContainsHash(sum [sha1.Size]byte) (bool, error) {
	key := make([]byte, 2*sha1.Size)
	hex.Encode(key, sum[:])
	if !b.lower {
		key = bytes.ToUpper(key)
	}
	rd := b.reader()
	// lo and hi are line starts; the line sought, if there, starts in [lo, hi).
	lo, hi := int64(0), b.size
	for hi-lo > breachWindow {
		mid := lo + (hi-lo)/2
		_, start, err := rd.line(mid - 1) // the first line starting at mid or after
		if err != nil {
			return false, err
		}
		if start >= hi {
			break // one line spans the middle: scan the range
		}
		narrowed := false
		for at := start; at < hi && !narrowed; {
			l, next, err := rd.line(at)
			if err != nil {
				return false, err
			}
			if k, ok := b.parse(l); ok {
				switch c := bytes.Compare(k, key); {
				case c == 0:
					return true, nil
				case c < 0:
					lo = next
				default:
					hi = start
				}
				narrowed = true
			}
			at = next
		}
		if !narrowed {
			hi = start // nothing but malformed lines from the middle on
		}
	}
	for at := lo; at < hi; {
		l, next, err := rd.line(at)
		if err != nil {
			return false, err
		}
		if k, ok := b.parse(l); ok {
			switch c := bytes.Compare(k, key); {
			case c == 0:
				return true, nil
			case c > 0:
				return false, nil
			}
		}
		at = next
	}
	return false, nil
}

// parse returns the hash of a line that is a hash and a count, in the
// file's letter case.
func (b *BreachFile) parse(l []byte) ([]byte, bool) {
	l = bytes.TrimSuffix(l, []byte("\r"))
	if len(l) < 2*sha1.Size {
		return nil, false
	}
	hash, rest := l[:2*sha1.Size], l[2*sha1.Size:]
	for _, c := range hash {
		digit := '0' <= c && c <= '9'
		letter := 'A' <= c && c <= 'F'
		if b.lower {
			letter = 'a' <= c && c <= 'f'
		}
		if !digit && !letter {
			return nil, false
		}
	}
	if len(rest) == 0 {
		return hash, true
	}
	if rest[0] != ':' || len(rest) == 1 {
		return nil, false
	}
	for _, c := range rest[1:] {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	return hash, true
}

func isHex(s []byte) bool {
	_, err := hex.Decode(make([]byte, len(s)/2), s)
	return err == nil && len(s)%2 == 0
}

// breachReader reads lines of the file through a window of it, one per
// lookup (lookups run in parallel, each with its own).
type breachReader struct {
	b   *BreachFile
	buf []byte
	off int64 // of buf[0] in the file
	n   int   // bytes of buf that hold file content
}

func (b *BreachFile) reader() *breachReader {
	return &breachReader{b: b, buf: make([]byte, breachWindow+breachMaxLine), off: -1}
}

// line returns the line that holds byte at, from at to its end (without the
// newline), and where the next line starts.
func (r *breachReader) line(at int64) ([]byte, int64, error) {
	size := r.b.size
	if at >= size {
		return nil, size, nil
	}
	end := r.off + int64(r.n)
	if r.off < 0 || at < r.off || (at+breachMaxLine+1 > end && end < size) {
		n, err := r.b.r.ReadAt(r.buf, at)
		if err != nil && !(errors.Is(err, io.EOF) && n > 0) {
			return nil, 0, fmt.Errorf("reading byte %d: %w", at, err)
		}
		r.off, r.n = at, n
		end = at + int64(n)
	}
	w := r.buf[at-r.off : r.n]
	if i := bytes.IndexByte(w, '\n'); i >= 0 {
		return w[:i], at + int64(i) + 1, nil
	}
	if end >= size {
		return w, size, nil
	}
	return nil, 0, fmt.Errorf("the line at byte %d is longer than %d bytes", at, breachMaxLine)
}
