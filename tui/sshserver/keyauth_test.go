package sshserver

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

func newSigner(t *testing.T) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// publicOnly is a client that holds only the public part of a key: it
// offers the key and, once the server accepts the offer, answers with a
// signature it cannot make.
type publicOnly struct {
	pub   gossh.PublicKey
	signs atomic.Int32
}

func (p *publicOnly) PublicKey() gossh.PublicKey { return p.pub }

func (p *publicOnly) Sign(io.Reader, []byte) (*gossh.Signature, error) {
	p.signs.Add(1)
	blob := make([]byte, ed25519.SignatureSize)
	_, _ = rand.Read(blob)
	return &gossh.Signature{Format: p.pub.Type(), Blob: blob}, nil
}

// noQuestions answers a keyboard-interactive exchange that asks nothing.
func noQuestions(string, string, []string, []bool) ([]string, error) { return nil, nil }

// sessionKey opens a session with auth and returns the key its model was
// given.
func sessionKey(t *testing.T, ts *testServer, auth ...gossh.AuthMethod) []byte {
	t.Helper()
	cfg := clientConfig(ts)
	cfg.Auth = auth
	c, err := gossh.Dial("tcp", ts.addr, cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	n := ts.probe.count()
	tm := openTerm(t, c, "xterm-256color", 80, 24)
	tm.waitScreen(t, "sspr-test")
	rec := ts.probe.session(t, n)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.info.PublicKey
}

func TestKeyAuthRecordsOnlyASignedKey(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.KeyAuth = true })
	signed := newSigner(t)

	t.Run("signed", func(t *testing.T) {
		got := sessionKey(t, ts, gossh.PublicKeys(signed))
		if !bytes.Equal(got, signed.PublicKey().Marshal()) {
			t.Fatalf("key %x, want the signed key", got)
		}
	})
	t.Run("forged signature", func(t *testing.T) {
		// The offer is accepted (the client signs only then), the
		// signature is wrong: x/crypto ends the connection.
		forged := &publicOnly{pub: signed.PublicKey()}
		cfg := clientConfig(ts)
		cfg.Auth = []gossh.AuthMethod{gossh.PublicKeys(forged), gossh.KeyboardInteractive(noQuestions)}
		n := ts.probe.count()
		if c, err := gossh.Dial("tcp", ts.addr, cfg); err == nil {
			_ = c.Close()
			t.Fatal("a forged signature authenticated")
		}
		if forged.signs.Load() == 0 {
			t.Fatal("the server never accepted the offer, so nothing was tested")
		}
		if ts.probe.count() != n {
			t.Fatal("a session started")
		}
	})
	t.Run("no key", func(t *testing.T) {
		if got := sessionKey(t, ts, gossh.KeyboardInteractive(noQuestions)); got != nil {
			t.Fatalf("key %x without public-key authentication", got)
		}
	})

	// The log names the key by its fingerprint, never by the key itself.
	fp := gossh.FingerprintSHA256(signed.PublicKey())
	var seen int
	for _, ev := range ts.events("session_start") {
		if ev["key"] == fp {
			seen++
		}
	}
	if seen != 1 {
		t.Fatalf("session_start named the signed key %d times, want 1", seen)
	}
	if logs := ts.logs.String(); strings.Contains(logs, string(signed.PublicKey().Marshal()[20:])) {
		t.Fatal("the log holds the key itself")
	}
}

func TestKeyAuthRefusesNone(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.KeyAuth = true })
	if c, err := gossh.Dial("tcp", ts.addr, clientConfig(ts)); err == nil {
		_ = c.Close()
		t.Fatal(`"none" authenticated: OpenSSH would never offer its key`)
	}
}

func TestNoKeyWithoutKeyAuth(t *testing.T) {
	ts := startServer(t, nil)
	// "none" succeeds first: the key is never even offered.
	if got := sessionKey(t, ts, gossh.PublicKeys(newSigner(t))); got != nil {
		t.Fatalf("key %x recorded without KeyAuth", got)
	}
}

// TestKeyAuthOpenSSH drives the real OpenSSH client: a key it signs with
// is recorded; a key it offers but cannot sign with (only its public half
// is on disk) is not, alone or before one it can sign with.
func TestKeyAuthOpenSSH(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatalf("the OpenSSH client is needed (scripts/test.sh installs it): %v", err)
	}
	ts := startServer(t, func(c *Config) { c.KeyAuth = true })
	dir := t.TempDir()
	keygen := func(name string) string {
		path := filepath.Join(dir, name)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		pub, err := os.ReadFile(path + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		k, _, _, _, err := gossh.ParseAuthorizedKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return gossh.FingerprintSHA256(k)
	}
	signed := keygen("signed")
	offered := keygen("offered")
	if err := os.Remove(filepath.Join(dir, "offered")); err != nil { // the private half
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ts.addr)

	connect := func(identities ...string) (key, debug string) {
		t.Helper()
		n := len(ts.events("session_start"))
		args := []string{"-F", "/dev/null", "-T", "-v", "-p", port, "-o", "IdentitiesOnly=yes",
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "PasswordAuthentication=no"}
		for _, id := range identities {
			args = append(args, "-i", filepath.Join(dir, id))
		}
		cmd := exec.Command(sshBin, append(args, "reset@127.0.0.1")...)
		cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
		out, _ := cmd.CombinedOutput() // no terminal: the server refuses the session
		var ev map[string]any
		eventually(t, 5*time.Second, "session_start", func() bool {
			evs := ts.events("session_start")
			if len(evs) > n {
				ev = evs[n]
				return true
			}
			return false
		})
		k, _ := ev["key"].(string)
		return k, string(out)
	}

	if key, out := connect("signed"); key != signed {
		t.Fatalf("key %q, want %s\n%s", key, signed, out)
	}
	key, out := connect("offered.pub")
	if !strings.Contains(out, "Server accepts key") {
		t.Fatalf("the server never accepted the offer, so nothing was tested:\n%s", out)
	}
	if key != "" {
		t.Fatalf("a key offered and never signed for was recorded: %s", key)
	}
	if key, out := connect("offered.pub", "signed"); key != signed {
		t.Fatalf("key %q after an unsigned offer, want %s\n%s", key, signed, out)
	}
	if offered == signed {
		t.Fatal("the two keys are one")
	}
}
