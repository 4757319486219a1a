package sshserver

import (
	"io"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// inputLimits bound what one session's client may make the terminal
// decoder of its program hold and do. The decoder (ultraviolet, under
// Bubble Tea) keeps a bracketed paste whole until it ends, and keeps an
// unfinished escape sequence, rescanning it from its start on every read,
// until 50ms pass without input.
type inputLimits struct {
	rate, burst int   // token bucket, bytes a second and bytes
	dropLimit   int64 // bytes dropped over the rate that end the session
	maxPaste    int   // bytes of one bracketed paste that end the session
	maxEscape   int   // bytes of one escape sequence; the rest is dropped
}

// Why the input side ended a session, as logged and as the session's end
// reason.
const (
	stopInputFlood = "input_flood" // more than dropLimit dropped
	stopPasteLimit = "paste_limit" // a paste longer than maxPaste
)

// decoderGap is a pause after which the decoder gives up waiting for the
// end of a sequence and takes what it holds as it is: twice its 50ms
// escape timeout (ultraviolet's DefaultEscTimeout), for scheduling slack.
const decoderGap = 100 * time.Millisecond

// Escape sequence states: the byte after ESC, then the kind of sequence.
const (
	seqNone = iota
	seqIntro
	seqCSI
	seqSS3
	seqOSC // ends at BEL, CAN, SUB or ESC
	seqDCS // ends at ESC
	seqST  // APC, PM, SOS: end at CAN, SUB or ESC
)

// inputFilter is what a session's program reads instead of the channel.
// In order, it
//   - drops what exceeds a token bucket (a person types far below its
//     rate; a paste is one burst), and ends the session once more than
//     dropLimit bytes were dropped;
//   - drops bytes that are not UTF-8, so that ESC alone starts a sequence
//     (the decoder reads a stray 0x9b, 0x9d, 0x90 or 0x9f as an 8-bit
//     CSI, OSC, DCS or APC);
//   - cuts an escape sequence at maxEscape bytes, dropping the rest up to
//     its end;
//   - ends the session when one bracketed paste passes maxPaste bytes;
//   - and pauses for decoderGap after every maxEscape bytes passed without
//     such a pause, so that whatever the decoder holds unfinished (it also
//     waits after a lone ESC or an unknown sequence) never grows past that.
//
// A filter belongs to one session and is read from one goroutine.
type inputFilter struct {
	r    io.Reader
	lim  inputLimits
	stop func(reason string) // ends the session; called once

	raw [4096]byte
	buf []byte // backs out
	out []byte // filtered, not yet read
	err error

	tokens  float64
	refill  time.Time
	dropped int64

	utf  [utf8.UTFMax]byte // an unfinished UTF-8 sequence
	nutf int

	seq        int
	seqLen     int
	seqHead    [8]byte // the first bytes of the sequence, for the paste marks
	discarding bool    // the sequence passed maxEscape: drop until its end
	cut        bool    // a sequence was cut (reported once)

	pasting  bool
	pasteLen int

	sinceGap int       // bytes passed since the last decoderGap pause
	lastOut  time.Time // when bytes were last passed

	// closed ends the input at the session's end (see drainThenQuit);
	// passedAt is lastOut for other goroutines, in Unix nanoseconds.
	closed   atomic.Bool
	passedAt atomic.Int64

	// onDrop and onCut report the first drop and the first cut sequence.
	onDrop, onCut func()
}

func newInputFilter(r io.Reader, lim inputLimits, stop func(string)) *inputFilter {
	return &inputFilter{r: r, lim: lim, stop: stop, tokens: float64(lim.burst), refill: time.Now(),
		buf: make([]byte, 0, 4096+utf8.UTFMax)}
}

// Read passes on filtered input; it blocks until there is some, the
// channel ends or a limit ended the session (io.EOF then).
func (f *inputFilter) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		if f.closed.Load() {
			return 0, io.EOF
		}
		n, err := f.r.Read(f.raw[:])
		if f.closed.Load() {
			return 0, io.EOF
		}
		f.take(f.raw[:n], time.Now())
		if err != nil && f.err == nil {
			f.err = err
		}
	}
	now := time.Now()
	if now.Sub(f.lastOut) >= decoderGap {
		f.sinceGap = 0
	} else if f.sinceGap >= f.lim.maxEscape {
		time.Sleep(decoderGap - now.Sub(f.lastOut))
		f.sinceGap, now = 0, time.Now()
	}
	n := copy(p[:min(len(p), f.lim.maxEscape-f.sinceGap)], f.out)
	f.out = f.out[n:]
	f.sinceGap += n
	f.lastOut = now
	f.passedAt.Store(now.UnixNano())
	return n, nil
}

// close ends the input: nothing read from now on is passed on, and the
// next Read returns io.EOF.
func (f *inputFilter) close() { f.closed.Store(true) }

// quietFor reports whether no byte was passed on for at least d.
func (f *inputFilter) quietFor(d time.Duration) bool {
	return time.Since(time.Unix(0, f.passedAt.Load())) >= d
}

