package demo

import (
	"strings"
	"testing"

	"github.com/sspr-project/sspr/config"
)

type configRoot struct {
	Demo Config `yaml:"demo"`
}

func TestConfigLoad(t *testing.T) {
	r := configRoot{Demo: Default()}
	if err := config.Load([]byte("demo:\n  outbox: /tmp/outbox.log\n"), &r); err != nil {
		t.Fatal(err)
	}
	if want := (Config{Outbox: "/tmp/outbox.log"}); r.Demo != want {
		t.Fatalf("got %+v, want %+v", r.Demo, want)
	}
}

func TestConfigLoadReportsEveryWrongKey(t *testing.T) {
	r := configRoot{Demo: Default()}
	err := config.Load([]byte("demo:\n  outbx: a.log\n  inbox: b.log\n"), &r)
	want := []string{
		"line 2: demo.outbx: unknown key (did you mean outbox?)",
		"line 3: demo.inbox: unknown key",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("got\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

func TestConfigReference(t *testing.T) {
	r := configRoot{Demo: Default()}
	md := config.Markdown(config.Reference(&r))
	if want := "| `demo.outbox` | `<data_dir>/outbox.log` | the demo delivery's outbox: one line per text, call, push or email |"; !strings.Contains(md, want) {
		t.Errorf("reference lacks %q:\n%s", want, md)
	}
}
