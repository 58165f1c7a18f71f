package notifytest

import (
	"testing"
	"time"
)

// Recv returns the next value from ch, failing t when none comes within
// within; what names the awaited value in the failure.
func Recv[T any](t testing.TB, ch <-chan T, within time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("no %s within %v", what, within)
	}
	var zero T
	return zero
}