// end stops the session for reason; nothing more is passed on.
func (f *inputFilter) end(reason string) {
	f.out, f.err = nil, io.EOF
	f.stop(reason)
}

// take runs what the channel delivered through the limits into out.
func (f *inputFilter) take(b []byte, now time.Time) {
	if len(b) == 0 || f.err != nil {
		return
	}
	f.tokens = min(float64(f.lim.burst), f.tokens+now.Sub(f.refill).Seconds()*float64(f.lim.rate))
	f.refill = now
	if allowed := int(f.tokens); allowed < len(b) {
		if f.dropped == 0 && f.onDrop != nil {
			f.onDrop()
		}
		f.dropped += int64(len(b) - allowed)
		b = b[:allowed]
		if f.dropped > f.lim.dropLimit {
			f.end(stopInputFlood)
			return
		}
	}
	f.tokens -= float64(len(b))
	f.out = f.buf[:0]
	for i, c := range b {
		if f.err != nil {
			return
		}
		if c < utf8.RuneSelf && f.nutf == 0 {
			f.unit(c, b[i:i+1])
			continue
		}
		f.utf8Byte(c, b[i:i+1])
	}
}

// utf8Byte collects the bytes of one UTF-8 sequence and passes it on
// whole, or drops it when it is not valid UTF-8.
func (f *inputFilter) utf8Byte(c byte, u []byte) {
	if c < utf8.RuneSelf {
		// An unfinished sequence cut short: drop it.
		f.nutf = 0
		f.unit(c, u)
		return
	}
	f.utf[f.nutf] = c
	f.nutf++
	for f.nutf > 0 && utf8.FullRune(f.utf[:f.nutf]) {
		r, size := utf8.DecodeRune(f.utf[:f.nutf])
		if r == utf8.RuneError && size <= 1 {
			// Not UTF-8: drop the first byte and look at the rest again.
			copy(f.utf[:], f.utf[1:f.nutf])
			f.nutf--
			continue
		}
		f.unit(0, f.utf[:size])
		copy(f.utf[:], f.utf[size:f.nutf])
		f.nutf -= size
	}
}

// unit passes on one character (c is its byte when it is ASCII, else 0),
// following escape sequences and bracketed pastes.
func (f *inputFilter) unit(c byte, u []byte) {
	const esc, bel, can, sub = 0x1b, 0x07, 0x18, 0x1a
	if f.seq != seqNone {
		ended, inclusive := false, true
		switch f.seq {
		case seqIntro:
			switch c {
			case '[':
				f.seq = seqCSI
			case ']':
				f.seq = seqOSC
			case 'P':
				f.seq = seqDCS
			case '_', '^', 'X':
				f.seq = seqST
			case 'O':
				f.seq = seqSS3
			default:
				ended, inclusive = true, c != esc
			}
		case seqCSI:
			switch {
			case c >= 0x20 && c <= 0x3f:
			case c >= 0x40 && c <= 0x7e:
				ended = true
			default:
				ended, inclusive = true, false
			}
		case seqSS3:
			ended = c < '0' || c > '9'
		case seqOSC:
			switch c {
			case bel, can, sub:
				ended = true
			case esc:
				ended, inclusive = true, false
			}
		case seqDCS:
			ended, inclusive = c == esc, false
		case seqST:
			switch c {
			case can, sub:
				ended = true
			case esc:
				ended, inclusive = true, false
			}
		}
		if !ended || inclusive {
			if f.seqLen < len(f.seqHead) && len(u) == 1 {
				f.seqHead[f.seqLen] = c
			}
			f.seqLen += len(u)
			if !ended && f.seqLen > f.lim.maxEscape {
				if !f.discarding && !f.cut && f.onCut != nil {
					f.onCut()
				}
				f.discarding, f.cut = true, true
			}
			if !ended && f.discarding {
				return
			}
			f.emit(u)
		}
		if !ended {
			return
		}
		if f.seq == seqCSI && inclusive {
			f.pasteMark()
		}
		f.seq, f.seqLen, f.discarding = seqNone, 0, false
		if inclusive {
			return
		}
	}
	if c == esc {
		f.seq, f.seqLen = seqIntro, 1
		f.seqHead[0] = esc
	}
	f.emit(u)
}

// pasteMark notes the start and end of a bracketed paste, from the CSI
// sequence just ended.
func (f *inputFilter) pasteMark() {
	if f.seqLen != 6 {
		return
	}
	switch string(f.seqHead[:6]) {
	case "\x1b[200~":
		f.pasting, f.pasteLen = true, 0
	case "\x1b[201~":
		f.pasting = false
	}
}

func (f *inputFilter) emit(u []byte) {
	if f.pasting {
		f.pasteLen += len(u)
		if f.pasteLen > f.lim.maxPaste {
			f.end(stopPasteLimit)
			return
		}
	}
	f.out = append(f.out, u...)
}
