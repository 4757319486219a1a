package flow

import (
	"bytes"
	"slices"

	gossh "golang.org/x/crypto/ssh"
)

// The SSH-key method: a person who connected over SSH with a public key,
// and proved by the SSH signature that they hold its private half, may use
// it as one method when the account they name lists that key. The key is
// never an identity by itself: it is checked only against the account
// typed, after the CAPTCHA, like any other method.

// Bounds of what is read of an account's keys: keys past MaxSSHKeys and
// lines longer than MaxSSHKeyLine are ignored (providers log them).
const (
	MaxSSHKeys    = 32
	MaxSSHKeyLine = 8 << 10
)

// SSHKeySettings is policy.ssh_key.*.
type SSHKeySettings struct {
	Enabled  bool `yaml:"enabled" doc:"offer \"Use the SSH key you connected with\" to a person who connected over SSH with a key the account lists (embedded ssh_keys, LDAP directory.ldap.attributes.ssh_keys); the SSH server then asks clients for a key. See docs/SSH.md"`
	AppGrade bool `yaml:"app_grade" doc:"count the SSH key as the authenticator app where the app must be one of the methods (an account with an app enrolled); false: it is one more method, and the app is still asked for"`
}

// sshKeyOf is the wire form of key when it parses as a plain public key
// of bounded size, nil otherwise.
func sshKeyOf(key []byte) []byte {
	if len(key) == 0 || len(key) > MaxSSHKeyLine {
		return nil
	}
	k, err := gossh.ParsePublicKey(key)
	if err != nil {
		return nil
	}
	if _, cert := k.(*gossh.Certificate); cert {
		return nil
	}
	return slices.Clone(key)
}

// sshKeyFingerprint is the SHA256 fingerprint of a key in wire form, as
// ssh-keygen -l shows it; "" for none.
func sshKeyFingerprint(key []byte) string {
	if key == nil {
		return ""
	}
	k, err := gossh.ParsePublicKey(key)
	if err != nil {
		return ""
	}
	return gossh.FingerprintSHA256(k)
}

// listsKey reports whether lines (authorized_keys lines) list key (wire
// form). Keys are compared parsed, so options and comments do not matter;
// a line with the cert-authority option names a CA, not the person's key,
// and is skipped.
func listsKey(lines []string, key []byte) bool {
	if key == nil {
		return false
	}
	for i, line := range lines {
		if i >= MaxSSHKeys {
			break
		}
		if len(line) > MaxSSHKeyLine {
			continue
		}
		k, _, opts, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil || slices.ContainsFunc(opts, isCAOption) {
			continue
		}
		if bytes.Equal(k.Marshal(), key) {
			return true
		}
	}
	return false
}

func isCAOption(o string) bool { return o == "cert-authority" }

// ValidSSHKey checks one authorized_keys line as a directory stores it:
// bounded, one key that parses, no cert-authority option. It returns the
// key's fingerprint.
func ValidSSHKey(line string) (string, error) {
	if len(line) > MaxSSHKeyLine {
		return "", errSSHKey("is longer than 8 KiB")
	}
	k, _, opts, rest, err := gossh.ParseAuthorizedKey([]byte(line))
	switch {
	case err != nil:
		return "", errSSHKey("is not a public key (an authorized_keys line such as \"ssh-ed25519 AAAA... comment\")")
	case len(bytes.TrimSpace(rest)) > 0:
		return "", errSSHKey("holds more than one key")
	case slices.ContainsFunc(opts, isCAOption):
		return "", errSSHKey("is a certificate authority (cert-authority), not a person's key")
	}
	if _, cert := k.(*gossh.Certificate); cert {
		return "", errSSHKey("is a certificate, not a key")
	}
	return gossh.FingerprintSHA256(k), nil
}

type errSSHKey string

func (e errSSHKey) Error() string { return string(e) }
