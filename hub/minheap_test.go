package hub

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMinHeap pushes and pops in random interleavings and checks every pop
// against a sorted model.
func TestMinHeap(t *testing.T) {
	less := func(a, b int) bool { return a < b }
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		var h []int
		var model []int
		for step := 0; step < 300; step++ {
			if len(h) > 0 && r.IntN(3) == 0 {
				got := popHeap(&h, less)
				slices.Sort(model)
				if got != model[0] {
					t.Fatalf("round %d step %d: popped %d, want %d", round, step, got, model[0])
				}
				model = model[1:]
				continue
			}
			x := r.IntN(50) // duplicates too
			pushHeap(&h, x, less)
			model = append(model, x)
		}
		slices.Sort(model)
		for _, want := range model {
			if got := popHeap(&h, less); got != want {
				t.Fatalf("round %d drain: popped %d, want %d", round, got, want)
			}
		}
		if len(h) != 0 {
			t.Fatalf("round %d: %d left", round, len(h))
		}
	}
}
