package slapd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// writeCerts makes a CA, a server certificate for 127.0.0.1 and localhost
// (Go's crypto/tls checks the IP SAN), and a client certificate, all in
// s.Dir.
func (s *Server) writeCerts() error {
	caKey, caCert, err := newCA("sspr test CA")
	if err != nil {
		return err
	}
	write := func(name, typ string, der []byte) (string, error) {
		p := filepath.Join(s.Dir, name)
		return p, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
	}
	if s.CAFile, err = write("ca.pem", "CERTIFICATE", caCert.Raw); err != nil {
		return err
	}
	leaf := func(name string, usage x509.ExtKeyUsage, server bool, key *ecdsa.PrivateKey, ca *x509.Certificate) (string, string, error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", "", err
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		if server {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
			tmpl.DNSNames = []string{"localhost"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, key)
		if err != nil {
			return "", "", err
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", "", err
		}
		c, err := write(name+".pem", "CERTIFICATE", der)
		if err != nil {
			return "", "", err
		}
		kp, err := write(name+".key", "EC PRIVATE KEY", kder)
		return c, kp, err
	}
	if _, _, err := leaf("server", x509.ExtKeyUsageServerAuth, true, caKey, caCert); err != nil {
		return err
	}
	if s.ClientCertFile, s.ClientKeyFile, err = leaf("client", x509.ExtKeyUsageClientAuth, false, caKey, caCert); err != nil {
		return err
	}
	return nil
}

func newCA(name string) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}
