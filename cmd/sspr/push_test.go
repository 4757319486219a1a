package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	fakeduo "github.com/sspr-project/sspr/internal/fakes/duo"
	fakentfy "github.com/sspr-project/sspr/internal/fakes/ntfy"
	"github.com/sspr-project/sspr/metrics"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/push"
	"github.com/sspr-project/sspr/web"
)

const (
	testNtfyToken = "tk_7eevizlsiwf9yi4uxsrs83r4352o0"
	testDuoIKey   = "DIWJ8X6AEYOR5OMC6TQ1"
	testDuoSKey   = "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep"
)

const pushHTTP = "http:\n  listen: 127.0.0.1:0\n  public_url: https://reset.example.com\n"

func TestPushConfigRefusals(t *testing.T) {
	ntfy := pushHTTP + "methods:\n  push: ntfy\ndelivery:\n  ntfy:\n"
	duo := "methods:\n  push: duo\ndelivery:\n  duo:\n"
	const duoOK = "    host: api-1234abcd.duosecurity.com\n    ikey: " + testDuoIKey + "\n"
	cases := []struct{ body, want string }{
		{pushHTTP + "methods:\n  push: ntfy\n", "delivery.ntfy: is missing"},
		{"methods:\n  push: duo\n", "delivery.duo: is missing"},
		{ntfy + "    token: " + testNtfyToken + "\n", "delivery.ntfy.server"},
		{ntfy + "    server: ftp://ntfy.example.com\n", "delivery.ntfy.server"},
		{ntfy + "    server: https://ntfy.example.com/?a=1\n", "delivery.ntfy.server"},
		{ntfy + "    server: https://ntfy.example.com\n    token: " + testNtfyToken + "\n    token_env: X\n", "delivery.ntfy.token"},
		{ntfy + "    server: https://ntfy.example.com\n    token: " + testNtfyToken[3:] + "\n", "delivery.ntfy.token"},
		{ntfy + "    server: https://ntfy.example.com\n    key_file: /k\n    key_env: K\n", "delivery.ntfy.key_file"},
		{ntfy + "    server: https://ntfy.example.com\n    topic_prefix: a/b\n", "delivery.ntfy.topic_prefix"},
		{ntfy + "    server: https://ntfy.example.com\n    priority: 6\n", "delivery.ntfy.priority"},
		{ntfy + "    server: https://ntfy.example.com\n    timeout: 2m\n", "delivery.ntfy.timeout"},
		{ntfy + "    server: https://ntfy.example.com\n    title: \"a\\x1b[2Jb\"\n", "delivery.ntfy.title"},
		{ntfy + "    server: https://ntfy.example.com\n    topic: x\n", "topic"},
		{duo + "    host: https://api-1234abcd.duosecurity.com\n    ikey: " + testDuoIKey + "\n    skey: " + testDuoSKey + "\n", "delivery.duo.host"},
		{duo + "    host: api-1234abcd.duosecurity.com\n    ikey: nope\n    skey: " + testDuoSKey + "\n", "delivery.duo.ikey"},
		{duo + duoOK, "delivery.duo.skey"},
		{duo + duoOK + "    skey: " + testDuoSKey + "\n    skey_env: X\n", "delivery.duo.skey"},
		{duo + duoOK + "    skey: short\n", "delivery.duo.skey"},
		{duo + duoOK + "    skey: " + testDuoSKey + "\n    timeout: 0.5s\n", "delivery.duo.timeout"},
	}
	for _, c := range cases {
		_, err := loadConfig(writeConfig(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.body, err, c.want)
			continue
		}
		for _, secret := range []string{testNtfyToken, testDuoSKey} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error carries a secret: %v", err)
			}
		}
	}
	t.Setenv("SSPR_NTFY_TOKEN", testNtfyToken)
	skeyFile := filepath.Join(t.TempDir(), "duo.skey")
	if err := os.WriteFile(skeyFile, []byte(testDuoSKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		ntfy + "    server: https://ntfy.example.com\n    token_env: SSPR_NTFY_TOKEN\n    topic_prefix: reset-\n    priority: 5\n    timeout: 3s\n",
		duo + duoOK + "    skey_file: " + skeyFile + "\n    type: Reset\n    timeout: 10s\n",
		// Configured but not named by methods.push: checked all the same.
		"delivery:\n  duo:\n" + duoOK + "    skey: " + testDuoSKey + "\n",
	} {
		if _, err := loadConfig(writeConfig(t, body)); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
}

// testWiring is a deliveryWiring as buildDelivery starts one.
func testWiring() *deliveryWiring {
	return &deliveryWiring{metrics: metrics.New(metrics.Options{}), approver: &lateApprover{}, log: newLateLog()}
}

func ntfyTestConfig(t *testing.T, server, tokenLine string) *Config {
	t.Helper()
	dir := t.TempDir()
	tok := filepath.Join(dir, "ntfy.token")
	if err := os.WriteFile(tok, []byte(testNtfyToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tokenLine == "" {
		tokenLine = "token_file: " + tok
	}
	cfg, err := loadConfig(writeConfig(t, "data_dir: "+dir+"\n"+pushHTTP+"methods:\n  push: ntfy\ndelivery:\n  ntfy:\n    server: "+server+"\n    "+tokenLine+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newNtfyPush reads the token from its file and the key from
// secret_key_file, registers a check that proves the token, and a webhook
// the side listener accepts.
func TestNewNtfyPushWiring(t *testing.T) {
	fake := fakentfy.New(map[string]string{testNtfyToken: "sspr"})
	defer fake.Close()
	cfg := ntfyTestConfig(t, fake.URL, "")
	w := testWiring()
	s, err := newNtfyPush(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.checks) != 1 || len(w.mounts) != 1 || w.mounts[0].pattern != "POST /hooks/ntfy/{token}" {
		t.Fatalf("checks %v, mounts %v", w.checks, w.mounts)
	}
	if err := w.checks[0].check(context.Background()); err != nil {
		t.Fatalf("%s: %v", w.checks[0].name, err)
	}
	srv, err := web.New(web.Config{Settings: web.Settings{PublicURL: cfg.HTTP.PublicURL}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Mount(w.mounts[0].pattern, w.mounts[0].handler(w.approver)); err != nil {
		t.Fatalf("the side listener refuses the webhook: %v", err)
	}
	// The topic is the one `sspr users ntfy-topic` prints for the login.
	key, err := ntfyKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.Repeat("c3", 16)
	err = s.Deliver(context.Background(), flow.Delivery{Method: flow.PushApp, To: "alice", Token: token,
		Choices: []string{"11", "22", "33"}, Shown: "22", Text: "Tap", Expires: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	m := fake.Messages()
	if len(m) != 1 || m[0].Topic != push.NtfyTopic(key, "", "alice") || !strings.HasPrefix(m[0].Actions[0].URL, "https://reset.example.com/hooks/ntfy/"+token) {
		t.Fatalf("published %+v", m)
	}

	// A wrong token fails the check, which names ntfy's code, not the token.
	bad := ntfyTestConfig(t, fake.URL, "token: tk_notthetokenntfyknowsatall00")
	w = testWiring()
	if _, err := newNtfyPush(bad, w); err != nil {
		t.Fatal(err)
	}
	err = w.checks[0].check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "40101") || strings.Contains(err.Error(), "tk_not") {
		t.Fatalf("check with a wrong token: %v", err)
	}
}

func TestNtfyKeySources(t *testing.T) {
	cfg := ntfyTestConfig(t, "https://ntfy.example.com", "")
	def, err := ntfyKey(cfg)
	if err != nil || len(def) < 32 {
		t.Fatalf("default key: %d bytes, %v", len(def), err)
	}
	sk, _ := secretKey(cfg.SecretKeyFile)
	if string(def) != string(sk) {
		t.Fatal("the default key is not secret_key_file")
	}
	short := filepath.Join(t.TempDir(), "short")
	_ = os.WriteFile(short, []byte("too short\n"), 0o600)
	cfg.Delivery.Ntfy.KeyFile = short
	if _, err := ntfyKey(cfg); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("short key: %v", err)
	}
	cfg.Delivery.Ntfy.KeyFile = ""
	cfg.Delivery.Ntfy.KeyEnv = "SSPR_TEST_NTFY_KEY"
	if _, err := ntfyKey(cfg); err == nil || !strings.Contains(err.Error(), "not set") {
		t.Fatalf("unset key variable: %v", err)
	}
	t.Setenv("SSPR_TEST_NTFY_KEY", strings.Repeat("k", 40))
	if k, err := ntfyKey(cfg); err != nil || string(k) != strings.Repeat("k", 40) {
		t.Fatalf("key from the environment: %v", err)
	}
}

// The Duo keys come from where the config says; the check signs with
// them, and a wrong secret key is refused by Duo (the fake verifies the
// signature itself).
func TestDuoPushConfigCheck(t *testing.T) {
	fake := fakeduo.New(testDuoIKey, testDuoSKey)
	defer fake.Close()
	skeyFile := filepath.Join(t.TempDir(), "duo.skey")
	for _, c := range []struct {
		skey string
		ok   bool
	}{{testDuoSKey, true}, {strings.Repeat("Q", 40), false}} {
		if err := os.WriteFile(skeyFile, []byte(c.skey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(writeConfig(t, "data_dir: "+t.TempDir()+"\nmethods:\n  push: duo\ndelivery:\n  duo:\n    host: "+fake.Host+
			"\n    ikey: "+testDuoIKey+"\n    skey_file: "+skeyFile+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		pc, err := duoPushConfig(cfg, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		pc.HTTPClient = fake.Client // production trusts only Duo's pinned CAs
		d, err := push.NewDuo(pc)
		if err != nil {
			t.Fatal(err)
		}
		err = d.Check(context.Background())
		d.Close()
		switch {
		case c.ok && err != nil:
			t.Fatalf("check: %v", err)
		case !c.ok && (err == nil || !strings.Contains(err.Error(), "40103") || strings.Contains(err.Error(), c.skey)):
			t.Fatalf("check with a wrong skey: %v", err)
		}

		// newDuoPush registers the check and closes the poller with the delivery.
		w := testWiring()
		if _, err := newDuoPush(cfg, w); err != nil {
			t.Fatal(err)
		}
		if len(w.checks) != 1 || !strings.Contains(w.checks[0].name, fake.Host) || len(w.closers) != 1 {
			t.Fatalf("checks %v closers %v", w.checks, w.closers)
		}
		w.Close()
	}
}

// usersNtfyTopic prints the topic the pushes for a login go to.
func TestUsersNtfyTopic(t *testing.T) {
	cfg := ntfyTestConfig(t, "https://ntfy.example.com", "")
	d, err := openOrCreate(cfg.Directory.Embedded.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddUser(embedded.UserRecord{Login: "dana", Email: "dana@example.com"}, "Long-Enough-Pass1"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := usersNtfyTopic(cfg, []string{"dana"}, &out); err != nil {
		t.Fatal(err)
	}
	key, err := ntfyKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(out.String()), push.NtfyTopic(key, "", "dana"); got != want {
		t.Fatalf("printed %q, want %q", got, want)
	}
	if err := usersNtfyTopic(cfg, []string{"nobody"}, &out); err == nil {
		t.Fatal("an unknown login has a topic")
	}
}
