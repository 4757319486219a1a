package flow

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// countingReader counts the reads a lookup makes.
type countingReader struct {
	r     *bytes.Reader
	reads atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	return c.r.ReadAt(p, off)
}

// A lookup reads the file a logarithmic number of times, in small pieces,
// never the whole of it.
func TestBreachLookupReads(t *testing.T) {
	const n = 200_000
	hashes := make([]string, n)
	for i := range hashes {
		s := sha1.Sum(fmt.Appendf(nil, "%d", i))
		hashes[i] = strings.ToUpper(hex.EncodeToString(s[:]))
	}
	slices.Sort(hashes)
	var sb strings.Builder
	for i, h := range hashes {
		fmt.Fprintf(&sb, "%s:%d\r\n", h, i%1000+1)
	}
	c := &countingReader{r: bytes.NewReader([]byte(sb.String()))}
	size := int64(sb.Len())
	bf, err := newBreachFile(c, size)
	if err != nil {
		t.Fatal(err)
	}
	// Each halving costs a read, and the last window one more.
	limit := int64(bits.Len64(uint64(size/breachWindow))) + 2
	for i := 0; i < n; i += 101 {
		var s [sha1.Size]byte
		hex.Decode(s[:], []byte(hashes[i]))
		c.reads.Store(0)
		found, err := bf.ContainsHash(s)
		if !found || err != nil {
			t.Fatalf("%s: %v %v", hashes[i], found, err)
		}
		if got := c.reads.Load(); got > limit {
			t.Fatalf("%d reads of a %d-byte file, want at most %d", got, size, limit)
		}
	}
	t.Logf("%d lines, %d bytes: at most %d reads of %d bytes per lookup", n, size, limit, breachWindow+breachMaxLine)
}

// FuzzBreachFile: any file content is refused at open or searched without
// a panic or a hang.
func FuzzBreachFile(f *testing.F) {
	f.Add([]byte("0000000000000000000000000000000000000001:3\n5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:9\n"), []byte("password"))
	f.Add([]byte("garbage\r\n\n:::\n"), []byte("x"))
	f.Fuzz(func(t *testing.T, data, pw []byte) {
		b, err := newBreachFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		_, _ = b.Contains(string(pw))
	})
}
