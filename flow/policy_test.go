package flow_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

func unmetIDs(rules []flow.Rule) []string {
	var out []string
	for _, r := range rules {
		if !r.Met {
			out = append(out, r.ID)
		}
	}
	return out
}

func TestCheckPassword(t *testing.T) {
	p := flow.DefaultConfig().Password
	tests := []struct {
		name, login, pw string
		confirm         *string
		unmet           []string
	}{
		{"good", "alice", goodPass, nil, nil},
		{"13 characters", "alice", "Abcdefghijk12", nil, []string{flow.RuleMinLength}},
		{"14 characters", "alice", "Abcdefghijk123", nil, nil},
		{"256 characters", "alice", strings.Repeat("Ab1", 85) + "x", nil, nil},
		{"257 characters", "alice", strings.Repeat("Ab1", 85) + "xy", nil, []string{flow.RuleMaxLength}},
		{"no upper case", "alice", "correct-horse-battery-9", nil, []string{flow.RuleUpper}},
		{"no lower case", "alice", "CORRECT-HORSE-BATTERY-9", nil, []string{flow.RuleLower}},
		{"no digit", "alice", "Correct-Horse-Battery-X", nil, []string{flow.RuleDigit}},
		{"contains the login", "alice", "My-ALICE-password-1", nil, []string{flow.RuleNoLogin}},
		{"contains the mail local part", "alice.smith@example.com", "Alice.Smith2025!!", nil, []string{flow.RuleNoLogin}},
		{"a short login is not looked for", "al", "Always-Aligned-12", nil, nil},
		{"confirmation differs", "alice", goodPass, ptr(goodPass + " "), []string{flow.RuleConfirm}},
		{"empty", "alice", "", nil, []string{flow.RuleMinLength, flow.RuleUpper, flow.RuleLower, flow.RuleDigit, flow.RuleNoLogin, flow.RuleConfirm}},
		{"code points, not bytes", "alice", "Äöüß-Éèñ-Øå-12", nil, nil},
		{"spaces and unicode", "alice", "Pässwörd mit Leerzeichen 2025", nil, nil},
		{"escape sequence", "alice", "Correct-Horse\x1b[2J-9", nil, []string{flow.RulePrintable}},
		{"NUL", "alice", "Correct-Horse\x00-Battery-9", nil, []string{flow.RulePrintable}},
		{"line break", "alice", "Correct-Horse\n-Battery-9", nil, []string{flow.RulePrintable}},
		{"invalid UTF-8", "alice", "Correct-Horse-\xff-Battery-9", nil, []string{flow.RulePrintable}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			confirm := tc.pw
			if tc.confirm != nil {
				confirm = *tc.confirm
			}
			rules := flow.CheckPassword(p, tc.login, tc.pw, confirm)
			if got := unmetIDs(rules); !slices.Equal(got, tc.unmet) {
				t.Fatalf("unmet %v, want %v", got, tc.unmet)
			}
			for _, r := range rules {
				if r.Text == "" || strings.Contains(r.Text, tc.pw) && tc.pw != "" {
					t.Errorf("rule %+v", r)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

// The rules a person sees before typing: the hints list, all unmet.
func TestRuleList(t *testing.T) {
	rules := flow.CheckPassword(flow.DefaultConfig().Password, "alice", "", "")
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	want := []string{flow.RuleMinLength, flow.RuleUpper, flow.RuleLower, flow.RuleDigit, flow.RuleMaxLength, flow.RuleNoLogin, flow.RuleConfirm}
	if !slices.Equal(ids, want) {
		t.Fatalf("rules %v, want %v", ids, want)
	}
	if !strings.Contains(rules[0].Text, "14") {
		t.Errorf("min length text %q", rules[0].Text)
	}
}

// The composition switches can be turned off.
func TestPolicyWithoutComposition(t *testing.T) {
	p := flow.PasswordPolicy{MinLength: 15, MaxLength: 64}
	if got := unmetIDs(flow.CheckPassword(p, "alice", "correct horse battery", "correct horse battery")); got != nil {
		t.Fatalf("unmet %v", got)
	}
}

// A session checks the login the directory knows, however it was typed.
func TestCheckUsesDirectoryLogin(t *testing.T) {
	r := newRig(t)
	s := r.begin()
	mustOK(t, s.Identify(bg, " ALICE ", ""))
	if got := unmetIDs(s.Check("xx-Alice-xx-12345", "xx-Alice-xx-12345")); !slices.Equal(got, []string{flow.RuleNoLogin}) {
		t.Fatalf("unmet %v", got)
	}
}
