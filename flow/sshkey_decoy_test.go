package flow_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

// The decoy rule of the SSH-key method. The choice appears only where
// the account named lists the key the client proved it holds; so for a
// prober's key, every real account but the key's own shows the list it
// shows without a key, and a login without an account must too: a decoy
// that offered the key now and then would be the only list with it for a
// fresh key, which is enumeration. So unknown logins get the choice
// exactly as often as real accounts get it for that key, which is never
// but for the account that lists it, and that one only its key's holder
// can see. This test holds the lists to that.
func TestSSHKeyDecoyRule(t *testing.T) {
	users, real := fixtureUsers(200)
	// A third of the accounts list keys, of their own.
	lines := map[string]string{}
	wires := map[string][]byte{}
	for i, a := range real {
		if i%3 != 0 {
			continue
		}
		w, l := sshKey(t)
		lines[a.login], wires[a.login] = l, w
		users = strings.Replace(users, "  - login: "+a.login+"\n", fmt.Sprintf("  - login: %s\n    ssh_keys: [%q]\n", a.login, l), 1)
	}
	r := newDirRig(t, users, withSSHKey)
	list := func(login string, key []byte) string {
		s := mustBegin(t, r.eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022", SSHKey: key})
		mustOK(t, s.Identify(bg, login, ""))
		return listOf(s.Methods()) + " " + shapeOf(login, s.Methods())
	}
	stranger, _ := sshKey(t)
	holder := real[0].login // lists a key
	logins := []string{"gone1", "empty2", "nobody"}
	for i := range 200 {
		logins = append(logins, fmt.Sprintf("%c%s%04d", 'a'+(i*11)%26, "ghost", i))
	}
	for _, a := range real {
		logins = append(logins, a.login)
	}
	for _, login := range logins {
		without := list(login, nil)
		for name, key := range map[string][]byte{"a stranger's key": stranger, holder + "'s key": wires[holder]} {
			got := list(login, key)
			if login == holder && key != nil && name != "a stranger's key" {
				ids, shapes, _ := strings.Cut(without, " ")
				if want := "ssh_key+" + ids + " -+" + shapes; got != want {
					t.Errorf("%s with the key it lists: %q, want %q", login, got, want)
				}
				continue
			}
			if got != without {
				t.Errorf("%s with %s shows %q, and %q without a key", login, name, got, without)
			}
		}
	}
}
