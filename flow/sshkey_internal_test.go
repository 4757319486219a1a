package flow

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// FuzzSSHKeyLine: any line is read without a panic, and a line
// ValidSSHKey accepts lists its own key, whatever its options and comment.
func FuzzSSHKeyLine(f *testing.F) {
	for _, s := range []string{
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGlJ8M0yTFJb7L4M1gfbE3wIPk6X0y1aD3Kf2z5m1Xq8 dev@laptop",
		`from="10.0.0.0/8",no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGlJ8M0yTFJb7L4M1gfbE3wIPk6X0y1aD3Kf2z5m1Xq8`,
		"cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGlJ8M0yTFJb7L4M1gfbE3wIPk6X0y1aD3Kf2z5m1Xq8",
		"ssh-ed25519 AAAA", "", "# a comment", "command=\"\\\"\" ssh-rsa AAAAB3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fp, err := ValidSSHKey(line)
		k, _, _, _, perr := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return
		}
		if perr != nil || gossh.FingerprintSHA256(k) != fp {
			t.Fatalf("ValidSSHKey accepted %q (%s) that does not parse the same", line, fp)
		}
		if !listsKey([]string{line}, sshKeyOf(k.Marshal())) {
			t.Fatalf("a valid line does not list its key: %q", line)
		}
	})
}

// BenchmarkListsKey is the work Identify adds for an account with the
// most keys read, none of them the one presented.
func BenchmarkListsKey(b *testing.B) {
	var lines []string
	for range MaxSSHKeys {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		k, _ := gossh.NewPublicKey(pub)
		lines = append(lines, "no-pty "+string(gossh.MarshalAuthorizedKey(k)))
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := gossh.NewPublicKey(pub)
	key := k.Marshal()
	for b.Loop() {
		if listsKey(lines, key) {
			b.Fatal("listed")
		}
	}
}
