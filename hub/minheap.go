package hub

// pushHeap adds x to the binary min-heap h ordered by less; popHeap removes
// and returns its least element (h must not be empty). Unlike container/heap
// they pass no interface values: a push or a pop allocates nothing, where
// container/heap boxed every release of the sequencer (two allocations and
// ~350 bytes per stored message under a flood).
func pushHeap[S ~[]T, T any](h *S, x T, less func(a, b T) bool) {
	*h = append(*h, x)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !less(s[i], s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func popHeap[S ~[]T, T any](h *S, less func(a, b T) bool) T {
	s := *h
	n := len(s) - 1
	x := s[0]
	s[0] = s[n]
	var zero T
	s[n] = zero // the heap's array keeps nothing it no longer holds
	s = s[:n]
	for i := 0; ; {
		m := 2*i + 1
		if m >= n {
			break
		}
		if r := m + 1; r < n && less(s[r], s[m]) {
			m = r
		}
		if !less(s[m], s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return x
}
