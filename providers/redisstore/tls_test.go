package redisstore

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/internal/testenv/testpki"
)

// writeCerts writes a CA and a certificate for 127.0.0.1 signed by it, and
// returns the paths of the CA, the certificate and its key.
func writeCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	authority, err := testpki.NewCA("test CA", time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := authority.Issue("127.0.0.1", x509.ExtKeyUsageServerAuth, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "redis.pem"), filepath.Join(dir, "redis.key")
	for _, err := range []error{authority.WriteCert(ca), srv.WriteCert(cert), srv.WriteKey(key, testpki.PKCS8)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return ca, cert, key
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
	cfg := Config{Addrs: []string{srv.Addr()}, TLS: true, CAFile: ca, Username: "default", Password: config.InlineSecret(password),
		Timeout: time.Second}

	st := newStore(t, cfg)
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping over TLS with the password: %v", err)
	}
	if ok, _, err := st.Take(ctx, "k", 1, time.Minute); err != nil || !ok {
		t.Fatalf("Take over TLS = %v, %v", ok, err)
	}

	bad := cfg
	bad.Password = config.InlineSecret(wrong)
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
