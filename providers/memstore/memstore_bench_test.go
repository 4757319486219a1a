package memstore

import (
	"testing"

	"github.com/sspr-project/sspr/providers/storetest"
)

func BenchmarkStore(b *testing.B) { storetest.Bench(b, New()) }
