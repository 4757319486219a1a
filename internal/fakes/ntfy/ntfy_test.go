package ntfy_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/internal/fakes/ntfy"
)

func post(t *testing.T, url, token, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(raw))
}

// The fake answers as ntfy documents: its JSON errors, its defaults.
func TestFakeFollowsTheAPI(t *testing.T) {
	f := ntfy.New(map[string]string{"tk_good": "sspr"})
	defer f.Close()
	cases := []struct {
		name, token, body string
		status            int
		want              string
	}{
		{"bad token", "tk_bad", `{"topic":"t1","message":"x"}`, 401, `{"code":40101,"http":401,"error":"unauthorized","link":"https://ntfy.sh/docs/publish/#authentication"}`},
		{"anonymous", "", `{"topic":"t1","message":"x"}`, 403, `"code":40301`},
		{"not json", "tk_good", `topic=t1`, 400, `"code":40017`},
		{"bad topic", "tk_good", `{"topic":"a/b","message":"x"}`, 400, `"code":40009`},
		{"priority", "tk_good", `{"topic":"t1","priority":7}`, 400, `"code":40007`},
		{"4 actions", "tk_good", `{"topic":"t1","actions":[{"action":"view","label":"a","url":"http://x"},{"action":"view","label":"a","url":"http://x"},{"action":"view","label":"a","url":"http://x"},{"action":"view","label":"a","url":"http://x"}]}`, 400, `only 3 actions allowed`},
		{"http without url", "tk_good", `{"topic":"t1","actions":[{"action":"http","label":"a"}]}`, 400, `"code":40018`},
		{"ok", "tk_good", `{"topic":"t1","message":"hi","actions":[{"action":"http","label":"a","url":"http://x"}]}`, 200, `"method":"POST"`},
	}
	for _, c := range cases {
		status, body := post(t, f.URL+"/", c.token, c.body, nil)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d with %s", c.name, status, body, c.status, c.want)
		}
	}
	status, body := post(t, f.URL+"/t2", "tk_good", "by header", map[string]string{"X-Title": "T", "Priority": "5", "Tags": "a,b"})
	if status != 200 || !strings.Contains(body, `"title":"T"`) || !strings.Contains(body, `"priority":5`) {
		t.Errorf("publish with headers: %d %s", status, body)
	}
	ms := f.Messages()
	if len(ms) != 2 || ms[0].Topic != "t1" || ms[1].Message != "by header" || ms[0].Actions[0].ID == "" {
		t.Fatalf("messages %+v", ms)
	}
}

// Tap sends the action's method, headers and body to its URL.
func TestTapDoesWhatTheAppDoes(t *testing.T) {
	f := ntfy.New(map[string]string{"tk_good": "sspr"})
	defer f.Close()
	got := make(chan *http.Request, 1)
	var gotBody string
	hook := newHook(t, func(r *http.Request, body string) { gotBody = body; got <- r })
	status, _ := post(t, f.URL+"/", "tk_good", `{"topic":"t1","actions":[{"action":"http","label":"42","url":"`+hook+`/cb","method":"put","headers":{"X-A":"b"},"body":"payload"}]}`, nil)
	if status != 200 {
		t.Fatal(status)
	}
	st, _, err := f.Tap(context.Background(), f.Messages()[0], "42")
	if err != nil || st != 200 {
		t.Fatalf("tap: %d %v", st, err)
	}
	r := <-got
	if r.Method != "PUT" || r.URL.Path != "/cb" || r.Header.Get("X-A") != "b" || gotBody != "payload" || r.Header.Get("Authorization") != "" {
		t.Fatalf("request %s %s %v %q", r.Method, r.URL, r.Header, gotBody)
	}
}
