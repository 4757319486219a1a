package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestIssueChainsToCA checks that a server certificate verifies against its
// CA for each of its SANs and not for another name, that a client
// certificate verifies only for client use, and that another CA does not
// verify either.
func TestIssueChainsToCA(t *testing.T) {
	ca, err := NewCA("test CA", time.Hour, x509.KeyUsageCRLSign)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.IsCA || ca.Cert.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Fatalf("CA: IsCA %v, key usage %v", ca.Cert.IsCA, ca.Cert.KeyUsage)
	}
	srv, err := ca.Issue("srv", x509.ExtKeyUsageServerAuth, "127.0.0.1", "::1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Cert.IPAddresses) != 2 || len(srv.Cert.DNSNames) != 1 || srv.Cert.DNSNames[0] != "localhost" {
		t.Fatalf("SANs: IPs %v, DNS %v", srv.Cert.IPAddresses, srv.Cert.DNSNames)
	}
	if !srv.Cert.NotAfter.Before(time.Now().Add(time.Hour + time.Minute)) {
		t.Errorf("NotAfter %v is past the CA's lifetime", srv.Cert.NotAfter)
	}
	server := x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, name := range []string{"127.0.0.1", "::1", "localhost"} {
		server.DNSName = name
		if _, err := srv.Cert.Verify(server); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	server.DNSName = "127.0.0.2"
	if _, err := srv.Cert.Verify(server); err == nil {
		t.Error("server certificate verifies for an address it does not name")
	}

	client, err := ca.Issue("client", x509.ExtKeyUsageClientAuth)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	server.DNSName = ""
	if _, err := client.Cert.Verify(server); err == nil {
		t.Error("client certificate verifies for server use")
	}

	other, err := NewCA("other CA", time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Cert.Verify(x509.VerifyOptions{Roots: other.Pool(), DNSName: "localhost"}); err == nil {
		t.Error("server certificate verifies against another CA")
	}
}

// TestWriteFiles checks the PEM block types, that the files load as a TLS
// key pair in both key formats, and that only their owner may read them.
func TestWriteFiles(t *testing.T) {
	ca, err := NewCA("test CA", time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.Issue("srv", x509.ExtKeyUsageServerAuth, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for format, typ := range map[KeyFormat]string{SEC1: "EC PRIVATE KEY", PKCS8: "PRIVATE KEY"} {
		certFile, keyFile := filepath.Join(dir, typ+".pem"), filepath.Join(dir, typ+".key")
		if err := kp.WriteCert(certFile); err != nil {
			t.Fatal(err)
		}
		if err := kp.WriteKey(keyFile, format); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{certFile, keyFile} {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", f, fi.Mode().Perm())
			}
		}
		data, err := os.ReadFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := pem.Decode(data); b == nil || b.Type != typ {
			t.Errorf("key block %v, want %s", b, typ)
		}
		if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
	if _, err := kp.KeyPEM(KeyFormat(9)); err == nil {
		t.Error("an unknown key format was accepted")
	}
}
