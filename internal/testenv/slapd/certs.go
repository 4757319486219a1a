package slapd

import (
	"crypto/x509"
	"path/filepath"
	"time"

	"github.com/sspr-project/sspr/internal/testenv/testpki"
)

// writeCerts makes a CA, a server certificate for 127.0.0.1 and localhost
// (Go's crypto/tls checks the IP SAN), and a client certificate, all in
// s.Dir.
func (s *Server) writeCerts() error {
	ca, err := testpki.NewCA("sspr test CA", 24*time.Hour, x509.KeyUsageDigitalSignature)
	if err != nil {
		return err
	}
	s.CAFile = filepath.Join(s.Dir, "ca.pem")
	if err := ca.WriteCert(s.CAFile); err != nil {
		return err
	}
	leaf := func(name string, usage x509.ExtKeyUsage, sans ...string) (certFile, keyFile string, err error) {
		kp, err := ca.Issue(name, usage, sans...)
		if err != nil {
			return "", "", err
		}
		certFile, keyFile = filepath.Join(s.Dir, name+".pem"), filepath.Join(s.Dir, name+".key")
		if err := kp.WriteCert(certFile); err != nil {
			return "", "", err
		}
		return certFile, keyFile, kp.WriteKey(keyFile, testpki.SEC1)
	}
	if _, _, err := leaf("server", x509.ExtKeyUsageServerAuth, "127.0.0.1", "localhost"); err != nil {
		return err
	}
	s.ClientCertFile, s.ClientKeyFile, err = leaf("client", x509.ExtKeyUsageClientAuth)
	return err
}
