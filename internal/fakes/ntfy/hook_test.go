package ntfy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// newHook serves one callback URL and reports each request to got.
func newHook(t *testing.T, got func(r *http.Request, body string)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got(r, string(b))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
