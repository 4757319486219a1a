package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keyguardConfig writes the config of one `sspr serve` on a shared Redis:
// its own data_dir (and so its own secret.key unless one is put there) and
// SSH port, the given Redis address and key prefix. With a config file the
// embedded directory is not implied, so bob is added to one.
func keyguardConfig(t *testing.T, bin, dataDir string, port int, redisAddr, prefix string) string {
	t.Helper()
	cfg := writeConfig(t, fmt.Sprintf(`data_dir: %s
ssh:
  listen: 127.0.0.1:%d
captcha:
  enabled: false
store:
  redis:
    addrs: [%q]
    prefix: %q
`, dataDir, port, redisAddr, prefix))
	add := exec.Command(bin, "--config", cfg, "users", "add", "bob", "--mobile", "+1 212 555 0102")
	add.Stdin = strings.NewReader("Copper-Violin-3907\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	return cfg
}

// An instance whose secret key differs from the one of the instances
// already on its Redis refuses to start, before it listens, and says why;
// an instance with a copy of the key starts.
func TestServeRefusesAnotherSecretKeyOnSharedRedis(t *testing.T) {
	bin := buildBinary(t)
	addr := startRedis(t)
	const prefix = "keyguard:"

	firstDir, firstPort := t.TempDir(), freePort(t)
	first := serveBinary(t, bin, keyguardConfig(t, bin, firstDir, firstPort, addr, prefix), firstPort)

	secondPort := freePort(t)
	second := exec.Command(bin, "--config", keyguardConfig(t, bin, t.TempDir(), secondPort, addr, prefix), "serve")
	var stderr bytes.Buffer
	second.Stdout, second.Stderr = &stderr, &stderr
	start := time.Now()
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- second.Wait() }()
	// Watch the second instance's port for as long as it runs.
	listened := false
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-time.After(10 * time.Second):
			_ = second.Process.Kill()
			<-done
			t.Fatalf("the instance with another secret key still runs 10s after it started:\n%s", stderr.String())
		default:
		}
		if c, derr := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", secondPort)); derr == nil {
			c.Close()
			listened = true
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	if err == nil {
		t.Fatalf("the instance with another secret key exited 0:\n%s", stderr.String())
	}
	if took > 5*time.Second {
		t.Errorf("the refusal took %v", took)
	}
	if listened {
		t.Error("the instance with another secret key listened on its port")
	}
	msg := stderr.String()
	for _, want := range []string{"store.redis", "different secret key", "secret_key_file"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr does not name %q:\n%s", want, msg)
		}
	}
	t.Logf("refused after %v: %s", took.Round(time.Millisecond), strings.TrimSpace(msg))

	// A copy of the first instance's key is the same key.
	key, err := os.ReadFile(filepath.Join(firstDir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	thirdDir, thirdPort := t.TempDir(), freePort(t)
	if err := os.WriteFile(filepath.Join(thirdDir, "secret.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	third := serveBinary(t, bin, keyguardConfig(t, bin, thirdDir, thirdPort, addr, prefix), thirdPort)
	if log := third.Log(); strings.Contains(log, "secret key") {
		t.Errorf("the instance with the same key warned about it:\n%s", log)
	}

	// Another prefix on the same Redis is another deployment, with its own key.
	otherPort := freePort(t)
	serveBinary(t, bin, keyguardConfig(t, bin, t.TempDir(), otherPort, addr, "other:"), otherPort)

	if err := first.Stop(15 * time.Second); err != nil {
		t.Fatalf("first instance: %v\n%s", err, first.Log())
	}
}

// Redis away at start is no reason to refuse: the instance starts with a
// warning that the key could not be compared (the store fails closed until
// Redis answers).
func TestServeStartsWithWarningWhenRedisAway(t *testing.T) {
	bin := buildBinary(t)
	port := freePort(t)
	away := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := serveBinary(t, bin, keyguardConfig(t, bin, t.TempDir(), port, away, "keyguard:"), port)
	// The port is bound before the warning reaches the server log.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(srv.Log(), "store_unavailable_at_start") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if log := srv.Log(); !strings.Contains(log, "could not be reached") || !strings.Contains(log, "without comparing the secret key") {
		t.Errorf("no warning that the key was not compared:\n%s", log)
	}
}
