package flow_test

import (
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"alice", 256, "alice"},
		{"  alice  ", 256, "  alice  "},
		{"al\nice\r\t", 256, "alice"},
		{"\x1b[31mred\x1b[0m", 256, "[31mred[0m"},
		{"\x1b]0;title\x07x", 256, "]0;titlex"},
		{"a\u009bb\u0085c\x7fd", 256, "abcd"},
		{"a\xffb\xc3", 256, "ab"},
		{"a\u202eb\u2066c\u200fd\u061ce", 256, "abcde"},
		{"line\u2028sep\u2029", 256, "linesep"},
		{"émile 日本 ✓", 256, "émile 日本 ✓"},
		{"\ufffd", 256, "\ufffd"},
		{"abcdef", 3, "abc"},
		{"日本語テキスト", 2, "日本"},
		{"\x00\x00abc", 2, "ab"},
		{"abc", 0, ""},
		{"abc", -1, ""},
	}
	for _, tc := range tests {
		if got := flow.Sanitize(tc.in, tc.max); got != tc.want {
			t.Errorf("Sanitize(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
	// Cut at entry: a huge input costs no more than max.
	if got := flow.Sanitize(strings.Repeat("x", 1<<20), 16); got != strings.Repeat("x", 16) {
		t.Fatalf("got %d bytes", len(got))
	}
}
