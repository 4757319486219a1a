package i18n

import "testing"

// BenchmarkT is the cost of the lookups a frame makes.
func BenchmarkT(b *testing.B) {
	p := For("de")
	for b.Loop() {
		_ = p.T("tui.identify.title")
		_ = p.T("tui.support_code", "Ref", "abcd1234")
		_ = p.N("flow.rule.min_length", 14)
	}
}
