package push

import (
	"context"
	"errors"
	"slices"
)

// ErrInvalid matches the errors of Subscribe for a subscription it refuses
// (malformed JSON, an endpoint that is not https, bad keys): the caller's
// fault, answered 400.
var ErrInvalid = errors.New("invalid push subscription")

type invalidError struct{ err error }

func (e invalidError) Error() string        { return e.err.Error() }
func (e invalidError) Unwrap() error        { return e.err }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(err error) error { return invalidError{err} }

// trim removes admin's oldest subscriptions beyond MaxPerAdmin, so that one
// admin cannot make every notification fan out to any number of endpoints.
func (s *Sender) trim(ctx context.Context, admin string) {
	subs, err := s.store.Subscriptions(admin)
	if err != nil || len(subs) <= s.cfg.MaxPerAdmin {
		return
	}
	slices.SortFunc(subs, func(a, b Subscription) int { return a.Created.Compare(b.Created) })
	for _, sub := range subs[:len(subs)-s.cfg.MaxPerAdmin] {
		if err := s.store.RemoveSubscription(ctx, sub.ID); err != nil {
			s.lg.Error().Err(err).Str("subscription", sub.ID).Msg("remove an admin's oldest push subscription")
			continue
		}
		s.lg.Info().Str("admin", admin).Str("subscription", sub.ID).Msg("push subscription replaced by a newer one (per-admin limit)")
	}
}
