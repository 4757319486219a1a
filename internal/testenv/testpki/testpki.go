// Package testpki makes the certificate authorities and certificates the
// test harnesses give their servers: P-256 keys, a self-signed CA, and
// server or client certificates it signs with IP and DNS subjectAltNames
// (Go's crypto/tls checks a server against those, never against the common
// name), written as PEM files only their owner may read, as servers such as
// Samba demand of a key file.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// KeyFormat is how a private key is encoded in its PEM block.
type KeyFormat int

// The key formats servers read.
const (
	// SEC1 is an "EC PRIVATE KEY" block (RFC 5915).
	SEC1 KeyFormat = iota
	// PKCS8 is a "PRIVATE KEY" block (RFC 5208).
	PKCS8
)

// KeyPair is a certificate and its private key.
type KeyPair struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// CA is a self-signed certificate authority that issues certificates.
type CA struct {
	KeyPair
	validFor time.Duration
}

// NewCA makes a certificate authority with the common name name and key
// usage x509.KeyUsageCertSign plus usage. It is valid from an hour ago (so
// a clock a little behind still accepts it) to validFor from now, and so
// is every certificate it issues.
func NewCA(name string, validFor time.Duration, usage x509.KeyUsage) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validFor),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | usage,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	return &CA{KeyPair: KeyPair{Cert: cert, Key: key}, validFor: validFor}, nil
}

// Issue makes a certificate with the common name cn for usage
// (x509.ExtKeyUsageServerAuth or x509.ExtKeyUsageClientAuth), with a new
// key, signed by ca. Each of sans that parses as an IP address becomes an
// IP subjectAltName, any other a DNS one.
func (ca *CA) Issue(cn string, usage x509.ExtKeyUsage, sans ...string) (*KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("key for %s: %w", cn, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ca.validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, san := range sans {
		if ip := net.ParseIP(san); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, san)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("certificate for %s: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certificate for %s: %w", cn, err)
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}

// Pool is a certificate pool holding only ca, for a tls.Config.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// CertPEM is the certificate as a PEM "CERTIFICATE" block.
func (k *KeyPair) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw})
}

// KeyPEM is the private key as a PEM block in format.
func (k *KeyPair) KeyPEM(format KeyFormat) ([]byte, error) {
	var (
		typ string
		der []byte
		err error
	)
	switch format {
	case SEC1:
		typ = "EC PRIVATE KEY"
		der, err = x509.MarshalECPrivateKey(k.Key)
	case PKCS8:
		typ = "PRIVATE KEY"
		der, err = x509.MarshalPKCS8PrivateKey(k.Key)
	default:
		return nil, fmt.Errorf("unknown key format %d", format)
	}
	if err != nil {
		return nil, fmt.Errorf("encode the key of %s: %w", k.Cert.Subject.CommonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), nil
}

// WriteCert writes CertPEM to path, readable by its owner only.
func (k *KeyPair) WriteCert(path string) error {
	return writeFile(path, k.CertPEM())
}

// WriteKey writes KeyPEM in format to path, readable by its owner only.
func (k *KeyPair) WriteKey(path string, format KeyFormat) error {
	data, err := k.KeyPEM(format)
	if err != nil {
		return err
	}
	return writeFile(path, data)
}

func writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// serial returns a random positive serial number of at most 127 bits.
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
