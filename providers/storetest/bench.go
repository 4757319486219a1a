package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// Bench times the store's operations one at a time, as a session makes
// them: the sliding-window limits (Take, Add), the replay cache (UseOnce)
// and a pending approval created, answered and collected.
func Bench(b *testing.B, s flow.Store) {
	ctx := context.Background()
	b.Run("Take", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			// 1,000 keys of 5 events an hour: most calls are refused,
			// as for a window that is full.
			if _, _, err := s.Take(ctx, "take:"+strconv.Itoa(i%1000), 5, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Add", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := s.Add(ctx, "add:"+strconv.Itoa(i%1000), time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UseOnce", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if ok, err := s.UseOnce(ctx, "once:"+strconv.Itoa(i), time.Minute); err != nil || !ok {
				b.Fatalf("UseOnce: %v %v", ok, err)
			}
		}
	})
	b.Run("Approval", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			token := "tok" + strconv.Itoa(i)
			if err := s.CreateApproval(ctx, token, time.Minute); err != nil {
				b.Fatal(err)
			}
			if err := s.ResolveApproval(ctx, token, "42"); err != nil {
				b.Fatal(err)
			}
			if got, err := s.AwaitApproval(ctx, token); err != nil || got != "42" {
				b.Fatalf("AwaitApproval: %q %v", got, err)
			}
		}
	})
}
