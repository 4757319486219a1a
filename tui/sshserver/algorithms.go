package sshserver

import (
	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// The algorithms offered, strongest first: hybrid post-quantum and
// curve25519 key exchange, AEAD ciphers, SHA-2 encrypt-then-MAC. No SHA-1,
// no CBC, no NIST curves; strict key exchange (Terrapin) is on by default
// in x/crypto. curve25519-sha256@libssh.org is added by x/crypto beside
// curve25519-sha256 for older OpenSSH clients.
var (
	keyExchanges = []string{gossh.KeyExchangeMLKEM768X25519, gossh.KeyExchangeCurve25519}
	ciphers      = []string{gossh.CipherChaCha20Poly1305, gossh.CipherAES256GCM, gossh.CipherAES128GCM}
	macs         = []string{gossh.HMACSHA256ETM, gossh.HMACSHA512ETM}
)

// serverConfig is the x/crypto configuration of every connection. Nobody
// authenticates: "none" succeeds, so clients never offer keys or ask for
// passwords; with Config.KeyAuth any key or none will do (withKeyAuth).
// It is built afresh per connection, as the ssh package expects.
func (s *Server) serverConfig(ssh.Context) *gossh.ServerConfig {
	c := &gossh.ServerConfig{
		Config: gossh.Config{
			KeyExchanges: keyExchanges,
			Ciphers:      ciphers,
			MACs:         macs,
		},
		NoClientAuth: true,
	}
	if s.cfg.KeyAuth {
		withKeyAuth(c)
	}
	return c
}
