package sshserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
)

// loadHostKey returns the host key at path, creating an ed25519 key there
// when there is none. A key that group or others may read or write is
// refused rather than repaired: someone may already have copied it.
func loadHostKey(path string) (gossh.Signer, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createHostKey(path); err != nil {
			return nil, err
		}
		fi, err = os.Stat(path)
	}
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("host key %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("host key %s has mode %04o: group and others must have no access to it (mode 0600); run chmod 600 %s, and replace the key if anyone else may have read it", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	var missing *gossh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Errorf("host key %s is encrypted: sspr needs it without a passphrase", path)
	case err != nil:
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	return acceptedHostKey(path, signer)
}

// acceptedHostKey allows ed25519 keys, and RSA keys of 3072 bits or more
// signing with SHA-2 only.
func acceptedHostKey(path string, s gossh.Signer) (gossh.Signer, error) {
	switch s.PublicKey().Type() {
	case gossh.KeyAlgoED25519:
		return s, nil
	case gossh.KeyAlgoRSA:
		ck, ok := s.PublicKey().(gossh.CryptoPublicKey)
		if !ok {
			break
		}
		pub, ok := ck.CryptoPublicKey().(*rsa.PublicKey)
		if !ok || pub.N.BitLen() < 3072 {
			return nil, fmt.Errorf("host key %s is an RSA key shorter than 3072 bits: use ed25519", path)
		}
		as, ok := s.(gossh.AlgorithmSigner)
		if !ok {
			break
		}
		return gossh.NewSignerWithAlgorithms(as, []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256})
	}
	return nil, fmt.Errorf("host key %s is of type %s: use ed25519 (or RSA of 3072 bits or more)", path, s.PublicKey().Type())
}

// createHostKey writes a new ed25519 key to path. The key is written to a
// private temporary file and linked into place, so a concurrent start never
// reads half a key and never overwrites one.
func createHostKey(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("host key directory %s: %w", dir, err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "sspr host key")
	if err != nil {
		return fmt.Errorf("encode host key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".sspr-hostkey-*") // created 0600
	if err != nil {
		return fmt.Errorf("write host key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(pem.EncodeToMemory(block))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write host key %s: %w", tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write host key %s: %w", path, err)
	}
	return nil
}
