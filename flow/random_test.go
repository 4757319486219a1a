package flow_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

// Codes come from crypto/rand; no file of the package may import math/rand.
func TestNoMathRand(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatal("no sources", err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "math/rand" || path == "math/rand/v2" {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}

// TestCodeDigitsUniform is a chi-square test of every digit position of
// 20 000 eight-digit codes. The bound 45 (9 degrees of freedom) is passed by
// chance with probability about 1 - 1e-6 per position.
func TestCodeDigitsUniform(t *testing.T) {
	if testing.Short() {
		t.Skip("statistical")
	}
	const n, length = 20000, 8
	var counts [length][10]int
	for i := 0; i < n; i++ {
		c := flow.RandomDigits(length)
		if len(c) != length {
			t.Fatalf("code %q", c)
		}
		for p := 0; p < length; p++ {
			d := c[p] - '0'
			if d > 9 {
				t.Fatalf("code %q", c)
			}
			counts[p][d]++
		}
	}
	expect := float64(n) / 10
	for p := 0; p < length; p++ {
		chi := 0.0
		for _, c := range counts[p] {
			d := float64(c) - expect
			chi += d * d / expect
		}
		if chi > 45 {
			t.Errorf("position %d: chi-square %.1f, counts %v", p, chi, counts[p])
		}
	}
}
