package samba

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"time"

	"github.com/sspr-project/sspr/internal/testenv/testpki"
)

// writeTLS makes a CA and a server certificate for the DC's address and
// host name. Samba's own generated certificate has no subjectAltName,
// which Go's crypto/tls refuses, so real deployments need a proper one
// too (see docs/ACTIVE-DIRECTORY.md).
func (dc *DC) writeTLS() error {
	dir := filepath.Join(dc.Dir, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := testpki.NewCA("sspr test CA "+dc.Host, 7*24*time.Hour, x509.KeyUsageCRLSign)
	if err != nil {
		return err
	}
	fqdn := dc.Host + ".sspr.test"
	srv, err := ca.Issue(fqdn, x509.ExtKeyUsageServerAuth, dc.Addr, fqdn)
	if err != nil {
		return err
	}
	dc.CAFile = filepath.Join(dir, "ca.pem")
	if err := ca.WriteCert(dc.CAFile); err != nil {
		return err
	}
	if err := srv.WriteCert(filepath.Join(dir, "cert.pem")); err != nil {
		return err
	}
	// Samba refuses a key file that others may read (testpki writes 0600).
	if err := srv.WriteKey(filepath.Join(dir, "key.pem"), testpki.PKCS8); err != nil {
		return err
	}
	dc.CAPool = ca.Pool()
	return nil
}
