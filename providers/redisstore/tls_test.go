package redisstore

import (
	"context"
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
	"strings"
	"testing"
	"time"
)

// writeCerts writes a CA and a certificate for 127.0.0.1 signed by it, and
// returns the paths of the CA, the certificate and its key.
func writeCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey, srvKey := newKey(), newKey()
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("redis.pem", "CERTIFICATE", srvDER), write("redis.key", "PRIVATE KEY", keyDER)
}

// TestTLSAndPassword reaches a Redis that speaks only TLS and asks for a
// password: with the right CA and password it works; a wrong password or an
// unknown CA fail, and the error holds no password.
func TestTLSAndPassword(t *testing.T) {
	t.Parallel()
	const password, wrong = "correct-horse-4821", "wrong-horse-4821"
	certs := t.TempDir()
	ca, cert, key := writeCerts(t, certs)
	srv := startRedis(t, func(r *redisServer) {
		r.tls, r.password = true, password
		r.args = []string{"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca,
			"--tls-auth-clients", "no", "--requirepass", password}
	})
	ctx := context.Background()
	cfg := Config{Addrs: []string{srv.Addr()}, TLS: true, CAFile: ca, Username: "default", Password: password,
		DialTimeout: time.Second, ReadTimeout: time.Second}

	st := newStore(t, cfg)
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping over TLS with the password: %v", err)
	}
	if ok, _, err := st.Take(ctx, "k", 1, time.Minute); err != nil || !ok {
		t.Fatalf("Take over TLS = %v, %v", ok, err)
	}

	bad := cfg
	bad.Password = wrong
	err := newStore(t, bad).Ping(ctx)
	if err == nil {
		t.Fatal("Ping with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), password) {
		t.Errorf("error %q holds a password", err)
	}

	system := cfg
	system.CAFile = ""
	if err := newStore(t, system).Ping(ctx); err == nil {
		t.Error("Ping trusting only the system roots accepted the test CA's certificate")
	}

	plain := cfg
	plain.TLS, plain.CAFile = false, ""
	if err := newStore(t, plain).Ping(ctx); err == nil {
		t.Error("Ping without TLS to a TLS-only Redis succeeded")
	}
}
