package embedded

import "testing"

// Hashing a new password at the cost the directory uses (DefaultParams:
// 64 MiB, three passes, two lanes), once per completed reset.
func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash("Maple-Lantern-4821", DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}

// Verifying a password against a hash made at DefaultParams.
func BenchmarkVerify(b *testing.B) {
	b.ReportAllocs()
	h, err := Hash("Maple-Lantern-4821", DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := Verify(h, "Maple-Lantern-4821"); err != nil || !ok {
			b.Fatalf("Verify: %v %v", ok, err)
		}
	}
}
