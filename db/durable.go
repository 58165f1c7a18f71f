package db

import "context"

// durableKey marks a context whose writes must be on disk before they
// return (Durable).
type durableKey struct{}

// Durable returns ctx marking the writes made with it (Insert, Update,
// Modify, Delete and the others that take a context) as durable: their
// commit is fsynced before it returns, whatever the Options.Sync policy.
// If that fsync fails the commit is undone whole, as under SyncAlways: the
// writer gets the error, and neither memory nor the file keeps the change
// (the store then stops writing, see ErrFailed). This is what a separate
// Write then Sync cannot give: after a failed Sync the change stays visible
// and in the file although its writer was told it failed.
func Durable(ctx context.Context) context.Context {
	return context.WithValue(ctx, durableKey{}, true)
}

// isDurable reports whether ctx came from Durable.
func isDurable(ctx context.Context) bool {
	v, _ := ctx.Value(durableKey{}).(bool)
	return v
}
