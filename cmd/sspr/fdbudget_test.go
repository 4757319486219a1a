package main

import "testing"

func TestFitSideConns(t *testing.T) {
	for _, tc := range []struct {
		want, sessions int
		limit          uint64
		got            int
		lowered        bool
	}{
		{256, 500, 1 << 20, 256, false},
		{256, 500, 1024, 256, false},
		{1000, 500, 1024, 396, true}, // 1024 - 500 for SSH - 128 reserve
		{256, 500, 600, 8, true},     // nothing left: a few, SSH first
		{256, 500, 0, 256, false},    // limit unknown
	} {
		got, lowered := fitSideConns(tc.want, tc.sessions, tc.limit)
		if got != tc.got || lowered != tc.lowered {
			t.Errorf("fitSideConns(%d, %d, %d) = %d, %v; want %d, %v", tc.want, tc.sessions, tc.limit, got, lowered, tc.got, tc.lowered)
		}
	}
}
