package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/internal/debugstats"
)

func TestDebugListenIsLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", "[::]:6060", "192.0.2.1:6060", "localhost:6060", ":6060", "6060"} {
		_, err := loadConfig(writeConfig(t, "debug:\n  listen: \""+addr+"\"\n"))
		if err == nil || !strings.Contains(err.Error(), "debug.listen") {
			t.Errorf("%s: error %v, want one naming debug.listen", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060"} {
		if _, err := loadConfig(writeConfig(t, "debug:\n  listen: \""+addr+"\"\n")); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	c, err := loadConfig("")
	if err != nil || c.Debug.Listen != "" {
		t.Fatalf("the default config listens for debugging: %q, %v", c.Debug.Listen, err)
	}
}

func TestDebugEndpoint(t *testing.T) {
	// Find a free loopback port, then serve on it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	stop, err := startDebug(DebugConfig{Listen: addr}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	resp, err := http.Get("http://" + addr + "/debug/stats?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	var st debugstats.Stats
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.Goroutines < 2 || st.HeapInuse == 0 || st.NumGC == 0 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	resp, err = http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("goroutine profile: %d %.80q", resp.StatusCode, body)
	}
	resp, err = http.Post("http://"+addr+"/debug/stats", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	if _, err := startDebug(DebugConfig{Listen: "0.0.0.0:0"}, slog.Default()); err == nil {
		t.Fatal("startDebug bound a non-loopback address")
	}
	stop()
	if _, err := http.Get("http://" + addr + "/debug/stats"); err == nil {
		t.Fatal("still serving after stop")
	}
}
