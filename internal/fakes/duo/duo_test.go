package duo_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	"github.com/duosecurity/duo_api_golang/authapi"

	"github.com/sspr-project/sspr/internal/fakes/duo"
)

const (
	ikey = "DIWJ8X6AEYOR5OMC6TQ1"
	skey = "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep"
)

func client(f *duo.Server, ikey, skey string) *authapi.AuthApi {
	api := duoapi.NewDuoApi(ikey, skey, f.Host, "test")
	api.SetCustomHTTPClient(f.Client)
	return authapi.NewAuthApi(*api)
}

// Duo's own client signs; the fake's independent verifier agrees with it,
// parameters that need escaping included.
func TestDuoClientSignaturesAccepted(t *testing.T) {
	f := duo.New(ikey, skey)
	defer f.Close()
	odd := "First Last+x@example.com~ü/&="
	f.AddUser(odd, duo.Phone("DP1"))
	api := client(f, ikey, skey)
	if res, err := api.Check(); err != nil || res.Stat != "OK" {
		t.Fatalf("check: %+v %v", res, err)
	}
	pre, err := api.Preauth(authapi.PreauthUsername(odd))
	if err != nil || pre.Stat != "OK" || pre.Response.Result != "auth" {
		t.Fatalf("preauth: %+v %v", pre, err)
	}
	res, err := api.Auth("push", authapi.AuthUsername(odd), authapi.AuthDevice("auto"), authapi.AuthAsync(),
		authapi.AuthPushinfo(url.Values{"Number on your screen": {"42"}}.Encode()))
	if err != nil || res.Stat != "OK" || res.Response.Txid == "" {
		t.Fatalf("auth: %+v %v", res, err)
	}
	if p := f.Pushes(); len(p) != 1 || p[0].Pushinfo.Get("Number on your screen") != "42" {
		t.Fatalf("pushes %+v", p)
	}
	st, err := api.AuthStatus(res.Response.Txid)
	if err != nil || st.Response.Result != "waiting" || st.Response.Status != "pushed" {
		t.Fatalf("status: %+v %v", st, err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = f.Answer(res.Response.Txid, "allow")
	}()
	start := time.Now()
	st, err = api.AuthStatus(res.Response.Txid) // long-polls until the answer
	if err != nil || st.Response.Result != "allow" || time.Since(start) < 80*time.Millisecond {
		t.Fatalf("status after approve: %+v %v after %v", st, err, time.Since(start))
	}
}

func failure(t *testing.T, resp *http.Response) (int, int, string) {
	t.Helper()
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var f struct {
		Stat    string
		Code    int
		Message string
	}
	if err := json.Unmarshal(raw, &f); err != nil || f.Stat != "FAIL" {
		t.Fatalf("not a Duo failure: %s", raw)
	}
	return resp.StatusCode, f.Code, f.Message
}

// A wrong secret key, a parameter changed after signing, a wrong
// integration key and no credentials are each refused as Duo does.
func TestDuoBadCredentialsRefused(t *testing.T) {
	f := duo.New(ikey, skey)
	defer f.Close()
	f.AddUser("alice", duo.Phone("DP1"))

	if res, err := client(f, ikey, strings.Repeat("x", 40)).Check(); err != nil || res.Stat != "FAIL" || *res.Code != 40103 ||
		*res.Message != "Invalid signature in request credentials" {
		t.Fatalf("wrong skey: %+v %v", res, err)
	}
	if res, err := client(f, "DIXXXXXXXXXXXXXXXXXX", skey).Check(); err != nil || res.Stat != "FAIL" || *res.Code != 40102 {
		t.Fatalf("wrong ikey: %+v %v", res, err)
	}

	send := func(params url.Values, signed url.Values, auth bool) *http.Response {
		date := time.Now().UTC().Format(time.RFC1123Z)
		req, _ := http.NewRequest(http.MethodPost, "https://"+f.Host+"/auth/v2/preauth", strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Date", date)
		if auth {
			sig := duo.Signature(skey, date, "POST", f.Host, "/auth/v2/preauth", signed)
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(ikey+":"+sig)))
		}
		resp, err := f.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	ok := url.Values{"username": {"alice"}}
	if resp := send(ok, ok, true); resp.StatusCode != 200 {
		status, code, msg := failure(t, resp)
		t.Fatalf("a correctly signed request: %d %d %s", status, code, msg)
	} else {
		resp.Body.Close()
	}
	if status, code, msg := failure(t, send(url.Values{"username": {"mallory"}}, ok, true)); status != 401 || code != 40103 ||
		msg != "Invalid signature in request credentials" {
		t.Fatalf("tampered parameter: %d %d %s", status, code, msg)
	}
	if status, code, _ := failure(t, send(ok, ok, false)); status != 401 || code != 40101 {
		t.Fatalf("no credentials: %d %d", status, code)
	}
	if n := len(f.Requests()); n != 1 {
		t.Fatalf("%d requests accepted, want the one signed right", n)
	}
}
