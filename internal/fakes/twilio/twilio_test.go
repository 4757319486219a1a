package twilio_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	faketwilio "github.com/sspr-project/sspr/internal/fakes/twilio"
)

type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func call(t *testing.T, f *faketwilio.Server, method, path, user, pass string, form url.Values) (int, []byte) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// The fake answers as Twilio documents: 401 with code 20003 for bad
// credentials, 201 with the resource for a good request, 400 with the
// documented code for a bad one, and what FailNext asks for.
func TestFakeFollowsTheAPI(t *testing.T) {
	f := faketwilio.New(faketwilio.NewAccountSID(), faketwilio.NewAuthToken())
	defer f.Close()
	msgs := "/2010-04-01/Accounts/" + f.AccountSID + "/Messages.json"
	good := url.Values{"To": {"+12125550102"}, "From": {"+12125550100"}, "Body": {"hi"}}

	for _, creds := range [][2]string{{"", ""}, {f.AccountSID, "wrong"}, {faketwilio.NewAccountSID(), f.AuthToken}} {
		status, body := call(t, f, "POST", msgs, creds[0], creds[1], good)
		var e apiError
		if status != 401 || json.Unmarshal(body, &e) != nil || e.Code != 20003 || e.Status != 401 || e.MoreInfo == "" {
			t.Errorf("credentials %q: %d %s", creds[0], status, body)
		}
	}
	status, body := call(t, f, "POST", msgs, f.AccountSID, f.AuthToken, good)
	var m struct{ SID, Status, To string }
	if status != 201 || json.Unmarshal(body, &m) != nil || !strings.HasPrefix(m.SID, "SM") || m.Status != "queued" {
		t.Fatalf("a good text: %d %s", status, body)
	}
	if got := f.Messages(); len(got) != 1 || got[0].Body != "hi" {
		t.Fatalf("recorded %+v", got)
	}
	for _, tc := range []struct {
		form url.Values
		code int
	}{
		{url.Values{"To": {"12125550102"}, "From": {"+12125550100"}, "Body": {"hi"}}, 21211},
		{url.Values{"To": {"+12125550102"}, "Body": {"hi"}}, 21603},
		{url.Values{"To": {"+12125550102"}, "From": {"+12125550100"}}, 21602},
	} {
		status, body := call(t, f, "POST", msgs, f.AccountSID, f.AuthToken, tc.form)
		var e apiError
		if status != 400 || json.Unmarshal(body, &e) != nil || e.Code != tc.code {
			t.Errorf("%v: %d %s, want 400 with %d", tc.form, status, body, tc.code)
		}
	}
	calls := "/2010-04-01/Accounts/" + f.AccountSID + "/Calls.json"
	if status, body := call(t, f, "POST", calls, f.AccountSID, f.AuthToken, url.Values{"To": {"+12125550102"}, "From": {"+12125550100"}}); status != 400 || !strings.Contains(string(body), "21205") {
		t.Errorf("a call without Url or Twiml: %d %s", status, body)
	}
	f.FailNext(500, 1)
	if status, body := call(t, f, "POST", msgs, f.AccountSID, f.AuthToken, good); status != 500 || !strings.Contains(string(body), "20500") {
		t.Errorf("FailNext: %d %s", status, body)
	}
	if status, _ := call(t, f, "GET", "/2010-04-01/Accounts/"+f.AccountSID+".json", f.AccountSID, f.AuthToken, nil); status != 200 {
		t.Errorf("account fetch: %d", status)
	}
	if status, _ := call(t, f, "GET", "/2010-04-01/Accounts/"+f.AccountSID+"/Nothing.json", f.AccountSID, f.AuthToken, nil); status != 404 {
		t.Errorf("an unknown resource: %d", status)
	}
	if n := len(f.Messages()); n != 1 {
		t.Errorf("%d texts recorded, want only the good one", n)
	}
}
