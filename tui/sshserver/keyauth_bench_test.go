package sshserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// BenchmarkHandshake is a connection's handshake and authentication,
// without a session: "none" as by default, and an ed25519 key with
// KeyAuth (the offer, then the signature checked).
func BenchmarkHandshake(b *testing.B) {
	for _, c := range []struct {
		name    string
		keyAuth bool
	}{{"none", false}, {"ed25519_key", true}} {
		b.Run(c.name, func(b *testing.B) {
			cfg := Config{Settings: Default(), NewModel: (&probe{}).newModel, KeyAuth: c.keyAuth,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			cfg.HostKey = filepath.Join(b.TempDir(), "host_ed25519")
			cfg.MaxPerSource, cfg.NewPerSource, cfg.MaxPerPrefix = 0, 0, 0
			s, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go func() { _ = s.Serve(l) }()
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = s.Shutdown(ctx)
			}()
			client := &gossh.ClientConfig{User: "reset", HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second}
			if c.keyAuth {
				_, priv, _ := ed25519.GenerateKey(rand.Reader)
				signer, _ := gossh.NewSignerFromKey(priv)
				client.Auth = []gossh.AuthMethod{gossh.PublicKeys(signer)}
			}
			for b.Loop() {
				conn, err := gossh.Dial("tcp", l.Addr().String(), client)
				if err != nil {
					b.Fatal(err)
				}
				_ = conn.Close()
			}
		})
	}
}
