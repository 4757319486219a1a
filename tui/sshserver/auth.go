package sshserver

import (
	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// With Config.KeyAuth, clients authenticate with any public key, or with
// keyboard-interactive without a question when they have none: "none" is
// refused, as OpenSSH offers its keys only after that. A key is never an
// identity here; it only says the client holds the private key, which the
// wizard may check against the keys an account lists.
//
// x/crypto calls PublicKeyCallback for a key that is only offered (a
// query) as well as for one that is signed. So the key is recorded by
// VerifiedPublicKeyCallback, which runs only once the client's signature
// with it has been checked, in the Permissions that become the
// connection's; they are read after the handshake from the connection,
// whose Permissions are those of the method that completed the
// authentication. A key offered and never signed for is not recorded, nor
// is one offered before another that is signed.

// provenKeyExt is the Permissions extension holding the wire form of the
// key of a completed public-key authentication.
const provenKeyExt = "sspr-proven-key"

// maxKeyBlob bounds the wire form of a key that is recorded: an RSA key of
// 16384 bits takes about 2 KiB.
const maxKeyBlob = 8 << 10

// keyAlgorithms are the signatures accepted from clients: no SHA-1
// (ssh-rsa), no DSA, and no certificates (a certificate's key is not
// what an account lists).
var keyAlgorithms = []string{
	gossh.KeyAlgoED25519, gossh.KeyAlgoSKED25519,
	gossh.KeyAlgoECDSA256, gossh.KeyAlgoECDSA384, gossh.KeyAlgoECDSA521, gossh.KeyAlgoSKECDSA256,
	gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256,
}

// withKeyAuth sets up public-key and question-less keyboard-interactive
// authentication in c, in place of "none".
func withKeyAuth(c *gossh.ServerConfig) {
	c.NoClientAuth = false
	c.PublicKeyAuthAlgorithms = keyAlgorithms
	c.PublicKeyCallback = func(gossh.ConnMetadata, gossh.PublicKey) (*gossh.Permissions, error) {
		return &gossh.Permissions{}, nil
	}
	c.VerifiedPublicKeyCallback = recordKey
	c.KeyboardInteractiveCallback = func(gossh.ConnMetadata, gossh.KeyboardInteractiveChallenge) (*gossh.Permissions, error) {
		return &gossh.Permissions{}, nil
	}
}

// recordKey writes a key the client has signed with into the Permissions
// of its authentication.
func recordKey(_ gossh.ConnMetadata, key gossh.PublicKey, _ *gossh.Permissions, _ string) (*gossh.Permissions, error) {
	p := &gossh.Permissions{}
	if _, cert := key.(*gossh.Certificate); !cert {
		if b := key.Marshal(); len(b) <= maxKeyBlob {
			p.Extensions = map[string]string{provenKeyExt: string(b)}
		}
	}
	return p, nil
}

// provenKey is the wire form of the key sess's connection authenticated
// with, nil when it authenticated otherwise.
func provenKey(sess ssh.Session) []byte {
	p := sess.Permissions()
	if p.Permissions == nil {
		return nil
	}
	if k, ok := p.Extensions[provenKeyExt]; ok {
		return []byte(k)
	}
	return nil
}

// keyFingerprint is the SHA256 fingerprint of the wire form of a key, as
// ssh-keygen -l shows it; "" for none.
func keyFingerprint(blob []byte) string {
	if blob == nil {
		return ""
	}
	k, err := gossh.ParsePublicKey(blob)
	if err != nil {
		return ""
	}
	return gossh.FingerprintSHA256(k)
}
