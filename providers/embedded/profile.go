package embedded

import (
	"context"
	"strings"

	"github.com/sspr-project/sspr/flow"
)

var _ flow.MethodProfiler = (*Dir)(nil)

// MethodProfile implements flow.MethodProfiler: how many enabled accounts
// have registered what, by the domain of their email, so that decoys look
// like this file's accounts. Only counts leave the file.
func (d *Dir) MethodProfile(ctx context.Context) ([]flow.ProfileEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	users, err := d.load()
	if err != nil {
		return nil, err
	}
	type kindKey struct{ has, domain string }
	count := map[kindKey]int{}
	var order []kindKey
	has := map[kindKey][]flow.Registration{}
	for _, r := range users {
		if r.Disabled {
			continue
		}
		var regs []flow.Registration
		var names []string
		for _, x := range []struct {
			reg flow.Registration
			set bool
		}{{flow.RegMobile, r.Mobile != ""}, {flow.RegOffice, r.Office != ""}, {flow.RegApp, r.secret != ""}, {flow.RegEmail, r.Email != ""}} {
			if x.set {
				regs = append(regs, x.reg)
				names = append(names, string(x.reg))
			}
		}
		if len(regs) == 0 {
			continue // nothing to reset with: a stranger sees a decoy
		}
		k := kindKey{has: strings.Join(names, "+")}
		if at := strings.LastIndexByte(r.Email, '@'); at >= 0 {
			k.domain = strings.ToLower(r.Email[at+1:])
		}
		if count[k] == 0 {
			order = append(order, k)
			has[k] = regs
		}
		count[k]++
	}
	out := make([]flow.ProfileEntry, 0, len(order))
	for _, k := range order {
		out = append(out, flow.ProfileEntry{Has: has[k], EmailDomain: k.domain, Count: count[k]})
	}
	return out, nil
}
