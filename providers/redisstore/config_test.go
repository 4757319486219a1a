package redisstore

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/config"
)

type root struct {
	Redis Config `yaml:"redis"`
}

// An all-default block is "no Redis", and valid.
func TestConfigDefaultIsNoRedis(t *testing.T) {
	r := root{Redis: Default()}
	if err := config.Load([]byte("{}\n"), &r); err != nil {
		t.Fatalf("no redis block: %v", err)
	}
	if err := config.Load([]byte("redis: {}\n"), &r); err != nil {
		t.Fatalf("an empty redis block: %v", err)
	}
	if len(r.Redis.Addrs) != 0 || r.Redis.Prefix != DefaultPrefix {
		t.Fatalf("got %+v", r.Redis)
	}
}

func TestConfigLoad(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("not read by Load"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSPR_TEST_REDIS_PASSWORD", "s3cret")
	r := root{Redis: Default()}
	err := config.Load([]byte(`redis:
  addrs: [sentinel1:26379, sentinel2:26379]
  master_name: sspr
  username: sspr
  password_env: SSPR_TEST_REDIS_PASSWORD
  db: 3
  tls: true
  ca_file: `+ca+`
  timeout: 0
`), &r)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Redis.Password.Value(); got != "s3cret" {
		t.Fatalf("password %q", got)
	}
	got := r.Redis
	got.Password = config.Secret{}
	want := Config{Addrs: []string{"sentinel1:26379", "sentinel2:26379"}, MasterName: "sspr", Username: "sspr",
		DB: 3, Prefix: DefaultPrefix, TLS: true, CAFile: ca}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded\n%+v\nwant\n%+v", got, want)
	}
}

func TestConfigLoadReportsEveryWrongKey(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ca.pem")
	r := root{Redis: Default()}
	err := config.Load([]byte(`redis:
  addrs: [a:6379, redis.example.com]
  db: 2
  ca_file: `+missing+`
  timeout: 2m
  passwrd: x
`), &r)
	want := []string{
		`line 2: redis.addrs[1]: "redis.example.com" is not allowed (host:port, e.g. redis.example.com:6379)`,
		"line 3: redis.db: 2 is not allowed: a Cluster (several addrs without master_name) has only db 0",
		`line 4: redis.ca_file: "` + missing + `" is given without tls: true`,
		`line 4: redis.ca_file: "` + missing + `" is not a readable file (no such file or directory)`,
		"line 5: redis.timeout: 2m is not allowed (0s to 1m)",
		"line 6: redis.passwrd: unknown key (did you mean password?)",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("got\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}

	r = root{Redis: Default()}
	err = config.Load([]byte("redis:\n  username: sspr\n  tls: true\n  db: 16\n"), &r)
	want = []string{
		"line 1: redis.addrs: is empty, yet username, db, tls are set (give at least one host:port)",
		"line 4: redis.db: 16 is not allowed (0 to 15)",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("got\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

func TestConfigReference(t *testing.T) {
	r := root{Redis: Default()}
	md := config.Markdown(config.Reference(&r))
	for _, want := range []string{
		"| `redis.addrs` | none: limits live in this process |",
		"| `redis.password`, `password_file`, `password_env` | none |",
		"| `redis.db` | `0` | database number (a Cluster has only 0) (0 to 15) |",
		"| `redis.prefix` | `sspr:` |",
		"| `redis.timeout` | `0s` |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("reference lacks %q:\n%s", want, md)
		}
	}
}
