package web_test

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/metrics"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/web"
)

// file is how sspr.yaml holds the block.
type file struct {
	HTTP web.Settings `yaml:"http"`
}

func TestSettingsLoad(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "metrics.token")
	if err := os.WriteFile(tok, []byte("s3cret-metrics\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := file{HTTP: web.Default()}
	if err := config.Load([]byte("http:\n  listen: 127.0.0.1:8080\n  public_url: https://reset.example.com\n  metrics_token_file: "+tok+"\n"), &f); err != nil {
		t.Fatal(err)
	}
	h := f.HTTP
	if h.Listen != "127.0.0.1:8080" || h.PublicURL != "https://reset.example.com" || h.MetricsToken.Value() != "s3cret-metrics" {
		t.Fatalf("got %+v", h)
	}
	// The defaults: no side listener, no token.
	f = file{HTTP: web.Default()}
	if err := config.Load([]byte("http: {}\n"), &f); err != nil || f.HTTP.Listen != "" || f.HTTP.MetricsToken.IsSet() {
		t.Fatalf("defaults: %+v, %v", f.HTTP, err)
	}
}

func TestSettingsErrorsCarryTheirPaths(t *testing.T) {
	f := file{HTTP: web.Default()}
	err := config.Load([]byte(`http:
  listen: localhost
  public_url: https://reset.example.com/?x=1
  metrics_tokn: abc
  metrics_token: abc
  metrics_token_env: SSPR_TEST_METRICS
`), &f)
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("want config.Errors, got %v", err)
	}
	want := []string{
		`line 2: http.listen: "localhost" is not allowed (host:port, e.g. :8080 or 127.0.0.1:8080)`,
		`line 3: http.public_url: "https://reset.example.com/?x=1" is not allowed (an http:// or https:// URL with no query, e.g. https://reset.example.com)`,
		"line 4: http.metrics_tokn: unknown key (did you mean metrics_token?)",
		"line 6: http.metrics_token: given more than once: use one of metrics_token, metrics_token_file, metrics_token_env",
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

// A token New cannot read never leaves /metrics open.
func TestUnreadableMetricsTokenRefused(t *testing.T) {
	cfg := web.Config{Metrics: metrics.New(metrics.Options{}).Handler(), Store: memstore.New()}
	cfg.MetricsToken = config.Secret{Env: "SSPR_TEST_UNSET_METRICS_TOKEN"}
	if _, err := web.New(cfg); err == nil || !strings.Contains(err.Error(), "metrics_token") {
		t.Fatalf("New with an unreadable token: %v", err)
	}
	t.Setenv("SSPR_TEST_METRICS_TOKEN", "from-env")
	cfg.MetricsToken = config.Secret{Env: "SSPR_TEST_METRICS_TOKEN"}
	s, err := web.New(cfg)
	if err != nil {
		t.Fatalf("New with a token in the environment: %v", err)
	}
	for auth, code := range map[string]int{"": 401, "Bearer from-env": 200} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/metrics", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		s.Handler().ServeHTTP(w, r)
		if w.Code != code {
			t.Errorf("GET /metrics with %q: %d, want %d", auth, w.Code, code)
		}
	}
}
